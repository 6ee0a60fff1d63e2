"""Escalation timing: the last-chance morning, the late window, which levels are due now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from config.rules import Rules
from handlers.alerting.findings import LADDER, Finding, Level
from storage.models import AlertStatus


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
