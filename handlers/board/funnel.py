"""The funnel: customers and amount per stage, 90-day stage-to-stage conversion, median days."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from config.rules import Rules
from handlers.board.scope import Scope
from storage.models import Customer, Followup, StageChange
from storage.upsert import dialect_name

CONVERSION_WINDOW = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class StageRow:
    stage: str
    customers: int
    amount_yuan: Decimal  # each customer's most recently mentioned amount, summed
    entered_90d: int  # customers that entered this stage in the last 90 days
    advanced_90d: int  # of those, how many moved on to a later stage (not 丢单)
    median_days: float | None  # median days spent here by customers that left it in 90 days

    @property
    def conversion(self) -> float | None:
        return self.advanced_90d / self.entered_90d if self.entered_90d else None


@dataclass(frozen=True, slots=True)
class FunnelHistory:
    """The slow-moving part of the funnel (90 days of moves, every amount ever named)."""

    amounts: dict[str, Decimal]
    entered: dict[str, int]
    advanced: dict[str, int]
    medians: dict[str, float]


async def funnel_history(
    db: AsyncSession, scope: Scope, rules: Rules, *, now: datetime
) -> FunnelHistory:
    since = now - CONVERSION_WINDOW
    entered, advanced = await _conversion(db, scope, rules, since=since)
    return FunnelHistory(
        amounts=await _stage_amounts(db, scope),
        entered=entered,
        advanced=advanced,
        medians=await _median_days(db, scope, since=since),
    )


async def funnel(
    db: AsyncSession,
    scope: Scope,
    rules: Rules,
    *,
    now: datetime,
    history: FunnelHistory | None = None,
    counts: dict[str, int] | None = None,
) -> list[StageRow]:
    """Customers per stage now, with the history's figures (each computed here when not given:
    the 作战室 has the counts from its lights query already)."""
    if counts is None:
        counts = await _stage_counts(db, scope)
    if history is None:
        history = await funnel_history(db, scope, rules, now=now)
    return [
        StageRow(
            stage=name,
            customers=counts.get(name, 0),
            amount_yuan=history.amounts.get(name, Decimal(0)),
            entered_90d=history.entered.get(name, 0),
            advanced_90d=history.advanced.get(name, 0),
            median_days=history.medians.get(name),
        )
        for name in rules.stage_names
    ]


async def _stage_counts(db: AsyncSession, scope: Scope) -> dict[str, int]:
    stmt = select(Customer.stage, func.count()).where(scope.customers()).group_by(Customer.stage)
    return {stage: int(n) for stage, n in (await db.execute(stmt)).all()}


async def _stage_amounts(db: AsyncSession, scope: Scope) -> dict[str, Decimal]:
    """Each customer's most recently mentioned amount (a partial index keeps this a scan of the
    follow-ups that name one), summed per stage."""
    if dialect_name(db) == "postgresql":
        latest = (
            distinct_on_customer(select(Followup.customer_id, Followup.amount_yuan))
            .where(Followup.amount_yuan.is_not(None))
            .order_by(Followup.customer_id.desc(), Followup.created_at.desc())
            .subquery()
        )
        on = latest.c.customer_id == Customer.id
    else:
        latest = (
            select(
                Followup.customer_id,
                Followup.amount_yuan,
                func.row_number()
                .over(partition_by=Followup.customer_id, order_by=Followup.created_at.desc())
                .label("n"),
            )
            .where(Followup.amount_yuan.is_not(None))
            .subquery()
        )
        on = and_(latest.c.customer_id == Customer.id, latest.c.n == 1)
    stmt = (
        select(Customer.stage, func.sum(latest.c.amount_yuan))
        .join(latest, on)
        .where(scope.customers())
        .group_by(Customer.stage)
    )
    return {stage: Decimal(str(total)) for stage, total in (await db.execute(stmt)).all()}


def distinct_on_customer(stmt: Any) -> Any:
    """DISTINCT ON (customer_id): SQLAlchemy 2.1 spells it as an extension, 2.0 as distinct()."""
    try:
        from sqlalchemy.dialects.postgresql import distinct_on
    except ImportError:  # SQLAlchemy 2.0
        return stmt.distinct(Followup.customer_id)
    return stmt.ext(distinct_on(Followup.customer_id))


async def _conversion(
    db: AsyncSession, scope: Scope, rules: Rules, *, since: datetime
) -> tuple[dict[str, int], dict[str, int]]:
    """Of the customers that entered a stage in the window, how many moved on (not to 丢单)."""
    entry, onward = aliased(StageChange), aliased(StageChange)
    order = {name: i for i, name in enumerate(rules.stage_names)}
    forward = case(order, value=onward.to_stage, else_=-1) > case(
        order, value=entry.to_stage, else_=99
    )
    stmt = (
        select(
            entry.to_stage,
            func.count(distinct(entry.customer_id)),
            func.count(distinct(case((forward, entry.customer_id)))),
        )
        .outerjoin(
            onward,
            and_(
                onward.customer_id == entry.customer_id,
                onward.from_stage == entry.to_stage,
                onward.at >= entry.at,
                onward.to_stage != rules.lost_stage,
            ),
        )
        .where(entry.at >= since)
        .group_by(entry.to_stage)
    )
    if not scope.sees_everything:
        stmt = stmt.join(Customer, Customer.id == entry.customer_id).where(scope.customers())
    rows = (await db.execute(stmt)).all()
    return {s: int(n) for s, n, _ in rows}, {s: int(a) for s, _, a in rows}


async def _median_days(db: AsyncSession, scope: Scope, *, since: datetime) -> dict[str, float]:
    """Days between entering a stage and leaving it, for the moves out of it in the window."""
    moved = select(StageChange.customer_id).where(
        StageChange.at >= since, StageChange.from_stage.is_not(None)
    )
    if not scope.sees_everything:
        moved = moved.join(Customer, Customer.id == StageChange.customer_id).where(
            scope.customers()
        )
    history = (
        select(
            StageChange.from_stage,
            StageChange.at,
            func.lag(StageChange.at)
            .over(partition_by=StageChange.customer_id, order_by=(StageChange.at, StageChange.id))
            .label("entered_at"),
        )
        .where(StageChange.customer_id.in_(moved))
        .subquery()
    )
    in_window = and_(history.c.at >= since, history.c.from_stage.is_not(None))
    if dialect_name(db) == "postgresql":
        days = func.extract("epoch", history.c.at - history.c.entered_at) / 86400.0
        stmt = (
            select(
                history.c.from_stage,
                func.percentile_cont(0.5).within_group(days),
            )
            .where(in_window, history.c.entered_at.is_not(None))
            .group_by(history.c.from_stage)
        )
        return {
            stage: round(float(median), 1)
            for stage, median in (await db.execute(stmt)).all()
            if median is not None
        }
    spans: dict[str, list[float]] = {}
    stmt = select(history.c.from_stage, history.c.at, history.c.entered_at).where(in_window)
    for row in (await db.execute(stmt)).all():
        stage: str | None = row[0]
        if row[2] is None or stage is None:
            continue
        left, entered = _aware(row[1]), _aware(row[2])
        spans.setdefault(stage, []).append((left - entered).total_seconds() / 86400)
    return {stage: round(statistics.median(days), 1) for stage, days in spans.items()}


def _aware(value: datetime | str) -> datetime:
    # A window function's value comes back raw on SQLite: naive UTC text.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
