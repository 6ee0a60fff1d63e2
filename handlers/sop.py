"""SOP task cards: templates × deal events → tasks, idempotent; the sop job pushes, marks misses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from config.rules import Rules, SopTemplate, Trigger
from handlers import health
from handlers.alerting.findings import JobResult, Raised
from handlers.alerting.ladder import late_window
from handlers.alerting.messages import LATE_MATTERS
from handlers.alerting.raising import raise_findings, result_of
from handlers.alerting.recipients import Directory
from handlers.alerting.txn import dry_run_guard, isolated
from handlers.chat import Button, Card, Push, RecipientKind, Reply
from handlers.context import Context
from handlers.timefmt import format_local
from handlers.watch.low_health import find_low_health
from handlers.workdays import add_work_days_at, add_work_hours, shift_to_workday
from storage import audit
from storage.models import Customer, CustomerEvent, EventKind, Task, TaskStatus, User
from storage.upsert import insert_for

log = structlog.get_logger()

TRIGGERS = {
    EventKind.CONTRACT_SIGNED: (
        Trigger.CONTRACT_SIGNED,
        Trigger.CONTRACT_EXPIRY,
        Trigger.PAYMENT_TERM_END,
    ),
    EventKind.DELIVERY_DONE: (Trigger.DELIVERY_DONE,),
    EventKind.PAYMENT_RECEIVED: (Trigger.PAYMENT_RECEIVED,),
}
OPEN = (TaskStatus.PUSHED, TaskStatus.ACCEPTED)
MAX_TERM_DAYS = 365  # 签约 accepts payment terms up to a year


@dataclass(frozen=True, slots=True)
class PlannedTask:
    template: SopTemplate
    push_at: datetime
    accept_by: datetime
    due_at: datetime
    dedupe_key: str


def trigger_day(trigger: Trigger, event: CustomerEvent, tz: ZoneInfo) -> date | None:
    """The day a template's offset counts from: the event's, the expiry, the payment term's end."""
    occurred = event.occurred_at.astimezone(tz).date()
    if trigger == Trigger.CONTRACT_EXPIRY:
        return event.contract_expires_on
    if trigger == Trigger.PAYMENT_TERM_END:
        days = event.payment_term_days
        return occurred + timedelta(days=days) if days else None
    return occurred


def plan_tasks(rules: Rules, tz: ZoneInfo, event: CustomerEvent) -> list[PlannedTask]:
    """The tasks an event starts: push on (trigger day + offset) at sop_push_at, never before it."""
    planned = []
    for template in rules.sop_templates:
        if template.trigger not in TRIGGERS.get(EventKind(event.kind), ()):
            continue
        day = trigger_day(template.trigger, event, tz)
        if day is None:
            continue
        at = datetime.combine(day + timedelta(days=template.offset_days), rules.sop_push_at, tz)
        # Cards go out on workdays; their clocks run in business days like the stall clock.
        push_at = shift_to_workday(max(at.astimezone(UTC), event.occurred_at), tz)
        planned.append(
            PlannedTask(
                template=template,
                push_at=push_at,
                accept_by=add_work_hours(push_at, template.accept_sla_hours, tz),
                due_at=add_work_days_at(push_at, template.done_sla_days, tz),
                dedupe_key=f"sop:{template.key}:event:{event.id}",
            )
        )
    return planned


async def _insert(
    db: AsyncSession, ctx: Context, customer: Customer, event: CustomerEvent, *, now: datetime
) -> list[tuple[int, PlannedTask]]:
    """Insert the event's tasks; ones that exist (same template, same event) are left alone."""
    planned = [
        p
        for p in plan_tasks(ctx.rules, ctx.tz, event)
        if p.due_at + timedelta(days=ctx.rules.task_missed_after_days) > now
    ]
    if not planned:
        return []
    rows: list[dict[str, Any]] = [
        {
            "dedupe_key": p.dedupe_key,
            "template_key": p.template.key,
            "title": p.template.title,
            "checklist": list(p.template.checklist),
            "customer_id": customer.id,
            "assignee_id": customer.owner_id,
            "trigger_event_id": event.id,
            "push_at": p.push_at,
            "accept_by": p.accept_by,
            "due_at": p.due_at,
            "status": TaskStatus.PLANNED,
            "last_activity_at": now,
            "created_at": now,
        }
        for p in planned
    ]
    stmt = (
        insert_for(db, Task)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Task.dedupe_key, Task.id)
    )
    created = {row[0]: row[1] for row in (await db.execute(stmt)).all()}
    return [(created[p.dedupe_key], p) for p in planned if p.dedupe_key in created]


