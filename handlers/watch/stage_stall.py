"""Stage stalls, set-based: one SQL pass finds customers past their threshold and not yet told.

Thresholds become clock-start cutoffs per stage (handlers/stall_clock.py), so the database
compares timestamps instead of counting days.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, exists, literal, or_, select
from sqlalchemy import func as sql_func
from sqlalchemy.ext.asyncio import AsyncSession

from config.rules import Rules, Stage
from handlers import wording
from handlers.alerting import alerts
from handlers.alerting.findings import Finding, Level, Rule, Subject
from handlers.context import Context
from handlers.stall_clock import (
    WorkdayCounter,
    clock_start_sql,
    crossing,
    elapsed,
    start_cutoff,
)
from storage.base import UTCDateTime
from storage.models import Alert, Customer, Followup

NOTE_CHARS = 30


def stalling_stages(rules: Rules) -> list[Stage]:
    return [s for s in rules.stages if s.stall_days is not None and not s.terminal]


def _extra_days(rules: Rules, level: Level) -> int:
    grace = rules.escalation
    return {
        Level.YELLOW: 0,
        Level.RED: grace.grace_days,
        Level.DIRECTOR: grace.grace_days + grace.director_grace_days,
    }[level]


def _cutoff(stages: list[Stage], rules: Rules, ctx: Context, now: datetime, level: Level) -> Any:
    whens = [
        (
            Customer.stage == stage.name,
            literal(
                start_cutoff(
                    now,
                    (stage.stall_days or 0) + _extra_days(rules, level),
                    business=stage.business_days,
                    tz=ctx.tz,
                ),
                UTCDateTime(),
            ),
        )
        for stage in stages
    ]
    return case(*whens)


def candidates_stmt(db: AsyncSession, ctx: Context, *, now: datetime) -> Select[Any]:
    """Stalled customers with no alert yet at the level their clock has reached."""
    stages = stalling_stages(ctx.rules)
    start = clock_start_sql(db)
    level = case(
        (
            start < _cutoff(stages, ctx.rules, ctx, now, Level.DIRECTOR),
            literal(Level.DIRECTOR.value),
        ),
        (start < _cutoff(stages, ctx.rules, ctx, now, Level.RED), literal(Level.RED.value)),
        else_=literal(Level.YELLOW.value),
    )
    told = exists().where(
        Alert.subject_type == Subject.CUSTOMER,
        Alert.subject_id == Customer.id,
        Alert.rule == Rule.STAGE_STALL,
        Alert.level == level,
        Alert.period_at == start,
    )
    last_note = (
        select(Followup.created_at, Followup.summary, Followup.raw_text)
        .where(Followup.customer_id == Customer.id)
        .order_by(Followup.created_at.desc())
        .limit(1)
    )
    return (
        select(
            Customer.id,
            Customer.name,
            Customer.stage,
            Customer.owner_id,
            Customer.stage_entered_at,
            Customer.last_evidence_at,
            Customer.next_step_due_at,
            start.label("clock_start"),
            level.label("level"),
            last_note.with_only_columns(Followup.created_at).scalar_subquery().label("note_at"),
            last_note.with_only_columns(
                sql_func.coalesce(sql_func.nullif(Followup.summary, ""), Followup.raw_text)
            )
            .scalar_subquery()
            .label("note"),
        )
        .where(
            Customer.stage.in_([s.name for s in stages]),
            or_(Customer.next_step_due_at.is_(None), Customer.next_step_due_at <= now),
            start < _cutoff(stages, ctx.rules, ctx, now, Level.YELLOW),
            ~told,
        )
        .order_by(Customer.id)
    )


async def find_stalls(
    db: AsyncSession, ctx: Context, *, now: datetime, counter: WorkdayCounter
) -> list[Finding]:
    rows = (await db.execute(candidates_stmt(db, ctx, now=now))).all()
    stages = {s.name: s for s in stalling_stages(ctx.rules)}
    return [_finding(row, stages[row.stage], ctx, now=now, counter=counter) for row in rows]


def _finding(
    row: Any, stage: Stage, ctx: Context, *, now: datetime, counter: WorkdayCounter
) -> Finding:
    start: datetime = row.clock_start
    threshold = stage.stall_days or 0
    due: dict[Level, datetime] = {}
    for level in (Level.YELLOW, Level.RED, Level.DIRECTOR):
        at = crossing(
            start,
            threshold + _extra_days(ctx.rules, level),
            business=stage.business_days,
            tz=ctx.tz,
        )
        if at <= now:
            due[level] = at
    days = elapsed(start, now, business=stage.business_days, tz=ctx.tz, counter=counter)
    per = wording.unit(stage.business_days)
    since = ""
    if row.next_step_due_at is not None and row.next_step_due_at == start:
        since = f"计划的下一步 {wording.day(start, ctx.tz)} 到期后，"
    clock = f"在「{stage.name}」{since}已经 {days} {per}没有新进展（要求 {threshold} {per}内推进）"
    return Finding(
        rule=Rule.STAGE_STALL,
        subject_type=Subject.CUSTOMER,
        subject_id=row.id,
        period=start,
        customer_id=row.id,
        customer_name=row.name,
        owner_id=row.owner_id,
        due=due,
        title=row.name,
        clock=clock,
        evidence=evidence_line(row, ctx),
        remedy=f"跟进 {row.name} …",
        laddered=True,
    )


def evidence_line(row: Any, ctx: Context) -> str:
    """The last thing that happened: a follow-up (quoted), entering the stage, another record."""
    at = row.last_evidence_at
    if at is None:
        return f"{wording.day(row.stage_entered_at, ctx.tz)}进入「{row.stage}」以来还没有跟进"
    when = wording.day(at, ctx.tz)
    if row.note_at is not None and row.note_at == at:
        return f"上次跟进：{when}{wording.quote(row.note or '', NOTE_CHARS)}"
    if at == row.stage_entered_at:
        return f"{when}进入「{row.stage}」以来还没有跟进"
    return f"上次进展：{when}（完成任务、兑现承诺或签约回款）"


async def resolve_stalls(db: AsyncSession, ctx: Context, *, now: datetime) -> list[int]:
    """Evidence, a stage move or a dated next step after the warning: its cause is gone."""
    names = [s.name for s in stalling_stages(ctx.rules)]
    gone = exists().where(
        Customer.id == Alert.subject_id,
        or_(
            clock_start_sql(db) > Alert.period_at,
            Customer.stage.not_in(names),
            Customer.next_step_due_at > now,
        ),
    )
    condition = and_(Alert.rule == Rule.STAGE_STALL, Alert.subject_type == Subject.CUSTOMER, gone)
    return await alerts.resolve_where(db, condition, now=now)
