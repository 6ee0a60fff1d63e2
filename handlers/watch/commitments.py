"""Commitments coming due (a heads-up to the owner) and overdue (owner and manager group)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, case, exists, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.alerting import alerts
from handlers.alerting.findings import Finding, Level, Rule, Subject
from handlers.alerting.messages import format_span
from handlers.context import Context
from handlers.timefmt import format_local
from storage.models import Alert, Commitment, CommitmentStatus, Customer


async def find_commitments_due(db: AsyncSession, ctx: Context, *, now: datetime) -> list[Finding]:
    warn = timedelta(hours=ctx.rules.commitment_warn_hours)
    level = case(
        (Commitment.due_at <= now, literal(Level.OVERDUE.value)),
        else_=literal(Level.NOTICE.value),
    )
    told = exists().where(
        Alert.subject_type == Subject.COMMITMENT,
        Alert.subject_id == Commitment.id,
        Alert.rule == Rule.COMMITMENT_DUE,
        Alert.level == level,
        Alert.period_at == Commitment.due_at,
    )
    stmt = (
        select(Commitment, Customer.name)
        .join(Customer, Customer.id == Commitment.customer_id)
        .where(Commitment.status == CommitmentStatus.OPEN, Commitment.due_at <= now + warn, ~told)
        .order_by(Commitment.due_at, Commitment.id)
    )
    findings = []
    for commitment, name in (await db.execute(stmt)).all():
        due_at = commitment.due_at
        if due_at <= now:
            due, clock = (
                {Level.OVERDUE: due_at},
                (
                    f"，{format_local(due_at, ctx.tz)} 到期，已经过了 "
                    f"{format_span((now - due_at).total_seconds())}"
                ),
            )
        else:
            due, clock = (
                {Level.NOTICE: due_at - warn},
                (
                    f"，{format_local(due_at, ctx.tz)} 到期，还剩 "
                    f"{format_span((due_at - now).total_seconds())}"
                ),
            )
        findings.append(
            Finding(
                rule=Rule.COMMITMENT_DUE,
                subject_type=Subject.COMMITMENT,
                subject_id=commitment.id,
                period=due_at,
                customer_id=commitment.customer_id,
                customer_name=name,
                owner_id=commitment.owner_id,
                due=due,
                title=f"{name}：承诺「{commitment.what}」",
                clock=clock,
                evidence=f"依据：{commitment.evidence}" if commitment.evidence else "",
                remedy=f"兑现 {commitment.code}",
            )
        )
    return findings


async def resolve_closed_commitments(db: AsyncSession, ctx: Context, *, now: datetime) -> list[int]:
    """Kept or cancelled (or moved to another due time): the warning resolves itself."""
    gone = exists().where(
        Commitment.id == Alert.subject_id,
        or_(Commitment.status != CommitmentStatus.OPEN, Commitment.due_at != Alert.period_at),
    )
    condition = and_(
        Alert.rule == Rule.COMMITMENT_DUE, Alert.subject_type == Subject.COMMITMENT, gone
    )
    return await alerts.resolve_where(db, condition, now=now)
