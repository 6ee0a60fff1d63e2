"""Untouched leads: a new lead with no follow-up within the touch window warns its owner."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.alerting import alerts
from handlers.alerting.findings import Finding, Level, Rule, Subject
from handlers.context import Context
from handlers.timefmt import format_local
from storage.models import Alert, Customer, Followup


async def find_untouched_leads(db: AsyncSession, ctx: Context, *, now: datetime) -> list[Finding]:
    hours = ctx.rules.lead_touch_hours
    touched = exists().where(
        Followup.customer_id == Customer.id, Followup.created_at >= Customer.stage_entered_at
    )
    told = exists().where(
        Alert.subject_type == Subject.CUSTOMER,
        Alert.subject_id == Customer.id,
        Alert.rule == Rule.LEAD_UNTOUCHED,
        Alert.period_at == Customer.stage_entered_at,
    )
    stmt = (
        select(Customer.id, Customer.name, Customer.owner_id, Customer.stage_entered_at)
        .where(
            Customer.stage == ctx.rules.first_stage,
            Customer.stage_entered_at <= now - timedelta(hours=hours),
            ~touched,
            ~told,
        )
        .order_by(Customer.id)
    )
    findings = []
    for row in (await db.execute(stmt)).all():
        waited_h = int((now - row.stage_entered_at).total_seconds() // 3600)
        findings.append(
            Finding(
                rule=Rule.LEAD_UNTOUCHED,
                subject_type=Subject.CUSTOMER,
                subject_id=row.id,
                period=row.stage_entered_at,
                customer_id=row.id,
                customer_name=row.name,
                owner_id=row.owner_id,
                due={Level.YELLOW: row.stage_entered_at + timedelta(hours=hours)},
                title=f"新线索「{row.name}」",
                clock=(
                    f"{format_local(row.stage_entered_at, ctx.tz)} 建的，已经 {waited_h} 小时"
                    f"没有跟进（要求 {hours} 小时内首次跟进）"
                ),
                remedy=f"跟进 {row.name} …",
            )
        )
    return findings


async def resolve_touched_leads(db: AsyncSession, ctx: Context, *, now: datetime) -> list[int]:
    """A follow-up logged, or the lead moved on: the warning resolves itself."""
    touched = exists().where(
        Followup.customer_id == Customer.id, Followup.created_at >= Customer.stage_entered_at
    )
    gone = exists().where(
        Customer.id == Alert.subject_id,
        or_(Customer.stage != ctx.rules.first_stage, touched),
    )
    condition = and_(
        Alert.rule == Rule.LEAD_UNTOUCHED, Alert.subject_type == Subject.CUSTOMER, gone
    )
    return await alerts.resolve_where(db, condition, now=now)
