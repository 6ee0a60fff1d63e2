"""Overdue commitments and receivables on the 作战室: what was promised or owed and is late."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from handlers.board.scope import Scope
from storage.models import (
    Commitment,
    CommitmentStatus,
    Customer,
    CustomerEvent,
    EventKind,
    User,
)

SHOWN = 50


@dataclass(frozen=True, slots=True)
class OverdueCommitment:
    code: str
    customer_id: int
    customer: str
    owner: str
    what: str
    due_at: datetime
    days_late: int


@dataclass(frozen=True, slots=True)
class OverdueReceivable:
    customer_id: int
    customer: str
    owner: str
    signed_at: datetime
    due_on: datetime
    amount_yuan: Decimal | None
    days_late: int


async def overdue_commitments(
    db: AsyncSession, scope: Scope, *, now: datetime, limit: int = SHOWN
) -> tuple[int, list[OverdueCommitment]]:
    where = [Commitment.status == CommitmentStatus.OPEN, Commitment.due_at < now]
    count = select(func.count()).select_from(Commitment).where(*where)
    if not scope.sees_everything:
        count = count.join(Customer, Customer.id == Commitment.customer_id).where(scope.customers())
    total = int((await db.execute(count)).scalar_one())
    stmt = (
        select(Commitment.code, Customer.id, Customer.name, User.name, Commitment.what)
        .add_columns(Commitment.due_at)
        .join(Customer, Customer.id == Commitment.customer_id)
        .outerjoin(User, User.id == Commitment.owner_id)
        .where(*where, scope.customers())
        .order_by(Commitment.due_at)
        .limit(limit)
    )
    rows = [
        OverdueCommitment(code, cid, cname, owner or "", what, due, (now - due).days)
        for code, cid, cname, owner, what, due in (await db.execute(stmt)).all()
    ]
    return total, rows


async def overdue_receivables(
    db: AsyncSession, scope: Scope, *, now: datetime, limit: int = SHOWN
) -> tuple[int, list[OverdueReceivable]]:
    """Signed contracts with a payment term that has run out and no payment since signing."""
    paid = aliased(CustomerEvent)
    signed = CustomerEvent
    no_payment = ~exists().where(
        paid.customer_id == signed.customer_id,
        paid.kind == EventKind.PAYMENT_RECEIVED,
        paid.occurred_at >= signed.occurred_at,
    )
    stmt = (
        select(
            signed.customer_id,
            signed.occurred_at,
            signed.payment_term_days,
            signed.amount_yuan,
            Customer.name,
            User.name,
        )
        .join(Customer, Customer.id == signed.customer_id)
        .outerjoin(User, User.id == Customer.owner_id)
        .where(
            and_(signed.kind == EventKind.CONTRACT_SIGNED, signed.payment_term_days.is_not(None)),
            signed.occurred_at < now,
            no_payment,
            scope.customers(),
        )
        .order_by(signed.occurred_at)
    )
    out: list[OverdueReceivable] = []
    for customer_id, signed_at, term_days, amount, name, owner in (await db.execute(stmt)).all():
        due = signed_at + timedelta(days=term_days or 0)
        if due >= now:
            continue
        out.append(
            OverdueReceivable(
                customer_id, name, owner or "", signed_at, due, amount, (now - due).days
            )
        )
    return len(out), out[:limit]
