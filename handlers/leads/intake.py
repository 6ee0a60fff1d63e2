"""A new lead from any door (CSV, POST /leads, 新线索): checked, stored, assigned, announced."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from config.rules import Rules
from handlers.chat import Button, Card, Push, RecipientKind, Reply
from handlers.context import Context
from handlers.duplicates import best_match
from handlers.leads.assign import choose_rep, serialize_assignments
from handlers.leads.clock import add_business_hours, touch_hours
from handlers.timefmt import format_local
from storage import audit
from storage.models import Customer, Lead, StageChange, User

FIELDS = ("name", "source", "region", "contact", "phone", "budget", "urgency", "note")
LIMITS = {
    "name": 200,
    "source": 30,
    "region": 50,
    "contact": 100,
    "phone": 40,
    "budget": 50,
    "urgency": 20,
    "note": 2000,
    "external_id": 100,
}
URGENCIES = ("高", "中", "低", "紧急", "一般", "不急")
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,30}[0-9]$")


class LeadFieldError(Exception):
    """One field of a new lead is wrong: which one, and what was expected."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field, self.problem = field, problem


class DuplicateLead(Exception):
    """The lead's company is already a customer."""

    def __init__(self, customer: KnownCustomer) -> None:
        super().__init__(customer.name)
        self.name, self.customer_id = customer.name, customer.id


@dataclass(frozen=True, slots=True)
class LeadInput:
    name: str
    source: str
    region: str | None = None
    contact: str | None = None
    phone: str | None = None
    budget: str | None = None
    urgency: str | None = None
    note: str | None = None
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class LeadResult:
    lead: Lead
    customer: Customer
    assigned_to: User | None
    pushes: list[Push]


def check_lead(values: dict[str, Any], rules: Rules) -> LeadInput:
    """Every field typed, trimmed and bounded; the first bad one raises LeadFieldError."""
    cleaned: dict[str, str | None] = {}
    for field in (*FIELDS, "external_id"):
        value = values.get(field)
        if value is None:
            cleaned[field] = None
            continue
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise LeadFieldError(field, f"{field} 应是文字 (expected a string)")
        text = str(value).strip()
        if len(text) > LIMITS[field]:
            raise LeadFieldError(field, f"{field} 太长，最多 {LIMITS[field]} 个字符")
        if any(ord(c) < 32 and c not in "\n\t" for c in text):
            raise LeadFieldError(field, f"{field} 含有控制字符")
        cleaned[field] = text or None
    if not cleaned["name"]:
        raise LeadFieldError("name", "name 不能为空：线索的客户名称，如 杭州启明科技有限公司")
    if not cleaned["source"]:
        raise LeadFieldError("source", f"source 不能为空，应为 {'、'.join(rules.leads.sources)}")
    if cleaned["source"] not in rules.leads.sources:
        known = "、".join(rules.leads.sources)
        raise LeadFieldError(
            "source", f"来源「{cleaned['source']}」不在规则的来源渠道里，应为 {known}"
        )
    phone = cleaned["phone"]
    if phone and not _PHONE.match(phone):
        raise LeadFieldError("phone", f"电话「{phone}」不对，应为数字，如 13800138000")
    if cleaned["urgency"] and cleaned["urgency"] not in URGENCIES:
        raise LeadFieldError("urgency", f"紧急程度应为 {'、'.join(URGENCIES)} 之一")
    return LeadInput(**cleaned)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class KnownCustomer:
    id: int
    name: str


async def duplicate_index(db: AsyncSession) -> list[Customer]:
    """Every customer, loaded once per import (not per row) for the duplicate check."""
    return list((await db.execute(select(Customer))).scalars())


async def find_duplicate(
    db: AsyncSession, name: str, index: list[Customer] | None = None
) -> KnownCustomer | None:
    """The customer a new lead's name already is: #15's duplicate check (normalized names,
    pinyin, fuzzy; aliases too), the same as 新客户 and the customer import."""
    exact = await db.execute(
        select(Customer.id, Customer.name).where(func.lower(Customer.name) == name.lower())
    )
    found = exact.first()
    if found is not None:
        return KnownCustomer(found[0], found[1])
    customers = index if index is not None else await duplicate_index(db)
    match = best_match(name, customers)
    return KnownCustomer(match.customer.id, match.customer.name) if match else None


async def existing_by_external_id(
    db: AsyncSession, source: str, external_id: str | None
) -> Lead | None:
    if not external_id:
        return None
    stmt = select(Lead).where(Lead.source == source, Lead.external_id == external_id)
    return (await db.execute(stmt)).scalar_one_or_none()


