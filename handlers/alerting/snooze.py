"""稍后提醒: a rep pushes one warning back for a stated time, once; audited, shown to managers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from config.rules import Rules
from handlers.chat import Outgoing, Reply
from handlers.commands import Command
from handlers.context import Context
from handlers.errors import NotAllowed, UserError
from handlers.extraction import parse_due
from handlers.extraction.hits import small_number
from handlers.numbers import parse_id
from handlers.permissions import Access, customers_where, is_manager_or_above
from handlers.quiet import quiet_until
from handlers.timefmt import format_local
from storage import audit
from storage.models import Alert, AlertStatus, Customer

EXAMPLE = "稍后提醒 A12 2小时"
MAX_SNOOZE_HOURS = 24 * 30  # a month: past it, not a snooze (and no timedelta overflow)
_CODE = re.compile(r"^A?(\d+)$", re.IGNORECASE)
_SPAN = re.compile(
    r"^(?P<n>\d+(?:\.\d+)?|[一二两三四五六七八九十]{1,3}|半)\s*(?:个)?(?P<half>半)?\s*"
    r"(?P<unit>h|hr|hrs|hours?|小时|钟头|m|min|mins|minutes?|分钟|分|d|days?|天|日)$",
    re.IGNORECASE,
)
_UNIT_HOURS = {
    "h": 1.0,
    "小": 1.0,
    "钟": 1.0,
    "m": 1 / 60,
    "分": 1 / 60,
    "d": 24.0,
    "天": 24.0,
    "日": 24.0,
}
_TOMORROW = ("明天", "tomorrow")
_LEAD = re.compile(r"^(?:到|至|等到|推到|改到|延到)")
MOMENT_MAX = timedelta(days=7)  # a named moment (到下周) may go past the duration limit


@dataclass(frozen=True, slots=True)
class Until:
    at: datetime  # aware UTC
    is_duration: bool  # 2小时 (capped by snooze_max_hours) rather than a moment (明早九点)
    moved: bool  # it fell in quiet hours and was moved to the morning


def parse_span(text: str, *, now: datetime, rules: Rules, tz: ZoneInfo) -> Until | None:
    """Until when: a duration (半小时, 2小时, 30分钟, 1天) or a moment (明早九点, 周一, 到下周);
    a day without a clock time means its morning; an end in quiet hours moves to the morning."""
    text = _LEAD.sub("", text.strip().lower()).strip()
    found = _duration(text, now) or _moment(text, now=now, rules=rules, tz=tz)
    if found is None or found[0] <= now:
        return None
    at, is_duration = found
    morning = quiet_until(at, rules.quiet_hours, tz)
    return Until(morning or at, is_duration, morning is not None)


def _duration(text: str, now: datetime) -> tuple[datetime, bool] | None:
    match = _SPAN.match(text)
    if match is None:
        return None
    amount = small_number(match["n"])
    if amount is None:
        return None
    hours = (amount + (0.5 if match["half"] else 0)) * _UNIT_HOURS[match["unit"][0]]
    return (now + timedelta(hours=hours), True) if 0 < hours <= MAX_SNOOZE_HOURS else None


def _moment(
    text: str, *, now: datetime, rules: Rules, tz: ZoneInfo
) -> tuple[datetime, bool] | None:
    if text in _TOMORROW:
        text = "明天"
    due = parse_due(text, now=now, tz=tz)
    if due is None:
        return None
    if due.has_time:
        return due.at, False
    day = due.at.astimezone(tz).date()
    hour = rules.escalation.last_chance_hour  # a day said alone: that morning
    if due.part == "下午":
        hour = time(14, 0)
    elif due.part == "晚上":
        hour = time(19, 0)
    return datetime.combine(day, hour, tz).astimezone(UTC), False


async def load_alert(
    cmd: Command, db: AsyncSession, code: str, *, example: str, access: Access = Access.SUPERVISE
) -> Alert:
    """An alert by its code (A12), if the sender may: it is about them, or (managers) a customer
    they may read (为什么) or supervise (稍后提醒)."""
    match = _CODE.match(code.strip())
    if match is None:
        raise UserError(f"「{code}」不是预警编号", example=example)
    alert_id = parse_id(match.group(1))  # past 32 bits: no such warning, not an overflow
    alert = await db.get(Alert, alert_id) if alert_id is not None else None
    if alert is None:
        raise UserError(f"没有编号为 A{match.group(1)} 的预警", example=example)
    if alert.user_id == cmd.user.id:
        return alert
    if is_manager_or_above(cmd.user) and alert.customer_id is not None:
        visible = await db.execute(
            select(Customer.id).where(
                Customer.id == alert.customer_id, customers_where(cmd.user, access)
            )
        )
        if visible.first() is not None:
            return alert
    if access == Access.READ:
        raise NotAllowed(f"预警 A{alert.id} 说的是别人负责的客户，你看不到它。发「我的」看你的客户")
    raise NotAllowed(
        f"预警 A{alert.id} 不是发给你的，只有负责的同事（或其主管）能推迟它。"
        f"可以发「为什么 A{alert.id}」看看原因"
    )


async def snooze_alert(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """稍后提醒 <编号> <时长> (or the card button): the clicked card shows the outcome."""
    args = cmd.args(1)
    if len(args) < 2:
        raise UserError("请写上预警编号和推迟多久", example=EXAMPLE)
    alert = await load_alert(cmd, db, args[0], example=EXAMPLE)
    now = ctx.clock.now()
    span = parse_span(args[1], now=now, rules=ctx.rules, tz=ctx.tz)
    if span is None:
        raise UserError(
            f"没看懂推迟到什么时候「{args[1]}」（如：半小时、2小时、明早九点、周一、到下周）",
            example=f"稍后提醒 {args[0]} 2小时",
        )
    until = span.at
    limit_h = ctx.rules.snooze_max_hours
    if span.is_duration and until - now > timedelta(hours=limit_h):
        raise UserError(f"最多推迟 {limit_h} 小时", example=f"稍后提醒 {args[0]} 2小时")
    if not span.is_duration and until - now > MOMENT_MAX:
        raise UserError("最多推迟到一周后", example=f"稍后提醒 {args[0]} 到下周")
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
    moved = "（原定时间在免打扰时段，改为早上提醒）" if span.moved else ""
    reply = Reply(
        f"已推迟预警 {code} 至 {shown}{moved}，届时再提醒；在此之前不会升级。"
        "推迟已记录，主管可在简报和「为什么 " + code + "」中看到"
    )
    return cmd.with_card_update([reply], f"已推迟至 {shown}")