async def create_tasks_for(
    db: AsyncSession, ctx: Context, *, customer: Customer, event: CustomerEvent
) -> list[str]:
    """Create the SOP tasks an event starts; returns lines for the reply."""
    created = await _insert(db, ctx, customer, event, now=ctx.clock.now())
    return [
        f"已生成任务卡 #{id_}：{p.template.title}（{format_local(p.push_at, ctx.tz)} 推送）"
        for id_, p in created
    ]


def task_card(task: Task, customer_name: str, tz: ZoneInfo, *, late: bool = False) -> Card:
    """The card a rep accepts and completes: what, for whom, by when, the checklist."""
    lines = [
        f"客户：{customer_name}",
        f"请在 {format_local(task.accept_by, tz)} 前接受，{format_local(task.due_at, tz)} 前完成",
        *(f"□ {item}" for item in task.checklist),
        "完成时附凭证：一句说明（完成 编号 说明）或一张图片",
    ]
    if late:  # only when the delay matters: the card's own times are what the rep acts on
        lines.append(f"这张任务卡原定 {format_local(task.push_at, tz)} 发出。")
    return Card(
        card_id=f"task-{task.id}",
        title=f"任务卡 #{task.id}：{task.title}",
        lines=tuple(lines),
        buttons=(Button(f"accept {task.id}", "接受"), Button(f"done {task.id}", "完成", 2)),
    )


async def run_sop(
    db: AsyncSession, ctx: Context, *, now: datetime, dry_run: bool = False
) -> JobResult:
    """The sop job: create missing tasks, push the due ones as cards, mark the missed ones."""
    async with dry_run_guard(db, dry_run):
        directory = await Directory.load(db)
        result = JobResult()
        result.extend(await _catch_up(db, ctx, directory, now=now))
        result.extend(await _push_due(db, ctx, directory, now=now))
        missed, touched = await _mark_missed(db, ctx, directory, now=now)
        result.extend(missed)
        if touched:
            findings = await find_low_health(db, ctx, now=now, customer_ids=touched)
            raised, notices = await raise_findings(db, ctx, findings, directory=directory, now=now)
            result.extend(result_of(raised, notices))
        return result


async def _catch_up(
    db: AsyncSession, ctx: Context, directory: Directory, *, now: datetime
) -> JobResult:
    """Events whose tasks are missing (a template added later, a failed reply): create them now."""
    result = JobResult()
    for template in ctx.rules.sop_templates:
        kinds = [kind for kind, triggers in TRIGGERS.items() if template.trigger in triggers]
        has_task = exists().where(
            and_(Task.trigger_event_id == CustomerEvent.id, Task.template_key == template.key)
        )
        stmt = (
            select(CustomerEvent, Customer)
            .join(Customer, Customer.id == CustomerEvent.customer_id)
            .where(CustomerEvent.kind.in_(kinds), ~has_task, _still_useful(template, ctx, now))
            .order_by(CustomerEvent.id)
        )
        for event, customer in (await db.execute(stmt)).all():
            created: list[tuple[int, PlannedTask]] = []
            async with isolated(db, "sop_catch_up_failed", event_id=event.id):
                created = await _insert(db, ctx, customer, event, now=now)
            for id_, planned in created:
                owner = directory.active(customer.owner_id)
                result.raised.append(
                    Raised(
                        owner.name if owner else "（无负责人）",
                        f"sop:{planned.template.key}",
                        customer.name,
                        "planned",
                        ref=f"#{id_}",
                    )
                )
    return result


def _still_useful(template: SopTemplate, ctx: Context, now: datetime) -> ColumnElement[bool]:
    """Events whose task for `template` would not already be missed (keeps the sweep bounded)."""
    span = timedelta(
        days=template.offset_days + template.done_sla_days + ctx.rules.task_missed_after_days + 1
    )
    if template.trigger == Trigger.CONTRACT_EXPIRY:
        earliest = (now - span).astimezone(ctx.tz).date()
        return CustomerEvent.contract_expires_on >= earliest
    if template.trigger == Trigger.PAYMENT_TERM_END:
        return and_(
            CustomerEvent.payment_term_days.is_not(None),
            CustomerEvent.occurred_at >= now - span - timedelta(days=MAX_TERM_DAYS),
        )
    return CustomerEvent.occurred_at >= now - span