async def create_lead(
    db: AsyncSession,
    ctx: Context,
    data: LeadInput,
    *,
    now: datetime,
    creator: User | None = None,
    owner: User | None = None,
    checked: bool = False,
) -> LeadResult:
    """Store the lead as a customer in the first stage and give it to a rep (or ask a manager).

    `owner` given (a rep's own find): it is theirs and no rule runs. `checked`: the caller
    already ran the duplicate check (an import checks every row first).
    """
    duplicate = None if checked else await find_duplicate(db, data.name)
    if duplicate is not None:
        raise DuplicateLead(duplicate)
    await serialize_assignments(db)
    choice = None if owner is not None else await choose_rep(db, ctx.rules, data.region)
    rep = owner if owner is not None else choice.rep if choice else None
    stage = ctx.rules.first_stage
    customer = Customer(
        name=data.name,
        aliases=[],
        owner_id=rep.id if rep else None,
        stage=stage,
        stage_entered_at=now,
        level="B",
        health_score=ctx.rules.health.start,
        created_at=now,
    )
    db.add(customer)
    await db.flush()
    db.add(StageChange(customer_id=customer.id, from_stage=None, to_stage=stage, at=now))
    lead = Lead(
        customer_id=customer.id,
        source=data.source,
        region=data.region,
        contact=data.contact,
        phone=data.phone,
        budget=data.budget,
        urgency=data.urgency,
        note=data.note,
        external_id=data.external_id,
        created_at=now,
        created_by_id=creator.id if creator else None,
    )
    db.add(lead)
    await db.flush()
    pushes: list[Push] = []
    if rep is not None:
        give(lead, customer, rep, ctx, now=now)
        if owner is None:
            pushes.append(lead_card_push(lead, customer, rep, ctx))
    elif choice is not None:
        pushes += ask_managers(lead, customer, choice.managers, ctx)
    audit.record(
        db,
        at=now,
        actor_id=creator.id if creator else None,
        action="lead_created",
        entity="customer",
        entity_id=customer.id,
        after={
            "source": data.source,
            "region": data.region,
            "assigned_to": rep.name if rep else None,
        },
    )
    return LeadResult(lead, customer, rep, pushes)


def give(lead: Lead, customer: Customer, rep: User, ctx: Context, *, now: datetime) -> None:
    """Assign: the rep owns the customer, and the first-touch clock starts now."""
    lead.assigned_to_id = rep.id
    lead.assigned_at = now
    lead.touch_due_at = add_business_hours(
        now, touch_hours(ctx.rules, lead.source), ctx.rules, ctx.tz
    )
    customer.owner_id = rep.id


def lead_code(lead: Lead) -> str:
    return f"L{lead.id}"


def lead_card(lead: Lead, customer: Customer, ctx: Context) -> Card:
    lines = [f"来源：{lead.source}" + (f"　地区：{lead.region}" if lead.region else "")]
    if lead.contact or lead.phone:
        lines.append(f"联系人：{lead.contact or '—'}　电话：{lead.phone or '—'}")
    if lead.budget or lead.urgency:
        lines.append(f"预算：{lead.budget or '—'}　紧急程度：{lead.urgency or '—'}")
    if lead.note:
        lines.append(f"备注：{lead.note[:200]}")
    if lead.touch_due_at is not None:
        lines.append(f"请在 {format_local(lead.touch_due_at, ctx.tz)} 前联系，联系后点「已联系」")
    return Card(
        card_id=f"lead-{lead.id}",
        title=f"新线索 {lead_code(lead)}：{customer.name}",
        lines=tuple(lines),
        buttons=(Button(f"已联系 {lead_code(lead)}", "已联系"),),
    )


def lead_card_push(lead: Lead, customer: Customer, rep: User, ctx: Context) -> Push:
    return Push(
        RecipientKind.USER,
        rep.id,
        lead_card(lead, customer, ctx),
        dedupe_key=f"lead:{lead.id}:{lead.assigned_to_id}:{lead.assigned_at:%Y%m%dT%H%M%S}",
    )


def ask_managers(lead: Lead, customer: Customer, managers: list[User], ctx: Context) -> list[Push]:
    cap = ctx.rules.leads.open_cap
    where = f"（{lead.region}，{lead.source}）" if lead.region else f"（{lead.source}）"
    text = (
        f"新线索 {lead_code(lead)}「{customer.name}」{where}没有可分配的销售："
        f"负责该地区的销售都已有 {cap} 条未联系的线索，或没有团队负责该地区。"
        f"请指定负责人：分配 {lead_code(lead)} <姓名>"
    )
    return [
        Push(RecipientKind.USER, m.id, Reply(text), dedupe_key=f"lead-ask:{lead.id}:{m.id}")
        for m in managers
    ]
