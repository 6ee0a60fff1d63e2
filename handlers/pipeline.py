"""A team's pipeline in figures: customers and amounts per stage and rep, lights, overdue
commitments, won and lost this week. Counted per customer (never per warning row); shared by
团队 and the daily digest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from config.rules import Rules
from handlers.stall_clock import Light, StallState, stall_state
from storage.models import (
    Commitment,
    CommitmentStatus,
    Customer,
    Followup,
    Role,
    StageChange,
    Team,
    User,
)

WORST_SHOWN = 5
_ORDER = {Light.RED: 0, Light.YELLOW: 1, Light.GREEN: 2}


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    name: str


@dataclass
class StageFigure:
    customers: int = 0
    amount: Decimal = Decimal(0)


@dataclass
class RepFigures:
    member: Member
    stages: dict[str, StageFigure] = field(default_factory=dict)
    red: int = 0
    yellow: int = 0
    overdue: int = 0  # open commitments past their due time

    @property
    def customers(self) -> int:
        return sum(f.customers for f in self.stages.values())


@dataclass(frozen=True, slots=True)
class Worst:
    name: str
    owner: str
    stage: str
    state: StallState


@dataclass
class Pipeline:
    stage_names: tuple[str, ...]
    reps: list[RepFigures]
    stages: dict[str, StageFigure]  # the whole team
    worst: list[Worst]
    won_week: StageFigure
    lost_week: StageFigure

    @property
    def red(self) -> int:
        return sum(r.red for r in self.reps)

    @property
    def yellow(self) -> int:
        return sum(r.yellow for r in self.reps)

    @property
    def overdue(self) -> int:
        return sum(r.overdue for r in self.reps)


async def team_reps(db: AsyncSession, team: Team) -> list[Member]:
    """The active reps of a team: managers and directors are not plotted as reps."""
    stmt = (
        select(User.id, User.name)
        .where(User.team_id == team.id, User.active.is_(True), User.role == Role.REP)
        .order_by(User.id)
    )
    return [Member(i, n) for i, n in (await db.execute(stmt)).all()]


async def customer_amounts(db: AsyncSession, customer_ids: Sequence[int]) -> dict[int, Decimal]:
    """Each customer's deal size: the amount named in its latest follow-up that named one."""
    if not customer_ids:
        return {}
    latest = (
        select(Followup.customer_id, func.max(Followup.id).label("fid"))
        .where(Followup.customer_id.in_(customer_ids), Followup.amount_yuan.is_not(None))
        .group_by(Followup.customer_id)
        .subquery()
    )
    stmt = select(Followup.customer_id, Followup.amount_yuan).join(
        latest, latest.c.fid == Followup.id
    )
    return {cid: Decimal(a) for cid, a in (await db.execute(stmt)).all() if a is not None}


def week_start(now: datetime, tz: ZoneInfo) -> datetime:
    """Monday 00:00 of this week, in the company's timezone, as UTC."""
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    return datetime.combine(monday, time(0), tzinfo=tz).astimezone(UTC)


async def build_pipeline(
    db: AsyncSession, rules: Rules, reps: Sequence[Member], *, now: datetime, tz: ZoneInfo
) -> Pipeline:
    ids = [m.id for m in reps]
    customers = (
        (await db.execute(select(Customer).where(Customer.owner_id.in_(ids)).order_by(Customer.id)))
        .scalars()
        .all()
    )
    amounts = await customer_amounts(db, [c.id for c in customers])
    by_id = {m.id: RepFigures(m, {s: StageFigure() for s in rules.stage_names}) for m in reps}
    team_stages = {s: StageFigure() for s in rules.stage_names}
    ranked: list[Worst] = []
    for c in customers:
        rep = by_id[c.owner_id or 0]
        state = stall_state(c, rules, now=now, tz=tz)
        for figures in (rep.stages, team_stages):
            cell = figures.setdefault(c.stage, StageFigure())
            cell.customers += 1
            cell.amount += amounts.get(c.id, Decimal(0))
        if state.light == Light.RED:
            rep.red += 1
        elif state.light == Light.YELLOW:
            rep.yellow += 1
        if state.light != Light.GREEN:
            ranked.append(Worst(c.name, rep.member.name, c.stage, state))
    overdue = await db.execute(
        select(Commitment.owner_id, func.count())
        .where(
            Commitment.owner_id.in_(ids),
            Commitment.status == CommitmentStatus.OPEN,
            Commitment.due_at < now,
        )
        .group_by(Commitment.owner_id)
    )
    for owner_id, count in overdue.all():
        by_id[owner_id].overdue = int(count)
    ranked.sort(key=lambda w: (_ORDER[w.state.light], -w.state.elapsed_days, w.name))
    since = week_start(now, tz)
    won = [s.name for s in rules.stages if s.terminal and s.name != rules.lost_stage]
    return Pipeline(
        stage_names=rules.stage_names,
        reps=list(by_id.values()),
        stages=team_stages,
        worst=ranked[:WORST_SHOWN],
        won_week=await _moved_into(db, ids, won, since=since, now=now),
        lost_week=await _moved_into(db, ids, [rules.lost_stage], since=since, now=now),
    )


async def _moved_into(
    db: AsyncSession, owner_ids: list[int], stages: list[str], *, since: datetime, now: datetime
) -> StageFigure:
    """Customers (each once) that moved into one of `stages` since `since` and are still there."""
    stmt = (
        select(Customer.id)
        .join(StageChange, StageChange.customer_id == Customer.id)
        .where(
            Customer.owner_id.in_(owner_ids),
            Customer.stage.in_(stages),
            StageChange.to_stage.in_(stages),
            StageChange.at >= since,
            StageChange.at <= now,
        )
        .distinct()
    )
    ids = list((await db.execute(stmt)).scalars())
    amounts = await customer_amounts(db, ids)
    return StageFigure(len(ids), sum(amounts.values(), Decimal(0)))


def money(amount: Decimal) -> str:
    """12.5万 / 8000元 / 0."""
    if amount == 0:
        return "0"
    if amount >= 10000:
        return f"{amount / 10000:.1f}".rstrip("0").rstrip(".") + "万"
    return f"{amount:.0f}元"


def week_line(p: Pipeline) -> str:
    """本周成交 2 个（38万），丢单 1 个: the amount only where there is one."""

    def part(label: str, f: StageFigure) -> str:
        return f"{label} {f.customers} 个" + (f"（{money(f.amount)}）" if f.amount else "")

    return f"{part('本周成交', p.won_week)}，{part('丢单', p.lost_week)}"


def day_label(d: date) -> str:
    return f"{d.month}月{d.day}日"
