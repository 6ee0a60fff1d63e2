"""销售 page: one rep's customers by stage and light, open commitments and tasks, weekly trend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from config.rules import Rules
from handlers.board.lights import LitCustomer, lights
from handlers.board.periods import weeks_back
from handlers.board.registry import CommitmentFilter, CommitmentRow, commitments
from handlers.board.reps import RepRow, rep_rows
from handlers.board.scope import Scope
from storage.models import Customer, Task, TaskStatus, User

TREND_WEEKS = 8


@dataclass(frozen=True, slots=True)
class StageCount:
    stage: str
    total: int
    red: int
    yellow: int


@dataclass(frozen=True, slots=True)
class OpenTask:
    id: int
    title: str
    customer_id: int
    customer: str
    status: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class WeekFigures:
    week_start: datetime
    row: RepRow | None


@dataclass(frozen=True, slots=True)
class RepPage:
    id: int
    name: str
    stages: list[StageCount]
    lit: list[LitCustomer]
    open_commitments: list[CommitmentRow]
    open_tasks: list[OpenTask]
    trend: list[WeekFigures]


async def rep_page(
    db: AsyncSession, scope: Scope, rep: User, rules: Rules, *, now: datetime, tz: ZoneInfo
) -> RepPage:
    """`scope` is already narrowed to this rep."""
    lit = await lights(db, scope, rules, now=now, tz=tz, limit=60)
    stages = [StageCount(s.stage, s.total, s.red, s.yellow) for s in lit.by_stage]
    _total, open_rows = await commitments(
        db, scope, state=CommitmentFilter.OPEN, now=now, page_size=200
    )
    tasks_stmt = (
        select(Task.id, Task.title, Task.customer_id, Customer.name, Task.status, Task.due_at)
        .join(Customer, Customer.id == Task.customer_id)
        .where(
            Task.assignee_id == rep.id,
            Task.status.in_([TaskStatus.PUSHED, TaskStatus.ACCEPTED, TaskStatus.PLANNED]),
            scope.customers(),
        )
        .order_by(Task.due_at)
        .limit(200)
    )
    tasks = [OpenTask(*row) for row in (await db.execute(tasks_stmt)).all()]
    trend = []
    for week in weeks_back(TREND_WEEKS, now=now, tz=tz):
        rows = await rep_rows(db, scope, week, now=now)
        trend.append(WeekFigures(week.start, rows[0] if rows else None))
    return RepPage(rep.id, rep.name, stages, lit.rows, open_rows, tasks, trend)
