"""红黄绿灯: customers past their stage's stall threshold, with the reason in plain words.

The light is the chat's (`handlers.stall`: the same clock, thresholds and grace as `我的`); SQL
first narrows 100k customers to those whose clock started longer ago than the threshold.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from config.rules import Rules
from handlers.board.scope import Scope
from handlers.stall import Light, StallState, stall_clock_start
from handlers.workdays import workdays_between
from storage.models import Customer, User

SHOWN = 60  # rows on the board; the counts cover them all


@dataclass(frozen=True, slots=True)
class LitCustomer:
    customer_id: int
    name: str
    owner: str
    stage: str
    light: Light
    days: int  # days the stall clock has run
    over_days: int  # of which past the threshold
    reason: str
    since: datetime  # the clock's start


@dataclass(frozen=True, slots=True)
class Lights:
    red: int
    yellow: int
    green: int
    rows: list[LitCustomer]  # red first, longest first, at most SHOWN


async def lights(
    db: AsyncSession, scope: Scope, rules: Rules, *, now: datetime, tz: ZoneInfo, limit: int = SHOWN
) -> Lights:
    total = await _count(db, scope)
    lit = await lit_customers(db, scope, rules, now=now, tz=tz)
    red = sum(1 for c in lit if c.light == Light.RED)
    yellow = len(lit) - red
    return Lights(red=red, yellow=yellow, green=total - len(lit), rows=lit[:limit])


async def lit_customers(
    db: AsyncSession, scope: Scope, rules: Rules, *, now: datetime, tz: ZoneInfo
) -> list[LitCustomer]:
    """Every red and yellow customer in scope, red first, the longest stalled first."""
    stalls = {s.name: s for s in rules.stages if s.stall_days is not None and not s.terminal}
    if not stalls:
        return []
    candidates: list[ColumnElement[bool]] = []
    for name, stage in stalls.items():
        cut = now - timedelta(days=stage.stall_days or 0)  # business days are never fewer
        candidates.append(
            and_(
                Customer.stage == name,
                Customer.stage_entered_at < cut,
                or_(Customer.last_evidence_at.is_(None), Customer.last_evidence_at < cut),
                or_(Customer.next_step_due_at.is_(None), Customer.next_step_due_at < cut),
            )
        )
    stmt = (
        select(
            Customer.id,
            Customer.name,
            Customer.stage,
            Customer.stage_entered_at,
            Customer.last_evidence_at,
            Customer.next_step_due_at,
            User.name,
        )
        .outerjoin(User, User.id == Customer.owner_id)
        .where(or_(*candidates), scope.customers())
    )
    today = now.astimezone(tz).date()
    grace = rules.escalation.grace_days
    out: list[LitCustomer] = []
    for row in (await db.execute(stmt)).all():
        customer_id, name, stage_name, entered_at, evidence_at, step_due_at, owner = row
        stage = stalls[stage_name]
        start = stall_clock_start(
            Customer(
                stage_entered_at=entered_at,
                last_evidence_at=evidence_at,
                next_step_due_at=step_due_at,
            )
        )
        if stage.business_days:
            elapsed = _workdays(start.astimezone(tz).date(), today) if now > start else 0
        else:
            elapsed = (now - start).days if now > start else 0
        threshold = stage.stall_days or 0
        if elapsed <= threshold:
            continue
        light = Light.RED if elapsed > threshold + grace else Light.YELLOW
        state = StallState(light, elapsed, threshold, stage.business_days, start, None)
        out.append(
            LitCustomer(
                customer_id=customer_id,
                name=name,
                owner=owner or "",
                stage=stage_name,
                light=light,
                days=elapsed,
                over_days=elapsed - threshold,
                reason=_plain_reason(state, stage_name),
                since=start,
            )
        )
    out.sort(key=lambda c: (c.light != Light.RED, -c.over_days, c.customer_id))
    return out


def _plain_reason(state: StallState, stage: str) -> str:
    unit = "个工作日" if state.business_days else "天"
    return (
        f"在「{stage}」阶段 {state.elapsed_days} {unit}没有新进展"
        f"（超过 {state.threshold_days} {unit}就该推进）"
    )


@functools.lru_cache(maxsize=4096)
def _workdays(start: date, end: date) -> int:
    return workdays_between(start, end)


async def _count(db: AsyncSession, scope: Scope) -> int:
    stmt = select(func.count()).select_from(Customer).where(scope.customers())
    return int((await db.execute(stmt)).scalar_one())
