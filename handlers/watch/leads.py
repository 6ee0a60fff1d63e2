"""Untouched leads: a new lead with no follow-up within the touch window warns its owner."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.alerting import alerts
from handlers.alerting.findings import Finding, Level, Rule, Subject
from handlers.context import Context
from handlers.leads.clock import touch_hours
from handlers.timefmt import format_local
from storage.models import Alert, Customer, Followup, Lead


async def find_untouched_leads(db: AsyncSession, ctx: Context, *, now: datetime) -> list[Finding]:
    return await _untouched_new_customers(db, ctx, now=now) + await _untouched_assigned(
        db, ctx, now=now
    )


async def _untouched_new_customers(
    db: AsyncSession, ctx: Context, *, now: datetime
) -> list[Finding]:
    """新客户 without an intake row: the owner is warned (no assignment, no escalation)."""
    hours = ctx.rules.lead_touch_hours
    intake = exists().where(Lead.customer_id == Customer.id)
    touched = exists().where(
        Followup.customer_id == Customer.id, Followup.created_at >= Customer.stage_entered_at
    )
    told = exists().where(
        Alert.subject_type == Subject.CUSTOMER,
        Alert.subject_id == Customer.id,
        Alert.rule == Rule.LEAD_UNTOUCHED,
        Alert.period_at == Customer.stage_entered_at,
    )
    stmt = (
        select(Customer.id, Customer.name, Customer.owner_id, Customer.stage_entered_at)
        .where(
            Customer.stage == ctx.rules.first_stage,
            Customer.stage_entered_at <= now - timedelta(hours=hours),
            ~touched,
            ~told,
            ~intake,
        )
        .order_by(Customer.id)
    )
    findings = []
    for row in (await db.execute(stmt)).all():
        waited_h = int((now - row.stage_entered_at).total_seconds() // 3600)
        findings.append(
            Finding(
                rule=Rule.LEAD_UNTOUCHED,
                subject_type=Subject.CUSTOMER,
                subject_id=row.id,
                period=row.stage_entered_at,
                customer_id=row.id,
                customer_name=row.name,
                owner_id=row.owner_id,
                due={Level.YELLOW: row.stage_entered_at + timedelta(hours=hours)},
                title=f"新线索「{row.name}」",
                clock=(
                    f"{format_local(row.stage_entered_at, ctx.tz)} 建的，已经 {waited_h} 小时"
                    f"没有跟进（要求 {hours} 小时内首次跟进）"
                ),
                remedy=f"跟进 {row.name} …",
            )
        )
    return findings


async def _untouched_assigned(db: AsyncSession, ctx: Context, *, now: datetime) -> list[Finding]:
    """An assigned lead past its business-time clock: the rep is warned and the manager's group
    hears of it at once (red), until 已联系 or a follow-up."""
    touched = exists().where(
        Followup.customer_id == Customer.id, Followup.created_at >= Lead.assigned_at
    )
    told = exists().where(
        Alert.subject_type == Subject.CUSTOMER,
        Alert.subject_id == Customer.id,
        Alert.rule == Rule.LEAD_UNTOUCHED,
        Alert.level == Level.RED,
        Alert.period_at == Lead.assigned_at,
    )
    stmt = (
        select(Lead, Customer.name, Customer.owner_id)
        .join(Customer, Customer.id == Lead.customer_id)
        .where(
            Lead.assigned_to_id.is_not(None),
            Lead.first_touched_at.is_(None),
            Lead.touch_due_at <= now,
            Customer.stage == ctx.rules.first_stage,
            ~touched,
            ~told,
        )
        .order_by(Lead.id)
    )
    findings = []
    for lead, name, owner_id in (await db.execute(stmt)).all():
        assigned_at, due_at = lead.assigned_at, lead.touch_due_at
        if assigned_at is None or due_at is None:
            continue
        hours = touch_hours(ctx.rules, lead.source)
        findings.append(
            Finding(
                rule=Rule.LEAD_UNTOUCHED,
                subject_type=Subject.CUSTOMER,
                subject_id=lead.customer_id,
                period=assigned_at,
                customer_id=lead.customer_id,
                customer_name=name,
                owner_id=lead.assigned_to_id or owner_id,
                due={Level.YELLOW: due_at, Level.RED: due_at},
                title=f"线索 L{lead.id} {name}（{lead.source}）",
                clock=(
                    f"{format_local(assigned_at, ctx.tz)} 分配，{hours} 个工作时内未联系，"
                    f"{format_local(due_at, ctx.tz)} 已到期"
                ),
                evidence="还没有已联系，也没有跟进记录",
                remedy=f"已联系 L{lead.id}",
            )
        )
    return findings


async def resolve_touched_leads(db: AsyncSession, ctx: Context, *, now: datetime) -> list[int]:
    """A follow-up logged, or the lead moved on: the warning resolves itself."""
    touched = exists().where(
        Followup.customer_id == Customer.id, Followup.created_at >= Customer.stage_entered_at
    )
    contacted = exists().where(Lead.customer_id == Customer.id, Lead.first_touched_at.is_not(None))
    gone = exists().where(
        Customer.id == Alert.subject_id,
        or_(Customer.stage != ctx.rules.first_stage, touched, contacted),
    )
    condition = and_(
        Alert.rule == Rule.LEAD_UNTOUCHED, Alert.subject_type == Subject.CUSTOMER, gone
    )
    return await alerts.resolve_where(db, condition, now=now)
