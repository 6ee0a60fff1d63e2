"""Overdue commitments and receivables on the 作战室: what was promised or owed and is late."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, exists, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from handlers.board.scope import Scope
from storage.base import UTCDateTime
from storage.models import (
    Commitment,
    CommitmentStatus,
    Customer,
    CustomerEvent,
    EventKind,
    User,
)
from storage.upsert import dialect_name

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
    where = [
        signed.kind == EventKind.CONTRACT_SIGNED,
        signed.payment_term_days.is_not(None),
        signed.occurred_at < now,
        _term_end(db, signed) < literal(now, UTCDateTime()),
        no_payment,
    ]
    count = select(func.count()).select_from(signed).where(*where)
    if not scope.sees_everything:
        count = count.join(Customer, Customer.id == signed.customer_id).where(scope.customers())
    total = int((await db.execute(count)).scalar_one())
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
        .where(*where, scope.customers())
        .order_by(signed.occurred_at)
        .limit(limit)
    )
    out: list[OverdueReceivable] = []
    for customer_id, signed_at, term_days, amount, name, owner in (await db.execute(stmt)).all():
        due = signed_at + timedelta(days=term_days or 0)
        out.append(
            OverdueReceivable(
                customer_id, name, owner or "", signed_at, due, amount, (now - due).days
            )
        )
    return total, out


def _term_end(db: AsyncSession, signed: type[CustomerEvent]) -> ColumnElement[Any]:
    """occurred_at + payment_term_days days, in SQL (dialects spell date arithmetic apart)."""
    if dialect_name(db) == "postgresql":
        return signed.occurred_at + func.make_interval(0, 0, 0, signed.payment_term_days)
    days = func.printf("+%d days", signed.payment_term_days)
    return func.strftime("%Y-%m-%d %H:%M:%f", signed.occurred_at, days)
