"""The stall clock, in one place: when it started (in Python and as SQL), how long it has run,
when it crosses a threshold, and the red/yellow/green light a customer shows in 我的."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement
from sqlalchemy import func as sql_func
from sqlalchemy.ext.asyncio import AsyncSession

from config.rules import Rules
from handlers.timefmt import local_midnight
from handlers.workdays import add_workdays, clears_on_change, is_workday, workdays_between
from storage.models import Customer
from storage.upsert import greatest

ONE_US = timedelta(microseconds=1)
GROW_BACK = timedelta(days=366)


class Light(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


LIGHT_ICON = {Light.GREEN: "🟢", Light.YELLOW: "🟡", Light.RED: "🔴"}


@dataclass(frozen=True, slots=True)
class StallState:
    light: Light
    elapsed_days: int  # days the clock has run (business days where the stage says so)
    threshold_days: int | None
    business_days: bool
    clock_started_at: datetime
    suspended_until: datetime | None  # a dated next step the rep logged

    def explain(self, stage: str) -> str:
        if self.threshold_days is None:
            return f"在「{stage}」，不计时"
        unit = "个工作日" if self.business_days else "天"
        if self.suspended_until is not None:
            return f"在「{stage}」，约好了下一步，暂不计时"
        quiet = (
            f"{self.elapsed_days} {unit}没有新进展" if self.elapsed_days else "不到 1 天前有进展"
        )
        return f"在「{stage}」{quiet}（要求 {self.threshold_days} {unit}内推进）"


def stall_clock_start(customer: Customer) -> datetime:
    """Evidence restarts the clock; a next step that came due undone re-arms it from then."""
    start = customer.stage_entered_at
    if customer.last_evidence_at is not None and customer.last_evidence_at > start:
        start = customer.last_evidence_at
    if customer.next_step_due_at is not None and customer.next_step_due_at > start:
        start = customer.next_step_due_at
    return start


def clock_start_sql(db: AsyncSession) -> ColumnElement[datetime]:
    """stall_clock_start as SQL, for the set-based scan."""
    entered = Customer.stage_entered_at
    return greatest(
        db,
        entered,
        sql_func.coalesce(Customer.last_evidence_at, entered),
        sql_func.coalesce(Customer.next_step_due_at, entered),
    )


def stall_state(customer: Customer, rules: Rules, *, now: datetime, tz: ZoneInfo) -> StallState:
    stage = rules.stage(customer.stage) if customer.stage in rules.stage_names else None
    start = stall_clock_start(customer)
    due = customer.next_step_due_at
    suspended = due if due is not None and due > now else None
    if stage is None or stage.stall_days is None or stage.terminal:
        return StallState(Light.GREEN, 0, None, False, start, None)
    if suspended is not None:
        return StallState(Light.GREEN, 0, stage.stall_days, stage.business_days, start, suspended)
    elapsed = elapsed_days(start, now, tz=tz, business=stage.business_days)
    light = Light.GREEN
    if elapsed > stage.stall_days + rules.escalation.grace_days:
        light = Light.RED
    elif elapsed > stage.stall_days:
        light = Light.YELLOW
    return StallState(light, elapsed, stage.stall_days, stage.business_days, start, None)


def elapsed_days(start: datetime, now: datetime, *, tz: ZoneInfo, business: bool) -> int:
    """Whole days from start to now in the company's timezone (working days when asked)."""
    if now <= start:
        return 0
    if business:
        return workdays_between(start.astimezone(tz).date(), now.astimezone(tz).date())
    return (now - start).days


@functools.lru_cache(maxsize=4096)
def _nth_workday_after(day: date, n: int) -> date:
    return add_workdays(day, n)


clears_on_change(_nth_workday_after.cache_clear)  # the rules file's holidays may change


def crossing(start: datetime, days: int, *, business: bool, tz: ZoneInfo) -> datetime:
    """The moment a clock started at `start` has run more than `days` (business) days."""
    if not business:
        return start + timedelta(days=days + 1)
    return local_midnight(_nth_workday_after(start.astimezone(tz).date(), days + 1), tz)


def start_cutoff(now: datetime, days: int, *, business: bool, tz: ZoneInfo) -> datetime:
    """Clocks started before this (exclusive) have run more than `days` days by `now`.

    The set-based scans compare a clock start with this bound instead of computing
    elapsed days per row; `elapsed_days` agrees with it (tested).
    """
    if not business:
        return now - timedelta(days=days + 1) + ONE_US
    day, counted = now.astimezone(tz).date(), 0
    while counted < days + 1:  # walk back until (day, today] holds days + 1 workdays
        if is_workday(day):
            counted += 1
        day -= timedelta(days=1)
    return local_midnight(day + timedelta(days=1), tz)


class WorkdayCounter:
    """workdays_between() for many rows: a prefix sum over the dates seen, built once per scan."""

    def __init__(self) -> None:
        self._base = date.max
        self._cumulative: list[int] = []  # workdays in [base, base + i]

    def between(self, start: date, end: date) -> int:
        """Workdays in (start, end], like handlers.workdays.workdays_between."""
        if end < start:
            return -self.between(end, start)
        self._cover(start, end)
        return self._count_to(end) - self._count_to(start)

    def _count_to(self, day: date) -> int:
        return self._cumulative[(day - self._base).days]

    def _cover(self, first: date, last: date) -> None:
        top = self._base + timedelta(days=len(self._cumulative) - 1) if self._cumulative else None
        if self._cumulative and first >= self._base and top is not None and last <= top:
            return
        # Grow in big steps: rows arrive in any date order, and each rebuild walks the range.
        lo = min(first, self._base - GROW_BACK) if self._cumulative else first - GROW_BACK
        hi = max(last, top) if top is not None else last
        self._base, self._cumulative, running = lo, [], 0
        for offset in range((hi - lo).days + 1):
            running += is_workday(lo + timedelta(days=offset))
            self._cumulative.append(running)


def elapsed(
    start: datetime, now: datetime, *, business: bool, tz: ZoneInfo, counter: WorkdayCounter
) -> int:
    """Whole (business) days from start to now: elapsed_days, fast for many rows."""
    if now <= start:
        return 0
    if business:
        return counter.between(start.astimezone(tz).date(), now.astimezone(tz).date())
    return (now - start).days
