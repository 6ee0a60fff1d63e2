"""承诺登记表: every commitment in scope with code, customer, item, due, evidence and state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.board.scope import Scope
from storage.models import Commitment, CommitmentStatus, Customer, User

PAGE_SIZE = 100


class CommitmentFilter(StrEnum):
    ALL = "all"
    OPEN = "open"
    OVERDUE = "overdue"
    KEPT = "kept"
    CANCELLED = "cancelled"


STATE_LABELS = {"open": "未兑现", "kept": "已兑现", "cancelled": "已取消", "overdue": "已逾期"}


@dataclass(frozen=True, slots=True)
class CommitmentRow:
    code: str
    customer_id: int
    customer: str
    owner: str
    what: str
    due_at: datetime
    evidence: str
    state: str  # open | overdue | kept | cancelled
    kept_at: datetime | None

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)


def parse_filter(value: str | None) -> CommitmentFilter:
    try:
        return CommitmentFilter(value) if value else CommitmentFilter.ALL
    except ValueError:
        return CommitmentFilter.ALL


async def commitments(
    db: AsyncSession,
    scope: Scope,
    *,
    state: CommitmentFilter,
    now: datetime,
    page: int = 1,
    page_size: int | None = PAGE_SIZE,
) -> tuple[int, list[CommitmentRow]]:
    """The total matching and one page of them (page_size None: all, for CSV)."""
    where: list[ColumnElement[bool]] = [scope.customers()]
    if state == CommitmentFilter.OPEN:
        where.append(Commitment.status == CommitmentStatus.OPEN)
    elif state == CommitmentFilter.OVERDUE:
        where += [Commitment.status == CommitmentStatus.OPEN, Commitment.due_at < now]
    elif state in (CommitmentFilter.KEPT, CommitmentFilter.CANCELLED):
        where.append(Commitment.status == state.value)
    count_stmt = (
        select(func.count())
        .select_from(Commitment)
        .join(Customer, Customer.id == Commitment.customer_id)
        .where(*where)
    )
    total = int((await db.execute(count_stmt)).scalar_one())
    stmt = (
        select(Commitment, Customer.name, User.name)
        .join(Customer, Customer.id == Commitment.customer_id)
        .outerjoin(User, User.id == Commitment.owner_id)
        .where(*where)
        .order_by(Commitment.due_at.desc(), Commitment.id.desc())
    )
    if page_size is not None:
        stmt = stmt.limit(page_size).offset(max(0, page - 1) * page_size)
    rows = []
    for c, customer, owner in (await db.execute(stmt)).all():
        shown = c.status
        if c.status == CommitmentStatus.OPEN and c.due_at < now:
            shown = "overdue"
        rows.append(
            CommitmentRow(
                c.code,
                c.customer_id,
                customer,
                owner or "",
                c.what,
                c.due_at,
                c.evidence or "",
                shown,
                c.kept_at,
            )
        )
    return total, rows
