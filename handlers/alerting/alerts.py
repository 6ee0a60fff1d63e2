"""Alert rows: insert once per dedupe key (safe across instances), resolve, wake snoozed ones."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Integer, any_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.alerting.findings import Finding
from handlers.alerting.ladder import AlertState
from storage.models import Alert, AlertStatus
from storage.upsert import dialect_name, insert_for

CHUNK = 500  # rows per multi-row INSERT / ids per IN list (SQLite's variable limit)
LIVE = (AlertStatus.OPEN, AlertStatus.SNOOZED)


async def existing_states(
    db: AsyncSession, findings: Sequence[Finding]
) -> dict[str, list[AlertState]]:
    """Alerts already raised for each finding's subject in the same episode, by key stem."""
    wanted = {f.key_stem: f for f in findings}
    by_type: dict[tuple[str, str], list[int]] = defaultdict(list)
    for f in findings:
        by_type[(f.rule, f.subject_type)].append(f.subject_id)
    found: dict[str, list[AlertState]] = defaultdict(list)
    postgres = dialect_name(db) == "postgresql"
    for (rule, subject_type), ids in by_type.items():
        # PostgreSQL takes the ids as one array parameter (one prepared statement, any count);
        # SQLite takes IN lists within its bound-variable limit.
        step = len(ids) if postgres else CHUNK
        for start in range(0, len(ids), step):
            chunk = ids[start : start + step]
            in_ids = (
                Alert.subject_id == any_(bindparam("ids", chunk, type_=ARRAY(Integer)))
                if postgres
                else Alert.subject_id.in_(chunk)
            )
            stmt = select(
                Alert.id,
                Alert.rule,
                Alert.subject_type,
                Alert.subject_id,
                Alert.level,
                Alert.status,
                Alert.created_at,
                Alert.snoozed_until,
                Alert.period_at,
            ).where(
                Alert.subject_type == subject_type,
                in_ids,
                Alert.rule == rule,
            )
            for row in (await db.execute(stmt)).all():
                stem = f"{row.rule}:{row.subject_type}:{row.subject_id}"
                finding = wanted.get(stem)
                if finding is None or row.period_at != finding.period:
                    continue
                found[stem].append(
                    AlertState(row.id, row.level, row.status, row.created_at, row.snoozed_until)
                )
    return found


async def insert_new(db: AsyncSession, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert alert rows; a dedupe key that exists (another run, another instance) is skipped.

    Returns dedupe key → id of the rows this call created.
    """
    created: dict[str, int] = {}
    if not rows:
        return created
    # executemany with RETURNING: one cached statement, batched by SQLAlchemy's insertmanyvalues
    stmt = (
        insert_for(db, Alert.__table__)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Alert.__table__.c.dedupe_key, Alert.__table__.c.id)
    )
    for start in range(0, len(rows), CHUNK * 10):
        result = await db.execute(stmt, rows[start : start + CHUNK * 10])
        created.update({row[0]: row[1] for row in result.all()})
    return created


async def resolve_where(
    db: AsyncSession, condition: ColumnElement[bool], *, now: datetime
) -> list[int]:
    """Resolve the live alerts matching `condition`: their cause went away."""
    found = await db.execute(select(Alert.id).where(Alert.status.in_(LIVE), condition))
    ids = [row[0] for row in found.all()]
    for start in range(0, len(ids), CHUNK):
        await db.execute(
            update(Alert)
            .where(Alert.id.in_(ids[start : start + CHUNK]), Alert.status.in_(LIVE))
            .values(status=AlertStatus.RESOLVED, resolved_at=now)
            .execution_options(synchronize_session=False)
        )
    return ids


async def wake_snoozed(db: AsyncSession, *, now: datetime) -> list[Alert]:
    """Snoozes that ran out: the alert is open again (and is re-sent to its owner once)."""
    stmt = (
        update(Alert)
        .where(Alert.status == AlertStatus.SNOOZED, Alert.snoozed_until <= now)
        .values(status=AlertStatus.OPEN)
        .returning(Alert)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return list((await db.execute(stmt)).scalars().all())
