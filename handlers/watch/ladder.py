"""Escalation timing: when a clock passes a threshold, the last-chance morning, what is due now."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from config.rules import Rules
from handlers.watch.findings import LADDER, Finding, Level
from handlers.workdays import add_workdays, clears_on_change, is_workday
from storage.models import AlertStatus

ONE_US = timedelta(microseconds=1)
GROW_BACK = timedelta(days=366)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


@functools.lru_cache(maxsize=4096)
def _nth_workday_after(day: date, n: int) -> date:
    return add_workdays(day, n)


clears_on_change(_nth_workday_after.cache_clear)


def crossing(start: datetime, days: int, *, business: bool, tz: ZoneInfo) -> datetime:
    """The moment a clock started at `start` has run more than `days` (business) days."""
    if not business:
        return start + timedelta(days=days + 1)
    return local_midnight(_nth_workday_after(start.astimezone(tz).date(), days + 1), tz)


def start_cutoff(now: datetime, days: int, *, business: bool, tz: ZoneInfo) -> datetime:
    """Clocks started before this (exclusive) have run more than `days` days by `now`.

    The set-based scans compare a clock start with this bound instead of computing
    elapsed days per row; `handlers.stall.elapsed_days` agrees with it (tested).
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
    """Whole (business) days from start to now: handlers.stall.elapsed_days, fast."""
    if now <= start:
        return 0
    if business:
        return counter.between(start.astimezone(tz).date(), now.astimezone(tz).date())
    return (now - start).days


def escalation_time(last_chance_at: datetime, rules: Rules, tz: ZoneInfo) -> datetime:
    """The morning after the last-chance notice ("明早 9:00 将上报主管")."""
    day = last_chance_at.astimezone(tz).date() + timedelta(days=1)
    at = datetime.combine(day, rules.escalation.last_chance_hour, tzinfo=tz)
    return at.astimezone(UTC)


def late_window(rules: Rules) -> timedelta:
    """Raised this long after it was due means a scan was missed: the warning says 补发."""
    return timedelta(minutes=2 * rules.watch_every_minutes)


@dataclass(frozen=True, slots=True)
class AlertState:
    """An alert already raised for the finding's subject in the same episode."""

    id: int
    level: str
    status: str
    created_at: datetime
    snoozed_until: datetime | None


@dataclass(frozen=True, slots=True)
class Step:
    level: Level
    scheduled_at: datetime  # when it was due; late if raised well after this


def plan(
    finding: Finding, existing: list[AlertState], *, now: datetime, rules: Rules, tz: ZoneInfo
) -> list[Step]:
    """The levels to raise now, lowest first; a snoozed warning holds the rest of its ladder."""
    if any(
        a.status == AlertStatus.SNOOZED and a.snoozed_until is not None and a.snoozed_until > now
        for a in existing
    ):
        return []
    have = {a.level: a.created_at for a in existing}
    # A snooze held the ladder on purpose: what it held is due from its end, not late.
    held = max((a.snoozed_until for a in existing if a.snoozed_until is not None), default=None)
    order = LADDER if finding.laddered else tuple(finding.due)
    steps: list[Step] = []
    for level in order:
        due = finding.due.get(Level.RED if level == Level.LAST_CHANCE else level)
        if due is None or due > now:
            break
        if level in have:
            continue
        if level == Level.RED and finding.laddered:
            notice_at = have.get(Level.LAST_CHANCE) or now
            due = max(due, escalation_time(notice_at, rules, tz))
            if due > now:
                break
        steps.append(Step(level, max(due, held) if held is not None else due))
        have[level] = now
    return steps
