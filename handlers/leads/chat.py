"""Leads in chat: 新线索 (a rep's own find), 已联系 (the first touch), 分配 (a manager assigns)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.chat import CardUpdate, Outgoing, Reply
from handlers.commands import Command, split_args
from handlers.context import Context
from handlers.errors import NotAllowed, UserError
from handlers.leads.intake import (
    DuplicateLead,
    LeadFieldError,
    check_lead,
    create_lead,
    give,
    lead_card_push,
    lead_code,
)
from handlers.leads.touch import touch_lead
from handlers.lookup import find_customer
from handlers.money.undo_support import remember_contacted
from handlers.permissions import customers_visible_to
from handlers.timefmt import format_local
from storage import audit
from storage.models import Customer, Lead, Role, User

NEW_EXAMPLE = "新线索 杭州启明科技有限公司 展会 地区 华东 联系人 刘总 电话 13800138000"
TOUCH_EXAMPLE = "已联系 L12"
ASSIGN_EXAMPLE = "分配 L12 王磊"
KEYWORDS = {
    "地区": "region",
    "联系人": "contact",
    "电话": "phone",
    "预算": "budget",
    "紧急": "urgency",
    "紧急程度": "urgency",
    "备注": "note",
}
_CODE = re.compile(r"^[Ll](\d{1,9})$")


async def new_lead(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """新线索 <名称> <来源> [地区 …] [联系人 …] [电话 …] [预算 …] [紧急 …] [备注 …]"""
    words = split_args(cmd.rest)
    if len(words) < 2:
        raise UserError("新线索需要名称和来源", example=NEW_EXAMPLE)
    values: dict[str, str] = {}
    key = None
    head: list[str] = []
    for word in words:
        if word in KEYWORDS and (key != "note"):
            key = KEYWORDS[word]
            values[key] = ""
        elif key is None:
            head.append(word)
        else:
            values[key] = f"{values[key]} {word}".strip()
    if len(head) < 2:
        raise UserError("新线索需要名称和来源", example=NEW_EXAMPLE)
    values["name"], values["source"] = " ".join(head[:-1]), head[-1]
    try:
        data = check_lead(values, ctx.rules)
    except LeadFieldError as err:
        raise UserError(err.problem, example=NEW_EXAMPLE) from None
    try:
        result = await create_lead(
            db, ctx, data, now=ctx.clock.now(), creator=cmd.user, owner=cmd.user
        )
    except DuplicateLead as dup:
        raise UserError(
            f"客户「{dup.name}」已经存在，不再新建线索",
            example=f"跟进 {dup.name} 电话沟通了需求",
        ) from None
    lead = result.lead
    due = format_local(lead.touch_due_at, ctx.tz) if lead.touch_due_at else ""
    return [
        Reply(
            f"已登记线索 {lead_code(lead)}：{result.customer.name}（{lead.source}），归你跟进。"
            f"请在 {due} 前联系，联系后发「已联系 {lead_code(lead)}」或记一条跟进"
        )
    ]


async def find_lead(
    db: AsyncSession, text: str, *, user: User, example: str
) -> tuple[Lead, Customer]:
    """A lead by its code (L12) or its customer's name, among the leads `user` may see."""
    text = text.strip()
    code = _CODE.match(text) or (re.match(r"^(\d{1,9})$", text))
    if code:
        lead = await db.get(Lead, int(code.group(1)))
        if lead is None:
            raise UserError(f"没有线索 L{code.group(1)}", example=example)
        customer = await db.get_one(Customer, lead.customer_id)
        visible = await db.execute(
            select(Customer.id).where(Customer.id == customer.id, customers_visible_to(user))
        )
        mine = lead.assigned_to_id == user.id
        if not mine and visible.first() is None and Role(user.role) == Role.REP:
            raise NotAllowed(f"线索 {lead_code(lead)} 不是你的")
        return lead, customer
    customer = await find_customer(db, text, user=user, example=example)
    found = (await db.execute(select(Lead).where(Lead.customer_id == customer.id))).scalar()
    if found is None:
        raise UserError(f"「{customer.name}」不是一条线索", example=example)
    return found, customer


async def mark_contacted(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """已联系 <线索>: the first touch, from the card's button or typed."""
    if not cmd.rest:
        raise UserError("请写上线索编号或名称", example=TOUCH_EXAMPLE)
    lead, customer = await find_lead(db, cmd.rest, user=cmd.user, example=TOUCH_EXAMPLE)
    now = ctx.clock.now()
    first = await touch_lead(db, customer_id=customer.id, now=now)
    answers: list[Outgoing] = []
    if first:
        customer.last_evidence_at = now
        audit.record(
            db,
            at=now,
            actor_id=cmd.user.id,
            action="lead_contacted",
            entity="customer",
            entity_id=customer.id,
        )
        remember_contacted(
            db,
            user=cmd.user,
            lead=lead,
            summary=f"已联系（{lead_code(lead)} {customer.name}）",
            now=now,
        )
        answers.append(Reply(f"已记录首次联系：{lead_code(lead)} {customer.name}，24 小时时钟已停"))
    else:
        answers.append(Reply(f"{lead_code(lead)} {customer.name} 已经联系过了"))
    action = cmd.event.action
    if action is not None:
        answers.append(CardUpdate(action.card_id, "已联系 ✓", action.response_code))
    return answers


async def assign_lead(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """分配 <线索> <姓名>: a manager gives a lead to a rep (the rule found nobody, or overrides)."""
    args = split_args(cmd.rest)
    if len(args) < 2:
        raise UserError("分配需要线索和销售的姓名", example=ASSIGN_EXAMPLE)
    lead, customer = await find_lead(db, " ".join(args[:-1]), user=cmd.user, example=ASSIGN_EXAMPLE)
    rep = (await db.execute(select(User).where(User.name == args[-1]))).scalar()
    if rep is None or not rep.active:
        raise UserError(f"没有在职的销售「{args[-1]}」", example=ASSIGN_EXAMPLE)
    outside = rep.team_id != cmd.user.team_id and rep.manager_id != cmd.user.id
    if Role(cmd.user.role) == Role.MANAGER and outside:
        raise NotAllowed(f"{rep.name} 不在你的团队")
    now = ctx.clock.now()
    before = lead.assigned_to_id
    give(lead, customer, rep, ctx, now=now)
    audit.record(
        db,
        at=now,
        actor_id=cmd.user.id,
        action="lead_assigned",
        entity="customer",
        entity_id=customer.id,
        before={"assigned_to_id": before},
        after={"assigned_to_id": rep.id},
    )
    due = format_local(lead.touch_due_at, ctx.tz) if lead.touch_due_at else ""
    return [
        Reply(f"已把线索 {lead_code(lead)} {customer.name} 分配给 {rep.name}，须在 {due} 前联系"),
        lead_card_push(lead, customer, rep, ctx),
    ]
