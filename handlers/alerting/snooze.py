"""稍后提醒: a rep pushes one warning back for a stated time, once; audited, shown to managers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from config.rules import Rules
from handlers.chat import Outgoing, Reply
from handlers.commands import Command
from handlers.context import Context
from handlers.errors import NotFoundForYou, UserError
from handlers.numbers import parse_decimal, parse_id
from handlers.permissions import customers_visible_to, is_manager_or_above
from handlers.timefmt import format_local
from storage import audit
from storage.models import Alert, AlertStatus, Customer

EXAMPLE = "稍后提醒 A12 2小时"
MAX_SNOOZE_HOURS = 24 * 30  # a month; past that it is not a snooze
_CODE = re.compile(r"^A?(\S+)$", re.IGNORECASE)
_SPAN = re.compile(
    r"^(\S+?)\s*(h|hr|hrs|hours?|小时|个小时|钟头|m|min|mins|分钟|分|d|days?|天|日)$",
    re.IGNORECASE,
)
_UNIT_HOURS = {
    "h": 1.0,
    "小": 1.0,
    "个": 1.0,
    "钟": 1.0,
    "m": 1 / 60,
    "分": 1 / 60,
    "d": 24.0,
    "天": 24.0,
    "日": 24.0,
}
_TOMORROW = ("明天", "明早", "tomorrow")


def parse_span(text: str, *, now: datetime, rules: Rules, tz: ZoneInfo) -> datetime | None:
    """Until when: "2h", "2小时", "30分钟", "1天", or 明天/明早 (tomorrow, last-chance hour)."""
    text = text.strip().lower()
    if text in _TOMORROW:
        day = now.astimezone(tz).date() + timedelta(days=1)
        return datetime.combine(day, rules.escalation.last_chance_hour, tz).astimezone(UTC)
    match = _SPAN.match(text)
    if match is None:
        return None
    unit = match.group(2)
    amount = parse_decimal(match.group(1), high=MAX_SNOOZE_HOURS)
    hours = amount * _UNIT_HOURS[unit[0].lower()] if amount is not None else 0.0
    return now + timedelta(hours=hours) if 0 < hours <= MAX_SNOOZE_HOURS else None


async def load_alert(cmd: Command, db: AsyncSession, code: str, *, example: str) -> Alert:
    """An alert by its code (A12), if the sender may see it: it is about them, or their team's."""
    match = _CODE.match(code.strip())
    if match is None:
        raise UserError(f"「{code}」不是预警编号", example=example)
    alert_id = parse_id(match.group(1))
    alert = await db.get(Alert, alert_id) if alert_id is not None else None
    missing = f"你没有编号为 A{match.group(1)} 的预警"
    if alert is None:
        raise UserError(missing, example=example)
    if alert.user_id == cmd.user.id:
        return alert
    if is_manager_or_above(cmd.user) and alert.customer_id is not None:
        visible = await db.execute(
            select(Customer.id).where(
                Customer.id == alert.customer_id, customers_visible_to(cmd.user)
            )
        )
        if visible.first() is not None:
            return alert
    raise NotFoundForYou(missing, example=example)


async def snooze_alert(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """稍后提醒 <编号> <时长> (or the card button): the clicked card shows the outcome."""
    args = cmd.args(1)
    if len(args) < 2:
        raise UserError("请写上预警编号和推迟多久", example=EXAMPLE)
    alert = await load_alert(cmd, db, args[0], example=EXAMPLE)
    now = ctx.clock.now()
    until = parse_span(args[1], now=now, rules=ctx.rules, tz=ctx.tz)
    if until is None:
        raise UserError(f"没看懂时长「{args[1]}」", example=EXAMPLE)
    limit_h = ctx.rules.snooze_max_hours
    if until - now > timedelta(hours=limit_h):
        raise UserError(f"最多推迟 {limit_h} 小时", example=EXAMPLE)
    code = f"A{alert.id}"
    if alert.status == AlertStatus.RESOLVED:
        return cmd.with_card_update([Reply(f"预警 {code} 已解除，无需推迟")], "已解除")
    if alert.snoozed_until is not None:
        raise UserError(
            f"预警 {code} 已推迟过一次（至 {format_local(alert.snoozed_until, ctx.tz)}），"
            "请尽快处理",
            example=f"为什么 {code}",
        )
    before = {"status": alert.status, "snoozed_until": alert.snoozed_until}
    alert.status = AlertStatus.SNOOZED
    alert.snoozed_until = until
    shown = format_local(until, ctx.tz)
    audit.record(
        db,
        at=now,
        actor_id=cmd.user.id,
        action="alert_snoozed",
        entity="alert",
        entity_id=alert.id,
        before=before,
        after={"status": alert.status, "snoozed_until": until},
        note=f"{cmd.user.name} 将预警 {code} 推迟至 {shown}",
    )
    reply = Reply(
        f"已推迟预警 {code} 至 {shown}，届时再提醒；在此之前不会升级。"
        "推迟已记录，主管可在简报和「为什么 " + code + "」中看到"
    )
    return cmd.with_card_update([reply], f"已推迟至 {shown}")