async def _push_due(
    db: AsyncSession, ctx: Context, directory: Directory, *, now: datetime
) -> JobResult:
    result = JobResult()
    stmt = (
        select(Task, Customer)
        .join(Customer, Customer.id == Task.customer_id)
        .where(Task.status == TaskStatus.PLANNED, Task.push_at <= now)
        .order_by(Task.push_at, Task.id)
    )
    for task, customer in (await db.execute(stmt)).all():
        async with isolated(db, "sop_push_failed", task=task.id):
            _push_one(task, customer, directory, ctx, result, now=now)
    await db.flush()
    return result


def _push_one(
    task: Task,
    customer: Customer,
    directory: Directory,
    ctx: Context,
    result: JobResult,
    *,
    now: datetime,
) -> None:
    assignee = _assignee(directory, task, customer)
    if assignee is None:
        log.warning("sop_row_skipped", reason="no_active_assignee", task=task.id)
        return
    late = now - task.push_at > late_window(ctx.rules)
    task.assignee_id = assignee.id
    task.status = TaskStatus.PUSHED
    task.pushed_at = now
    task.last_activity_at = now
    card = task_card(task, customer.name, ctx.tz, late=now - task.push_at >= LATE_MATTERS)
    result.pushes.append(
        Push(RecipientKind.USER, assignee.id, card, dedupe_key=f"task:{task.id}:card")
    )
    result.raised.append(
        Raised(
            assignee.name,
            f"sop:{task.template_key}",
            customer.name,
            "pushed",
            ref=f"#{task.id}",
            late=late,
        )
    )


def _assignee(directory: Directory, task: Task, customer: Customer) -> User | None:
    """The assignee, or (left the company) the customer's current owner."""
    return directory.active(task.assignee_id) or directory.active(customer.owner_id)


async def _mark_missed(
    db: AsyncSession, ctx: Context, directory: Directory, *, now: datetime
) -> tuple[JobResult, list[int]]:
    """Not done task_missed_after_days past due: missed, and the customer's health drops."""
    result, touched = JobResult(), []
    cutoff = now - timedelta(days=ctx.rules.task_missed_after_days)
    stmt = (
        select(Task, Customer)
        .join(Customer, Customer.id == Task.customer_id)
        .where(Task.status.in_(OPEN), Task.due_at <= cutoff)
        .order_by(Task.due_at, Task.id)
    )
    for task, customer in (await db.execute(stmt)).all():
        async with isolated(db, "sop_miss_failed", task=task.id):
            _miss_one(db, task, customer, directory, ctx, result, now=now)
            touched.append(customer.id)
    await db.flush()
    return result, touched


def _miss_one(
    db: AsyncSession,
    task: Task,
    customer: Customer,
    directory: Directory,
    ctx: Context,
    result: JobResult,
    *,
    now: datetime,
) -> None:
    before = task.status
    task.status = TaskStatus.MISSED
    task.last_activity_at = now
    score = health.apply_outcome(
        db, customer, task, health.Outcome.MISSED, rules=ctx.rules, now=now, actor_id=None
    )
    audit.record(
        db,
        at=now,
        actor_id=None,
        action="task_missed",
        entity="task",
        entity_id=task.id,
        before={"status": before},
        after={"status": task.status},
    )
    assignee = directory.active(task.assignee_id)
    who = assignee.name if assignee else "（无负责人）"
    result.raised.append(
        Raised(who, f"sop:{task.template_key}", customer.name, "missed", ref=f"#{task.id}")
    )
    if assignee is not None:
        text = (
            f"任务卡 #{task.id} {task.title}（{customer.name}）已错过："
            f"{format_local(task.due_at, ctx.tz)} 到期未完成，客户健康分降至 {score}"
        )
        result.pushes.append(
            Push(RecipientKind.USER, assignee.id, Reply(text), dedupe_key=f"task:{task.id}:missed")
        )
