"""A customer's stall clock: red/yellow/green from days without evidence in the same stage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from config.rules import Rules
from handlers.workdays import workdays_between
from storage.models import Customer


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
