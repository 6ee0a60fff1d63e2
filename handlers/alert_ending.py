"""Warnings about a row that was taken back (撤销) end with it: resolved, never sent again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Alert, AlertStatus


async def end_alerts(
    db: AsyncSession, subject_type: str, subject_ids: Sequence[int], *, now: datetime
) -> None:
    if not subject_ids:
        return
    await db.execute(
        update(Alert)
        .where(
            Alert.subject_type == subject_type,
            Alert.subject_id.in_(list(subject_ids)),
            Alert.status.in_((AlertStatus.OPEN, AlertStatus.SNOOZED)),
        )
        .values(status=AlertStatus.RESOLVED, resolved_at=now)
        .execution_options(synchronize_session=False)
    )
