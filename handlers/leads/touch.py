"""The first touch of a lead (已联系 or a follow-up) stops its 24-hour clock."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Lead


async def touch_lead(db: AsyncSession, *, customer_id: int, now: datetime) -> bool:
    """Record the first touch; False when the customer is no lead or was touched already."""
    result = await db.execute(
        update(Lead)
        .where(Lead.customer_id == customer_id, Lead.first_touched_at.is_(None))
        .values(first_touched_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
