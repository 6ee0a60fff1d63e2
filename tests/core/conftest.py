"""A seeded sales team and `talk`: chat lines through the real router, on both databases."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from config.rules import Rules
from handlers.chat import Event, Platform, Push, message_as_text
from handlers.clock import FrozenClock
from handlers.context import Context
from handlers.router import dispatch
from storage.db import create_engine
from storage.migrate import upgrade_to_head
from storage.models import AuditEntry, Customer, Role, StageChange, Team, User
from tests import pg

SHANGHAI = ZoneInfo("Asia/Shanghai")

# name, role, team, manager, wecom id, active
PEOPLE = (
    ("赵强", Role.DIRECTOR, None, None, "zhaoqiang", True),
    ("陈静", Role.MANAGER, "华东一组", "赵强", "chenjing", True),
    ("王磊", Role.REP, "华东一组", "陈静", "wanglei", True),
    ("李娜", Role.REP, "华东一组", "陈静", "lina", True),
    ("周敏", Role.MANAGER, "华南一组", "赵强", "zhoumin", True),
    ("张伟", Role.REP, "华南一组", "周敏", "zhangwei", True),
    ("孙丽", Role.REP, "华东一组", "陈静", "sunli", False),  # left the company
)
# name, aliases, owner, stage
CUSTOMERS = (
    ("杭州启明科技有限公司", ("启明科技", "启明"), "王磊", "线索"),
    ("苏州瑞康药业有限公司", ("瑞康药业", "瑞康"), "王磊", "意向"),
    ("佛山宏达建材", ("宏达建材", "宏达"), "李娜", "线索"),
    ("宁波海川物流有限公司", ("海川物流", "海川"), "李娜", "方案"),
    ("广州南方电子有限公司", ("南方电子",), "张伟", "意向"),
)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (migrating per test is most of the time)."""
    path = tmp_path_factory.mktemp("template") / "salesbot.db"

    async def migrate() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade_to_head(engine)
        await engine.dispose()  # the last connection out checkpoints the WAL into the file

    asyncio.run(migrate())
    return path


@pytest.fixture(scope="session")
def pg_database(pg_template: str) -> Iterator[str]:
    """One migrated PostgreSQL database for this directory; each test starts it empty."""
    name = asyncio.run(pg.create_database_from(pg_template))
    yield name
    pg.drop_database_sync(name)


async def _empty_all_tables(url: str) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn, timeout=5, server_settings={"synchronous_commit": "off"})
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'alembic_version'"
        )
        references = await conn.fetch(
            "SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k"
            " JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE k.contype = 'f' AND n.nspname = 'public'"
        )
        # Rows that point at a table go first (no superuser needed to skip the foreign keys).
        referenced_by: dict[str, set[str]] = {row["tablename"]: set() for row in tables}
        for row in references:
            if row["child"] != row["parent"]:
                referenced_by[row["parent"]].add(row["child"])
        order = TopologicalSorter(referenced_by).static_order()
        # DELETE, not TRUNCATE: on a few rows it takes milliseconds, TRUNCATE most of a second.
        await conn.execute("".join(f'DELETE FROM "{table}";' for table in order))
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Overrides tests/conftest.py: the same migrated, empty database of each kind, made faster
    (a copied SQLite file; one PostgreSQL database emptied per test instead of re-created)."""
    if request.param == "sqlite":
        path = tmp_path / "salesbot.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url = pg.url_for(request.getfixturevalue("pg_database"))
    asyncio.run(_empty_all_tables(url))
    return url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """Overrides tests/conftest.py: PostgreSQL commits without waiting for the disk (tests only)."""
    options: dict[str, Any] = {}
    if make_url(db_url).get_backend_name() == "postgresql":
        options["connect_args"] = {"server_settings": {"synchronous_commit": "off"}}
    engine = create_engine(db_url, **options)
    yield engine
    await engine.dispose()


@dataclass
class SeededTeam:
    """The people and customers of the seed, by name, and the context every command runs with."""

    sessions: async_sessionmaker[AsyncSession]
    ctx: Context
    clock: FrozenClock
    users: dict[str, int]
    customers: dict[str, int]

    def event(self, user: str, text: str, *, platform: Platform = Platform.SHELL) -> Event:
        """A chat line as an adapter would hand it over, with a fresh message id."""
        return Event(
            platform=platform,
            message_id=uuid.uuid4().hex,
            sender=user,
            received_at=self.clock.now(),
            text=text,
        )

    async def send(self, event: Event) -> list[str]:
        """Dispatch one event in its own transaction, as the inbox worker does; the answer texts."""
        async with self.sessions() as db, db.begin():
            outgoing = await dispatch(event, db, self.ctx)
        return [message_as_text(item) for item in outgoing if not isinstance(item, Push)]

    async def talk(self, user: str, text: str) -> str:
        """What `user` gets back for `text` in the terminal shell, all answers joined."""
        return "\n".join(await self.send(self.event(user, text)))

    async def count(self, model: type[Any], *where: Any) -> int:
        async with self.sessions() as db:
            stmt = select(func.count()).select_from(model).where(*where)
            return int((await db.execute(stmt)).scalar_one())

    async def customer(self, name: str) -> Customer:
        if name not in self.customers:
            return await self.customer_by_name(name)
        async with self.sessions() as db:
            return await db.get_one(Customer, self.customers[name])

    async def customer_by_name(self, name: str) -> Customer:
        async with self.sessions() as db:
            return (await db.execute(select(Customer).where(Customer.name == name))).scalar_one()

    async def audit_actions(self) -> list[str]:
        async with self.sessions() as db:
            stmt = select(AuditEntry.action).order_by(AuditEntry.id)
            return list((await db.execute(stmt)).scalars())


Talk = Callable[[str, str], Awaitable[str]]


@pytest.fixture
async def team(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, rules: Rules
) -> SeededTeam:
    """华东一组 (陈静 managing 王磊、李娜), 华南一组 (周敏, 张伟), director 赵强, five customers."""
    now = clock.now()
    users: dict[str, int] = {}
    customers: dict[str, int] = {}
    async with sessions() as db, db.begin():
        teams = {}
        for name in ("华东一组", "华南一组"):
            teams[name] = Team(name=name, created_at=now - timedelta(days=90))
            db.add(teams[name])
        await db.flush()
        for name, role, team_name, manager, wecom_id, active in PEOPLE:
            user = User(
                name=name,
                role=role,
                team_id=teams[team_name].id if team_name else None,
                manager_id=users[manager] if manager else None,
                wecom_userid=wecom_id,
                dingtalk_userid=f"dt_{wecom_id}",
                active=active,
                created_at=now - timedelta(days=90),
            )
            db.add(user)
            await db.flush()
            users[name] = user.id
        for name, aliases, owner, stage in CUSTOMERS:
            customer = Customer(
                name=name,
                aliases=list(aliases),
                owner_id=users[owner],
                stage=stage,
                stage_entered_at=now,
                level="B",
                health_score=80,
                created_at=now - timedelta(days=30),
            )
            db.add(customer)
            await db.flush()
            db.add(
                StageChange(
                    customer_id=customer.id,
                    from_stage=None,
                    to_stage=stage,
                    at=now,
                    by_user_id=users[owner],
                )
            )
            customers[name] = customer.id
    ctx = Context(clock=clock, rules=rules, tz=SHANGHAI)
    return SeededTeam(sessions, ctx, clock, users, customers)


@pytest.fixture
def talk(team: SeededTeam) -> Talk:
    return team.talk


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in Shanghai, as reps say it."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)
