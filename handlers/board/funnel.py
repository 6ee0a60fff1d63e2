"""The funnel: customers and amount per stage, 90-day stage-to-stage conversion, median days."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from config.rules import Rules
from handlers.board.scope import Scope
from storage.models import Customer, Followup, StageChange

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


async def funnel(db: AsyncSession, scope: Scope, rules: Rules, *, now: datetime) -> list[StageRow]:
    counts = await _stage_counts(db, scope)
    amounts = await _stage_amounts(db, scope)
    since = now - CONVERSION_WINDOW
    entered, advanced = await _conversion(db, scope, rules, since=since)
    medians = await _median_days(db, scope, since=since)
    return [
        StageRow(
            stage=name,
            customers=counts.get(name, 0),
            amount_yuan=amounts.get(name, Decimal(0)),
            entered_90d=entered.get(name, 0),
            advanced_90d=advanced.get(name, 0),
            median_days=medians.get(name),
        )
        for name in rules.stage_names
    ]


async def _stage_counts(db: AsyncSession, scope: Scope) -> dict[str, int]:
    stmt = select(Customer.stage, func.count()).where(scope.customers()).group_by(Customer.stage)
    return {stage: int(n) for stage, n in (await db.execute(stmt)).all()}


async def _stage_amounts(db: AsyncSession, scope: Scope) -> dict[str, Decimal]:
    ranked = (
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
    stmt = (
        select(Customer.stage, func.sum(ranked.c.amount_yuan))
        .join(ranked, and_(ranked.c.customer_id == Customer.id, ranked.c.n == 1))
        .where(scope.customers())
        .group_by(Customer.stage)
    )
    return {stage: Decimal(str(total)) for stage, total in (await db.execute(stmt)).all()}


async def _conversion(
    db: AsyncSession, scope: Scope, rules: Rules, *, since: datetime
) -> tuple[dict[str, int], dict[str, int]]:
    entry, onward = aliased(StageChange), aliased(StageChange)
    order = {name: i for i, name in enumerate(rules.stage_names)}
    stmt = (
        select(entry.to_stage, entry.customer_id, onward.to_stage)
        .join(Customer, Customer.id == entry.customer_id)
        .outerjoin(
            onward,
            and_(
                onward.customer_id == entry.customer_id,
                onward.from_stage == entry.to_stage,
                onward.at >= entry.at,
                onward.to_stage != rules.lost_stage,
            ),
        )
        .where(entry.at >= since, scope.customers())
    )
    entered: dict[str, set[int]] = {}
    advanced: dict[str, set[int]] = {}
    for stage, customer_id, moved_to in (await db.execute(stmt)).all():
        entered.setdefault(stage, set()).add(customer_id)
        if moved_to is not None and order.get(moved_to, -1) > order.get(stage, 99):
            advanced.setdefault(stage, set()).add(customer_id)
    return (
        {s: len(ids) for s, ids in entered.items()},
        {s: len(ids) for s, ids in advanced.items()},
    )


async def _median_days(db: AsyncSession, scope: Scope, *, since: datetime) -> dict[str, float]:
    """Days between entering a stage and leaving it, for the moves out of it in the window."""
    entry, leave = aliased(StageChange), aliased(StageChange)
    latest_entry = (
        select(func.max(entry.at))
        .where(
            entry.customer_id == leave.customer_id,
            entry.to_stage == leave.from_stage,
            entry.at <= leave.at,
        )
        .scalar_subquery()
    )
    stmt = (
        select(leave.from_stage, leave.at, latest_entry)
        .join(Customer, Customer.id == leave.customer_id)
        .where(leave.at >= since, leave.from_stage.is_not(None), scope.customers())
    )
    spans: dict[str, list[float]] = {}
    for stage, left_at, entered_at in (await db.execute(stmt)).all():
        if entered_at is None or stage is None:
            continue
        if isinstance(entered_at, str):  # SQLite hands back a scalar subquery's text as is
            entered_at = datetime.fromisoformat(entered_at).replace(tzinfo=left_at.tzinfo)
        if entered_at.tzinfo is None:
            entered_at = entered_at.replace(tzinfo=left_at.tzinfo)
        spans.setdefault(stage, []).append((left_at - entered_at).total_seconds() / 86400)
    return {stage: round(statistics.median(days), 1) for stage, days in spans.items()}
