"""Inbox: raw platform events stored before the ack, taken by workers under a lease.

`store_event` is the ack path. Concurrent calls share one INSERT and one COMMIT (group commit):
the first caller starts a flush, callers arriving while it runs join the next one.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import DateTime, String, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import leases
from storage.queue_models import InboxItem, ItemStatus
from storage.upsert import dialect_name, insert_for, rowcount

log = structlog.get_logger()

# Short, because a live worker renews it (heartbeat): a dead one's rows wait at most this long.
LEASE = timedelta(seconds=30)
PLATFORM_CHARS = 20  # the inbox columns' sizes
KEY_CHARS = 300
MAX_BATCH = 200  # rows per INSERT; ~1 KB each, so one statement stays well under 1 MB

# One fixed statement whatever the batch size, so asyncpg prepares it once per connection.
_PG_INSERT = text(
    "INSERT INTO inbox (platform, message_key, payload, received_at, status, attempts) "
    "SELECT platform, message_key, payload, received_at, :status, 0 FROM unnest("
    "CAST(:platforms AS VARCHAR[]), CAST(:message_keys AS VARCHAR[]), "
    "CAST(:payloads AS TEXT[]), CAST(:received_ats AS TIMESTAMPTZ[])"
    ") AS batch(platform, message_key, payload, received_at) "
    "ON CONFLICT (platform, message_key) DO NOTHING "
    "RETURNING platform, message_key"
).bindparams(
    bindparam("platforms", type_=ARRAY(String())),
    bindparam("message_keys", type_=ARRAY(String())),
    bindparam("payloads", type_=ARRAY(String())),
    bindparam("received_ats", type_=ARRAY(DateTime(timezone=True))),
)

Key = tuple[str, str]  # (platform, message_key)


@dataclass(frozen=True, slots=True)
class _Row:
    platform: str
    message_key: str
    payload: str
    received_at: datetime  # aware, UTC

    @property
    def key(self) -> Key:
        return (self.platform, self.message_key)


async def store_event(
    sessions: async_sessionmaker[AsyncSession],
    *,
    platform: str,
    message_key: str,
    payload: str,
    now: datetime,
) -> bool:
    """Insert-or-ignore on (platform, message_key); True if this delivery is new.

    Returns once the row is committed. Raises (every caller of the failed batch) if the
    insert failed, so the platform is not acked and delivers the message again.
    """
    if now.tzinfo is None:
        raise ValueError("naive datetime: use clock.now() or attach a tz")
    check_row(platform, message_key, payload)
    row = _Row(platform, message_key, payload, now.astimezone(UTC))
    return await batcher_for(sessions).store(sessions, row)


def check_row(platform: str, message_key: str, payload: str) -> None:
    """ValueError for what the columns cannot hold: caught before it joins anyone's batch."""
    if not 0 < len(platform) <= PLATFORM_CHARS:
        raise ValueError(f"platform: 1 to {PLATFORM_CHARS} characters")
    if not 0 < len(message_key) <= KEY_CHARS:
        raise ValueError(f"message key: 1 to {KEY_CHARS} characters, not {len(message_key)}")
    if "\x00" in message_key or "\x00" in payload:
        raise ValueError("NUL character")  # PostgreSQL text cannot hold it


