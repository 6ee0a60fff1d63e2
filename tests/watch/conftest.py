"""A seeded company for time-travel tests of the watch, SOP and digest jobs, on both databases."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.rules import Rules
from handlers.alerting.findings import JobResult
from handlers.chat import CardAction, Event, EventKind, Outgoing, Platform, Push, message_as_text
from handlers.clock import FrozenClock
from handlers.context import Context
from handlers.router import dispatch
from handlers.sop import run_sop
from handlers.watch.scan import run_watch
from storage.models import (
    Alert,
    Commitment,
    CommitmentStatus,
    Customer,
    CustomerEvent,
    Followup,
    Role,
    Task,
    TaskStatus,
    Team,
    User,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")

# name, role, team, manager, active
PEOPLE = (
    ("赵强", Role.DIRECTOR, None, None, True),
    ("陈静", Role.MANAGER, "华东一组", "赵强", True),
    ("王磊", Role.REP, "华东一组", "陈静", True),
    ("李娜", Role.REP, "华东一组", "陈静", True),
    ("周敏", Role.MANAGER, "华南一组", "赵强", True),
    ("张伟", Role.REP, "华南一组", "周敏", True),
    ("孙丽", Role.REP, "华东一组", "陈静", False),  # left the company
)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in Shanghai, as reps say it."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@dataclass
class World:
    """The company, its context, and helpers that add rows and run jobs as of the clock."""

    sessions: async_sessionmaker[AsyncSession]
    ctx: Context
    clock: FrozenClock
    users: dict[str, int]
    teams: dict[str, int]
    customers: dict[str, int] = field(default_factory=dict)

    @property
    def rules(self) -> Rules:
        return self.ctx.rules

    async def add(self, *rows: Any) -> None:
        async with self.sessions() as db, db.begin():
            db.add_all(rows)

    async def customer(
        self,
        name: str,
        *,
        owner: str | None = "王磊",
        stage: str = "意向",
        entered: datetime,
        evidence: datetime | None = None,
        next_step: datetime | None = None,
        health: int = 80,
    ) -> int:
        row = Customer(
            name=name,
            aliases=[],
            owner_id=self.users[owner] if owner else None,
            stage=stage,
            stage_entered_at=entered,
            last_evidence_at=evidence,
            next_step_due_at=next_step,
            level="B",
            health_score=health,
            created_at=entered,
        )
        await self.add(row)
        self.customers[name] = row.id
        return row.id

    async def followup(self, customer: str, *, at: datetime, text: str, by: str = "王磊") -> None:
        """A follow-up as the followups handler records it: the row and the evidence stamp."""
        async with self.sessions() as db, db.begin():
            db.add(
                Followup(
                    customer_id=self.customers[customer],
                    author_id=self.users[by],
                    created_at=at,
                    raw_text=text,
                    summary=text,
                )
            )
            row = await db.get_one(Customer, self.customers[customer])
            row.last_evidence_at = at

    async def commitment(
        self,
        customer: str,
        code: str,
        what: str,
        *,
        due: datetime,
        created: datetime,
        owner: str = "王磊",
        evidence: str | None = None,
    ) -> int:
        row = Commitment(
            code=code,
            customer_id=self.customers[customer],
            owner_id=self.users[owner],
            what=what,
            due_at=due,
            evidence=evidence,
            status=CommitmentStatus.OPEN,
            created_at=created,
            last_activity_at=created,
        )
        await self.add(row)
        return row.id

    async def event(
        self,
        customer: str,
        kind: str,
        *,
        at: datetime,
        expires_on: date | None = None,
        term_days: int | None = None,
    ) -> CustomerEvent:
        row = CustomerEvent(
            customer_id=self.customers[customer],
            kind=kind,
            occurred_at=at,
            contract_expires_on=expires_on,
            payment_term_days=term_days,
        )
        await self.add(row)
        return row

    async def task(
        self,
        customer: str,
        *,
        pushed: datetime,
        accept_by: datetime,
        due: datetime,
        status: str = TaskStatus.PUSHED,
        assignee: str = "王磊",
        title: str = "交付后满意度回访",
    ) -> int:
        """A task card as the sop job leaves it once pushed."""
        row = Task(
            dedupe_key=f"test:{uuid.uuid4().hex}",
            template_key="satisfaction_visit",
            title=title,
            checklist=["电话或上门回访关键用户"],
            customer_id=self.customers[customer],
            assignee_id=self.users[assignee],
            push_at=pushed,
            accept_by=accept_by,
            due_at=due,
            status=status,
            pushed_at=pushed,
            accepted_at=pushed if status == TaskStatus.ACCEPTED else None,
            last_activity_at=pushed,
            created_at=pushed,
        )
        await self.add(row)
        return row.id

    async def sop(self, at: datetime | None = None, *, dry_run: bool = False) -> JobResult:
        if at is not None:
            self.clock.set(at)
        async with self.sessions() as db, db.begin():
            return await run_sop(db, self.ctx, now=self.clock.now(), dry_run=dry_run)

    async def watch(self, at: datetime | None = None, *, dry_run: bool = False) -> JobResult:
        """One watch scan as of `at` (default: the clock), committed like the scheduled job."""
        if at is not None:
            self.clock.set(at)
        async with self.sessions() as db, db.begin():
            return await run_watch(db, self.ctx, now=self.clock.now(), dry_run=dry_run)

    async def alerts(self, *where: Any) -> list[Alert]:
        async with self.sessions() as db:
            stmt = select(Alert).where(*where).order_by(Alert.id)
            return list((await db.execute(stmt)).scalars())

    async def tasks(self, *where: Any) -> list[Task]:
        async with self.sessions() as db:
            return list((await db.execute(select(Task).where(*where).order_by(Task.id))).scalars())

    async def count(self, model: type[Any], *where: Any) -> int:
        async with self.sessions() as db:
            stmt = select(func.count()).select_from(model).where(*where)
            return int((await db.execute(stmt)).scalar_one())

    async def get(self, model: type[Any], id_: int) -> Any:
        async with self.sessions() as db:
            return await db.get_one(model, id_)

    def chat(self, user: str, text: str, *, card: str | None = None) -> Event:
        action = CardAction(key=text, card_id=card, response_code="rc-1") if card else None
        return Event(
            platform=Platform.SHELL,
            message_id=uuid.uuid4().hex,
            sender=user,
            received_at=self.clock.now(),
            kind=EventKind.CARD_ACTION if card else EventKind.TEXT,
            text=text,
            action=action,
        )

    async def send(self, event: Event) -> list[Outgoing]:
        async with self.sessions() as db, db.begin():
            return await dispatch(event, db, self.ctx)

    async def talk(self, user: str, text: str) -> str:
        """What `user` reads back for `text` (pushes to others left out)."""
        out = await self.send(self.chat(user, text))
        return "\n".join(message_as_text(m) for m in out if not isinstance(m, Push))


@pytest.fixture
async def world(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, rules: Rules
) -> World:
    """华东一组 (陈静: 王磊、李娜), 华南一组 (周敏: 张伟), director 赵强; no customers yet."""
    now = clock.now()
    users: dict[str, int] = {}
    teams: dict[str, int] = {}
    async with sessions() as db, db.begin():
        for name in ("华东一组", "华南一组"):
            team = Team(name=name, created_at=now - timedelta(days=90))
            db.add(team)
            await db.flush()
            teams[name] = team.id
        for name, role, team_name, manager, active in PEOPLE:
            user = User(
                name=name,
                role=role,
                team_id=teams[team_name] if team_name else None,
                manager_id=users[manager] if manager else None,
                active=active,
                created_at=now - timedelta(days=90),
            )
            db.add(user)
            await db.flush()
            users[name] = user.id
    ctx = Context(clock=clock, rules=rules, tz=SHANGHAI)
    return World(sessions, ctx, clock, users, teams)


def lines(result: JobResult) -> list[str]:
    return [r.line() for r in result.raised]
