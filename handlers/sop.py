"""SOP tasks (placeholder until the watch/SOP work lands): deal events create no tasks yet."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.context import Context
from storage.models import Customer, CustomerEvent


async def create_tasks_for(
    db: AsyncSession, ctx: Context, *, customer: Customer, event: CustomerEvent
) -> list[str]:
    """Create the SOP tasks an event starts; returns lines for the reply."""
    return []
