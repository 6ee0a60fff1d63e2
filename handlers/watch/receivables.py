"""Money in the watch: a receivable step silent for 48 h (rep and manager), a payment overdue."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from handlers.alerting import alerts
from handlers.alerting.findings import Finding, Level, Rule, Subject
from handlers.context import Context
from handlers.money.steps import NEXT_STEP, STEP_NAMES
from handlers.timefmt import format_local
from storage.models import Alert, Customer, Receivable, ReceivableStep


def _current() -> object:
    """The earliest unpaid part of each contract: the one whose steps are being walked."""
    earlier = aliased(Receivable)
    return ~exists().where(
        earlier.contract_id == Receivable.contract_id,
        earlier.step != ReceivableStep.PAID,
        earlier.seq < Receivable.seq,
    )


def _told(rule: Rule, level: Level, period: object) -> object:
    return exists().where(
        Alert.subject_type == Subject.RECEIVABLE,
        Alert.subject_id == Receivable.id,
        Alert.rule == rule,
        Alert.level == level,
        Alert.period_at == period,
    )


async def find_silent_receivables(
    db: AsyncSession, ctx: Context, *, now: datetime
) -> list[Finding]:
    """The current part's step untouched for silent_step_hours: the rep and the manager's group."""
    hours = ctx.rules.silent_step_hours
    stmt = (
        select(Receivable, Customer.name)
        .join(Customer, Customer.id == Receivable.customer_id)
        .where(
            Receivable.step != ReceivableStep.PAID,
            Receivable.step_at <= now - timedelta(hours=hours),
            _current(),  # type: ignore[arg-type]
            ~_told(Rule.RECEIVABLE_SILENT, Level.RED, Receivable.step_at),  # type: ignore[operator]
        )
        .order_by(Receivable.id)
    )
    findings = []
    for receivable, name in (await db.execute(stmt)).all():
        step = ReceivableStep(receivable.step)
        due = receivable.step_at + timedelta(hours=hours)
        findings.append(
            Finding(
                rule=Rule.RECEIVABLE_SILENT,
                subject_type=Subject.RECEIVABLE,
                subject_id=receivable.id,
                period=receivable.step_at,
                customer_id=receivable.customer_id,
                customer_name=name,
                owner_id=receivable.owner_id,
                due={Level.YELLOW: due, Level.RED: due},
                title=f"{name} 第{receivable.seq}期（{receivable.label}）回款",
                clock=(
                    f"停在「{STEP_NAMES[step]}」已 {hours} 小时以上没有进展"
                    f"（{format_local(receivable.step_at, ctx.tz)} 起）"
                ),
                evidence=f"应收 {receivable.amount_yuan - receivable.paid_yuan:,.2f} 元",
                remedy=NEXT_STEP.get(step, "回款 {name} <金额>").format(name=name),
            )
        )
    return findings


async def find_overdue_receivables(
    db: AsyncSession, ctx: Context, *, now: datetime
) -> list[Finding]:
    """An expected payment past its day: the owner and the manager's group at once."""
    today = now.astimezone(ctx.tz).date()
    stmt = (
        select(Receivable, Customer.name)
        .join(Customer, Customer.id == Receivable.customer_id)
        .where(Receivable.step != ReceivableStep.PAID, Receivable.due_on < today)
        .order_by(Receivable.due_on, Receivable.id)
    )
    findings = []
    for receivable, name in (await db.execute(stmt)).all():
        # overdue from the first moment of the day after the due day, local time
        due_at = datetime.combine(
            receivable.due_on + timedelta(days=1), time(0), tzinfo=ctx.tz
        ).astimezone(UTC)
        late = (today - receivable.due_on).days
        findings.append(
            Finding(
                rule=Rule.RECEIVABLE_OVERDUE,
                subject_type=Subject.RECEIVABLE,
                subject_id=receivable.id,
                period=due_at,
                customer_id=receivable.customer_id,
                customer_name=name,
                owner_id=receivable.owner_id,
                due={Level.OVERDUE: due_at},
                title=f"{name} 第{receivable.seq}期（{receivable.label}）回款",
                clock=f"{receivable.due_on:%Y-%m-%d} 到期，已逾期 {late} 天",
                evidence=(
                    f"未回款 {receivable.amount_yuan - receivable.paid_yuan:,.2f} 元，"
                    f"当前：{STEP_NAMES[ReceivableStep(receivable.step)]}"
                ),
                remedy=f"回款 {name} <金额>",
            )
        )
    return findings


async def resolve_receivables(db: AsyncSession, ctx: Context, *, now: datetime) -> list[int]:
    """Paid, or the step moved on: the warning resolves itself."""
    moved = exists().where(
        Receivable.id == Alert.subject_id,
        or_(
            Receivable.step == ReceivableStep.PAID,
            and_(Alert.rule == Rule.RECEIVABLE_SILENT, Receivable.step_at != Alert.period_at),
        ),
    )
    condition = and_(
        Alert.subject_type == Subject.RECEIVABLE,
        Alert.rule.in_([Rule.RECEIVABLE_SILENT, Rule.RECEIVABLE_OVERDUE]),
        moved,
    )
    return await alerts.resolve_where(db, condition, now=now)