class InboxBatcher:
    """Group commit for inbox inserts: one flush at a time, everyone waiting joins the next."""

    def __init__(self, *, max_batch: int = MAX_BATCH) -> None:
        self.max_batch = max_batch
        self._waiting: list[tuple[_Row, asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def store(self, sessions: async_sessionmaker[AsyncSession], row: _Row) -> bool:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bool] = loop.create_future()
        if self._flusher is not None and self._flusher.get_loop() is not loop:
            self._waiting, self._flusher = [], None  # that loop is gone, and its callers too
        self._waiting.append((row, answer))
        if self._flusher is None:
            self._flusher = loop.create_task(self._flush_all(sessions), name="inbox-flush")
        return await answer

    async def _flush_all(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self.max_batch]
                del self._waiting[: self.max_batch]
                await self._flush(sessions, batch)
        finally:
            self._flusher = None
            for _row, answer in self._waiting:  # only left if this task was cancelled
                answer.cancel()
            self._waiting.clear()

    async def _flush(
        self,
        sessions: async_sessionmaker[AsyncSession],
        batch: list[tuple[_Row, asyncio.Future[bool]]],
    ) -> None:
        firsts: dict[Key, _Row] = {}
        for row, _answer in batch:
            firsts.setdefault(row.key, row)  # a duplicate within the batch: the first one counts
        try:
            new = await _insert_retrying(sessions, list(firsts.values()))
        except Exception as err:
            if len(firsts) == 1:
                for _row, answer in batch:
                    if not answer.done():
                        answer.set_exception(err)
                return
            # One bad row must not fail its batch-mates: each on its own, to learn which.
            log.warning("inbox_batch_failed", size=len(firsts), error=type(err).__name__)
            new, failed = await _insert_each(sessions, list(firsts.values()))
            for row, answer in batch:
                if row.key in failed and not answer.done():
                    answer.set_exception(failed[row.key])
            batch = [(row, answer) for row, answer in batch if row.key not in failed]
        except BaseException:  # cancelled (shutdown): nobody learns an answer
            for _row, answer in batch:
                answer.cancel()
            raise
        for row, answer in batch:
            is_new = row.key in new
            new.discard(row.key)  # later callers with the same key are duplicates
            if not answer.done():  # a caller that gave up (cancelled) learns nothing
                answer.set_result(is_new)


async def _insert_retrying(
    sessions: async_sessionmaker[AsyncSession], rows: list[_Row]
) -> set[Key]:
    """The rows that were new. One retry when the connection was dead (the pool does no
    pre-ping): the failed attempt invalidated the pool, so the retry gets a fresh one. Had the
    first attempt committed before its answer was lost, the retry calls those rows duplicates:
    stored either way, which is all an ack promises."""
    try:
        return await _insert(sessions, rows)
    except DBAPIError as err:
        if not err.connection_invalidated:
            raise
    return await _insert(sessions, rows)


async def _insert_each(
    sessions: async_sessionmaker[AsyncSession], rows: list[_Row]
) -> tuple[set[Key], dict[Key, Exception]]:
    """The rows one statement each: the new ones, and each failed row's own error."""
    new: set[Key] = set()
    failed: dict[Key, Exception] = {}
    for row in rows:
        try:
            new |= await _insert_retrying(sessions, [row])
        except Exception as err:
            failed[row.key] = err
    return new, failed


async def _insert(sessions: async_sessionmaker[AsyncSession], rows: list[_Row]) -> set[Key]:
    async with sessions() as db:
        if dialect_name(db) == "postgresql":
            # One statement is one transaction: autocommit spares the BEGIN and COMMIT round
            # trips, each of which would wait behind the callbacks on the event loop.
            conn = await db.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            result = await conn.execute(
                _PG_INSERT,
                {
                    "status": str(ItemStatus.NEW),
                    "platforms": [r.platform for r in rows],
                    "message_keys": [r.message_key for r in rows],
                    "payloads": [r.payload for r in rows],
                    "received_ats": [r.received_at for r in rows],
                },
            )
            return {(platform, key) for platform, key in result}
        async with db.begin():
            return await _insert_one_by_one(db, rows)


async def _insert_one_by_one(db: AsyncSession, rows: list[_Row]) -> set[Key]:
    """SQLite: one writer at a time anyway; the single COMMIT is what counts."""
    new: set[Key] = set()
    for row in rows:
        stmt = (
            insert_for(db, InboxItem)
            .values(
                platform=row.platform,
                message_key=row.message_key,
                payload=row.payload,
                received_at=row.received_at,
                status=ItemStatus.NEW,
                attempts=0,
            )
            .on_conflict_do_nothing(index_elements=["platform", "message_key"])
        )
        if rowcount(await db.execute(stmt)):
            new.add(row.key)
    return new


# One batcher per sessionmaker (that is, per database), gone when the sessionmaker is.
_BATCHERS: weakref.WeakKeyDictionary[async_sessionmaker[AsyncSession], InboxBatcher] = (
    weakref.WeakKeyDictionary()
)


def batcher_for(sessions: async_sessionmaker[AsyncSession]) -> InboxBatcher:
    batcher = _BATCHERS.get(sessions)
    if batcher is None:
        batcher = _BATCHERS[sessions] = InboxBatcher()
    return batcher


async def take_batch(
    db: AsyncSession,
    *,
    now: datetime,
    worker: str,
    platforms: list[str],
    limit: int = 10,
    lease: timedelta = LEASE,
) -> list[InboxItem]:
    """Lease up to `limit` new rows, or rows whose lease ran out (a crashed worker's)."""
    rows = await leases.take(
        db,
        InboxItem,
        now=now,
        lease=lease,
        platforms=platforms,
        limit=limit,
        order_by=[InboxItem.id],
        taken_by=worker,
    )
    return sorted(rows, key=lambda row: row.id)


async def mark_done(db: AsyncSession, item_id: int, *, now: datetime) -> None:
    await db.execute(
        update(InboxItem)
        .where(InboxItem.id == item_id)
        .values(status=ItemStatus.DONE, done_at=now, taken_until=None, last_error=None)
    )


async def mark_failed(
    db: AsyncSession, item_id: int, *, error: str, dead: bool, retry_at: datetime
) -> None:
    """A bug while handling: retry later (the lease runs out), or give up after N attempts."""
    values: dict[str, object] = {"last_error": printable(error)[:2000]}
    if dead:
        values |= {"status": ItemStatus.DEAD, "taken_until": None}
    else:  # waiting for its retry, held by no worker
        values |= {"status": ItemStatus.TAKEN, "taken_until": retry_at, "taken_by": None}
    await db.execute(update(InboxItem).where(InboxItem.id == item_id).values(**values))


async def extend_leases(
    db: AsyncSession, item_ids: list[int], *, worker: str, until: datetime
) -> int:
    """The heartbeat: rows this worker still holds stay its own until `until`."""
    if not item_ids:
        return 0
    result = await db.execute(
        update(InboxItem)
        .where(
            InboxItem.id.in_(item_ids),
            InboxItem.status == ItemStatus.TAKEN,
            InboxItem.taken_by == worker,
        )
        .values(taken_until=until)
    )
    return rowcount(result)


async def release_own(db: AsyncSession, *, worker: str, now: datetime) -> int:
    """At start-up: rows a previous run of this same worker held (it died) are takeable now,
    not when their lease would have run out."""
    result = await db.execute(
        update(InboxItem)
        .where(
            InboxItem.status == ItemStatus.TAKEN,
            InboxItem.taken_by == worker,
            InboxItem.taken_until > now,
        )
        .values(taken_until=now - timedelta(microseconds=1))
    )
    return rowcount(result)


def printable(text: str) -> str:
    """An error text any column takes: no NUL or other control characters (PostgreSQL)."""
    return "".join(c if c.isprintable() or c in "\n\t" else repr(c)[1:-1] for c in text)


async def list_items(db: AsyncSession, *, dead_only: bool, limit: int = 200) -> list[InboxItem]:
    """Unfinished (or only dead) rows, newest first."""
    stmt = select(InboxItem).order_by(InboxItem.id.desc()).limit(limit)
    if dead_only:
        stmt = stmt.where(InboxItem.status == ItemStatus.DEAD)
    else:
        stmt = stmt.where(InboxItem.status != ItemStatus.DONE)
    return list((await db.execute(stmt)).scalars())


async def pending_count(db: AsyncSession) -> int:
    stmt = select(func.count()).where(InboxItem.status.in_([ItemStatus.NEW, ItemStatus.TAKEN]))
    return int((await db.execute(stmt)).scalar_one())


async def dead_count(db: AsyncSession) -> int:
    stmt = select(func.count()).where(InboxItem.status == ItemStatus.DEAD)
    return int((await db.execute(stmt)).scalar_one())


async def oldest_pending_at(db: AsyncSession) -> datetime | None:
    stmt = select(func.min(InboxItem.received_at)).where(
        InboxItem.status.in_([ItemStatus.NEW, ItemStatus.TAKEN])
    )
    value: datetime | None = (await db.execute(stmt)).scalar_one()
    return value
