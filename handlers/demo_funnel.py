"""Demo data for both ends of the funnel: two leads, two contracts with payments, contacts.

The PHI tests count these by hand (tests/admin/test_demo_phi.py): keep the two in step.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.contacts import remember_contact
from storage.models import Contract, Customer, Followup, Lead, Receivable, ReceivableStep

# first alias | source | region | hours since assignment | hours until the first touch (or -)
LEADS = (
    ("瑞康药业", "展会", "华东", 48, None),  # untouched: red on the board, escalated
    ("金陵传媒", "公众号", "华东", 5, 2),  # touched by the demo's follow-up two hours in
)
# first alias | amount | days since signing | (label, share %, days after signing, paid yuan)
CONTRACTS = (
    ("海川物流", Decimal(500000), 40, (("签约", 30, 30, 100000), ("验收", 70, 60, 0))),
    ("柯桥纺织", Decimal(200000), 55, (("账期 30 天", 100, 30, 0),)),
)


async def seed_funnel(
    db: AsyncSession, customers: dict[str, Customer], *, now: datetime, tz: ZoneInfo
) -> dict[str, int]:
    """Only for customers this seeding created; returns what it added, by kind."""
    added = {"lead": 0, "contract": 0, "contact": 0}
    for alias, source, region, hours_ago, touched_after in LEADS:
        customer = customers.get(alias)
        if customer is None or customer.owner_id is None:
            continue
        assigned_at = now - timedelta(hours=hours_ago)
        db.add(
            Lead(
                customer_id=customer.id,
                source=source,
                region=region,
                assigned_to_id=customer.owner_id,
                assigned_at=assigned_at,
                touch_due_at=assigned_at + timedelta(hours=24),
                first_touched_at=(
                    assigned_at + timedelta(hours=touched_after) if touched_after else None
                ),
                created_at=assigned_at,
            )
        )
        added["lead"] += 1
    for alias, amount, days_ago, parts in CONTRACTS:
        customer = customers.get(alias)
        if customer is None or customer.owner_id is None:
            continue
        signed_at = now - timedelta(days=days_ago)
        contract = Contract(
            customer_id=customer.id,
            owner_id=customer.owner_id,
            amount_yuan=amount,
            expires_on=(signed_at + timedelta(days=365)).astimezone(tz).date(),
            signed_at=signed_at,
            updated_at=signed_at,
        )
        db.add(contract)
        await db.flush()
        for seq, (label, share, due_days, paid) in enumerate(parts, 1):
            part_amount = amount * share / 100
            db.add(
                Receivable(
                    contract_id=contract.id,
                    customer_id=customer.id,
                    owner_id=customer.owner_id,
                    seq=seq,
                    label=label,
                    share_pct=Decimal(share),
                    amount_yuan=part_amount,
                    due_on=(signed_at + timedelta(days=due_days)).astimezone(tz).date(),
                    step=ReceivableStep.INVOICED if paid else ReceivableStep.ARCHIVED,
                    step_at=signed_at + timedelta(days=due_days - 5),
                    paid_yuan=Decimal(paid),
                    created_at=signed_at,
                )
            )
        added["contract"] += 1
    ids = [c.id for c in customers.values()]
    if ids:
        stmt = select(Followup).where(
            Followup.customer_id.in_(ids),
            Followup.contact.is_not(None),
            Followup.contact_id.is_(None),
        )
        for followup in (await db.execute(stmt)).scalars():
            contact = await remember_contact(
                db,
                customer_id=followup.customer_id,
                name=followup.contact or "",
                note=followup.raw_text,
                now=followup.created_at,
            )
            followup.contact_id = contact.id
            added["contact"] += 1
    await db.flush()
    return added
