"""Async engine and sessions: aiosqlite (WAL, foreign keys, busy timeout) or asyncpg."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 30_000
# No pre-ping on PostgreSQL: it costs a round trip per checkout, on the ack path too. Connections
# are recycled well before a server or proxy idle timeout instead; a connection that died anyway
# (a server restart) fails one statement, which invalidates the whole pool, and the inbox writer
# retries once on a fresh connection. Workers simply retry their step.
PG_POOL_RECYCLE_S = 1800


def normalize_url(url: str) -> str:
    """Accept plain postgresql:// and sqlite:// URLs and pick the async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_async_engine(url, **kwargs)
        _install_sqlite_hooks(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", False)
    kwargs.setdefault("pool_recycle", PG_POOL_RECYCLE_S)
    # Callbacks share one connection per flush (storage.inbox); the rest is for the workers,
    # the scheduler and /readyz. asyncpg's prepared-statement cache (100 per connection) is on.
    kwargs.setdefault("pool_size", 10)
    return create_async_engine(url, **kwargs)


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT; take over BEGIN ourselves.
    # BEGIN IMMEDIATE takes the write lock up front, so two writers wait on busy_timeout
    # instead of failing with "database is locked" when both try to upgrade a read lock.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
