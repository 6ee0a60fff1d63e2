"""实时战报: new leads, follow-ups, signings and payments per period, against the one before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.board.periods import PeriodWindows, Window, all_windows
from handlers.board.scope import Scope
from storage.models import Customer, CustomerEvent, EventKind, Followup


@dataclass(frozen=True, slots=True)
class Compare:
    current: Decimal
    previous: Decimal

    @property
    def change(self) -> Decimal:
        return self.current - self.previous


@dataclass(frozen=True, slots=True)
class PeriodReport:
    label: str
    previous_label: str
    new_leads: Compare
    followups: Compare
    signings: Compare
    signed_yuan: Compare
    payments: Compare
    paid_yuan: Compare


async def live_report(
    db: AsyncSession, scope: Scope, *, now: datetime, tz: ZoneInfo
) -> list[PeriodReport]:
    periods = all_windows(now=now, tz=tz)
    windows = [w for p in periods for w in (p.current, p.previous)]
    since = min(w.start for w in windows)
    leads = await _counts(
        db,
        Customer.created_at,
        windows,
        select_from=Customer,
        where=[scope.customers()],
        since=since,
    )
    followups_stmt_where: list[ColumnElement[bool]] = []
    join_customers = not scope.sees_everything
    if join_customers:
        followups_stmt_where.append(scope.customers())
    followups = await _counts(
        db,
        Followup.created_at,
        windows,
        select_from=Followup,
        where=followups_stmt_where,
        since=since,
        join=Customer if join_customers else None,
        on=Followup.customer_id == Customer.id,
    )
    money = await _events(db, scope, windows, since)
    reports: list[PeriodReport] = []
    for i, period in enumerate(periods):
        cur, prev = 2 * i, 2 * i + 1
        reports.append(
            PeriodReport(
                label=period.label,
                previous_label=period.previous_label,
                new_leads=Compare(leads[cur], leads[prev]),
                followups=Compare(followups[cur], followups[prev]),
                signings=Compare(money["signed_n"][cur], money["signed_n"][prev]),
                signed_yuan=Compare(money["signed_y"][cur], money["signed_y"][prev]),
                payments=Compare(money["paid_n"][cur], money["paid_n"][prev]),
                paid_yuan=Compare(money["paid_y"][cur], money["paid_y"][prev]),
            )
        )
    return reports


def _in(column: Any, window: Window) -> ColumnElement[bool]:
    return and_(column >= window.start, column < window.end)


async def _counts(
    db: AsyncSession,
    column: Any,
    windows: list[Window],
    *,
    select_from: Any,
    where: list[ColumnElement[bool]],
    since: datetime,
    join: Any = None,
    on: Any = None,
) -> list[Decimal]:
    """One scan of the rows since the oldest window: a count per window."""
    sums = [func.coalesce(func.sum(case((_in(column, w), 1), else_=0)), 0) for w in windows]
    stmt = select(*sums).select_from(select_from)
    if join is not None:
        stmt = stmt.join(join, on)
    stmt = stmt.where(column >= since, *where)
    row = (await db.execute(stmt)).one()
    return [Decimal(v) for v in row]


async def _events(
    db: AsyncSession, scope: Scope, windows: list[Window], since: datetime
) -> dict[str, list[Decimal]]:
    kinds = {"signed": EventKind.CONTRACT_SIGNED, "paid": EventKind.PAYMENT_RECEIVED}
    columns: list[Any] = []
    for kind in kinds.values():
        for w in windows:
            hit = _in(CustomerEvent.occurred_at, w) & (CustomerEvent.kind == kind)
            columns.append(func.coalesce(func.sum(case((hit, 1), else_=0)), 0))
            columns.append(
                func.coalesce(func.sum(case((hit, CustomerEvent.amount_yuan), else_=0)), 0)
            )
    stmt = (
        select(*columns)
        .select_from(CustomerEvent)
        .where(CustomerEvent.occurred_at >= since, CustomerEvent.kind.in_(list(kinds.values())))
    )
    if not scope.sees_everything:
        stmt = stmt.join(Customer, CustomerEvent.customer_id == Customer.id).where(
            scope.customers()
        )
    row = list((await db.execute(stmt)).one())
    out: dict[str, list[Decimal]] = {}
    for k_index, name in enumerate(kinds):
        block = row[k_index * 2 * len(windows) : (k_index + 1) * 2 * len(windows)]
        out[f"{name}_n"] = [Decimal(block[2 * i]) for i in range(len(windows))]
        out[f"{name}_y"] = [Decimal(str(block[2 * i + 1])) for i in range(len(windows))]
    return out


__all__ = ["Compare", "PeriodReport", "PeriodWindows", "live_report"]
