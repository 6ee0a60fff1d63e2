"""红黄绿灯: customers past their stage's stall threshold, with the reason in plain words.

The light is the chat's (`handlers.stall_clock`: the same clock start, thresholds, grace and
business days as `我的`), turned into one cut-off time per stage and light (`start_cutoff`) so
that SQL counts 100k customers without loading them: "elapsed > N days" is "started before X".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, false, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from config.rules import Rules
from handlers.board.scope import Scope
from handlers.stall_clock import Light, clock_start_sql, elapsed_days, start_cutoff
from storage.base import UTCDateTime
from storage.models import Customer, User

SHOWN = 60  # rows on the board; the counts cover them all


@dataclass(frozen=True, slots=True)
class LitCustomer:
    customer_id: int
    name: str
    owner: str
    stage: str
    light: Light
    days: int  # days the stall clock has run (working days where the stage says so)
    over_days: int  # of which past the threshold
    reason: str
    since: datetime  # the clock's start


@dataclass(frozen=True, slots=True)
class StageLights:
    stage: str
    total: int
    red: int
    yellow: int


@dataclass(frozen=True, slots=True)
class Lights:
    red: int
    yellow: int
    green: int
    rows: list[LitCustomer]  # red first, longest first, at most SHOWN
    by_stage: list[StageLights]
    by_owner: dict[int, StageLights]  # per rep: every stage together (stage "")


@dataclass(frozen=True, slots=True)
class _Cut:
    stage: str
    threshold: int
    business: bool
    yellow_before: datetime  # a clock that started before this is at least yellow
    red_before: datetime


def _cuts(rules: Rules, *, now: datetime, tz: ZoneInfo) -> list[_Cut]:
    grace = rules.escalation.grace_days
    out = []
    for stage in rules.stages:
        if stage.stall_days is None or stage.terminal:
            continue
        days, business = stage.stall_days, stage.business_days
        yellow = start_cutoff(now, days, business=business, tz=tz)
        red = start_cutoff(now, days + grace, business=business, tz=tz)
        out.append(_Cut(stage.name, days, business, yellow, red))
    return out


def _conditions(
    db: AsyncSession, cuts: list[_Cut]
) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """(red, red or yellow) as one CASE per light on the stage, so each row is compared once."""
    if not cuts:
        return false(), false()
    start = clock_start_sql(db)
    red_before = case({c.stage: _utc(c.red_before) for c in cuts}, value=Customer.stage)
    lit_before = case({c.stage: _utc(c.yellow_before) for c in cuts}, value=Customer.stage)
    return start < red_before, start < lit_before


def _utc(value: datetime) -> Any:
    return literal(value, UTCDateTime())


async def lights(
    db: AsyncSession, scope: Scope, rules: Rules, *, now: datetime, tz: ZoneInfo, limit: int = SHOWN
) -> Lights:
    cuts = _cuts(rules, now=now, tz=tz)
    is_red, is_lit = _conditions(db, cuts)
    one = 1
    stmt = (
        select(
            Customer.owner_id,
            Customer.stage,
            func.count(),
            func.coalesce(func.sum(case((is_red, one), else_=0)), 0),
            func.coalesce(func.sum(case((is_lit, one), else_=0)), 0),
        )
        .where(scope.customers())
        .group_by(Customer.owner_id, Customer.stage)
    )
    counts: dict[str, tuple[int, int, int]] = {}
    owners: dict[int, tuple[int, int, int]] = {}
    for owner, stage, n, r, lit in await _all(db, stmt):
        old = counts.get(stage, (0, 0, 0))
        counts[stage] = (old[0] + int(n), old[1] + int(r), old[2] + int(lit))
        if owner is not None:
            mine = owners.get(owner, (0, 0, 0))
            owners[owner] = (mine[0] + int(n), mine[1] + int(r), mine[2] + int(lit))
    by_owner = {o: StageLights("", n, r, lit - r) for o, (n, r, lit) in owners.items()}
    by_stage = [
        StageLights(
            name,
            counts.get(name, (0, 0, 0))[0],
            counts.get(name, (0, 0, 0))[1],
            counts.get(name, (0, 0, 0))[2] - counts.get(name, (0, 0, 0))[1],
        )
        for name in rules.stage_names
    ]
    red = sum(s.red for s in by_stage)
    yellow = sum(s.yellow for s in by_stage)
    total = sum(s.total for s in by_stage)
    rows = await lit_customers(db, scope, rules, now=now, tz=tz, limit=limit, cuts=cuts)
    return Lights(
        red=red,
        yellow=yellow,
        green=total - red - yellow,
        rows=rows,
        by_stage=by_stage,
        by_owner=by_owner,
    )


async def lit_customers(
    db: AsyncSession,
    scope: Scope,
    rules: Rules,
    *,
    now: datetime,
    tz: ZoneInfo,
    limit: int | None = None,
    cuts: list[_Cut] | None = None,
) -> list[LitCustomer]:
    """Red and yellow customers in scope, red first, the longest stalled first."""
    cuts = cuts if cuts is not None else _cuts(rules, now=now, tz=tz)
    by_stage = {c.stage: c for c in cuts}
    is_red, is_lit = _conditions(db, cuts)
    start = clock_start_sql(db)
    stmt = (
        select(
            Customer.id, Customer.name, Customer.stage, start, User.name, case((is_red, 1), else_=0)
        )
        .outerjoin(User, User.id == Customer.owner_id)
        .where(is_lit, scope.customers())
        .order_by(case((is_red, 0), else_=1), start, Customer.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    out = []
    for customer_id, name, stage, since, owner, red in await _all(db, stmt):
        cut = by_stage[stage]
        since = _aware(since)
        days = elapsed_days(since, now, tz=tz, business=cut.business)
        out.append(
            LitCustomer(
                customer_id=customer_id,
                name=name,
                owner=owner or "",
                stage=stage,
                light=Light.RED if red else Light.YELLOW,
                days=days,
                over_days=days - cut.threshold,
                reason=_plain_reason(stage, days, cut),
                since=since,
            )
        )
    out.sort(key=lambda c: (c.light != Light.RED, -c.over_days, c.customer_id))
    return out


def _plain_reason(stage: str, days: int, cut: _Cut) -> str:
    unit = "个工作日" if cut.business else "天"
    return f"在「{stage}」阶段 {days} {unit}没有新进展（超过 {cut.threshold} {unit}就该推进）"


def _aware(value: datetime | str) -> datetime:
    # A CASE over UTC columns comes back as the dialect's raw value (SQLite: naive text).
    from datetime import UTC

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


async def _all(db: AsyncSession, stmt: Any) -> list[Any]:
    return list((await db.execute(stmt)).all())
