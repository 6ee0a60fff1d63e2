"""PostgreSQL for tests: one migrated template per test run, a fresh database per test."""

from __future__ import annotations

import asyncio
import os
import uuid

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from storage.db import create_engine
from storage.migrate import upgrade_to_head

PG_URL = os.environ.get(
    "SALESBOT_TEST_PG_URL", "postgresql+asyncpg://postgres:postgres@127.0.0.1:5432/salesbot_test"
)


def _dsn(database: str | None = None) -> str:
    url = make_url(PG_URL).set(drivername="postgresql")
    if database:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


def url_for(database: str) -> str:
    return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


async def _admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(_dsn(), timeout=5)
    except (OSError, asyncpg.PostgresError) as err:
        pytest.fail(
            f"PostgreSQL is not reachable at {make_url(PG_URL).render_as_string()}: {err}. "
            "Start it (pg_ctlcluster 15 main start) or set SALESBOT_TEST_PG_URL; "
            "tests that need PostgreSQL never skip.",
            pytrace=False,
        )


async def create_template() -> str:
    name = f"salesbot_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = await _admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    engine = create_engine(url_for(name))
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()
    return name


async def create_database_from(template: str) -> str:
    name = f"salesbot_t_{uuid.uuid4().hex[:12]}"
    admin = await _admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    finally:
        await admin.close()
    return name


async def drop_database(name: str) -> None:
    admin = await _admin()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def drop_database_sync(name: str) -> None:
    asyncio.run(drop_database(name))
