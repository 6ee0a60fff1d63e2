"""The parsed note as a few short chat lines, so a wrong parse is seen at once and fixed with 改."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from handlers.extraction.amounts import is_approximate
from handlers.extraction.customers import ASK_BELOW
from handlers.extraction.model import Due, Extraction

_WEEKDAYS = "一二三四五六日"
FIX_HINT = "有误请回复：改 <客户/联系人/时间/事项/金额/阶段> <新值>，例如：改 时间 周五"


def format_due(due: Due, tz: ZoneInfo, *, now: datetime | None = None) -> str:
    """3月11日(周三) 15:00; the year only when it is not this year."""
    local = due.at.astimezone(tz)
    this_year = now.astimezone(tz).year if now else local.year
    day = f"{local.month}月{local.day}日({'周' + _WEEKDAYS[local.weekday()]})"
    if local.year != this_year:
        day = f"{local.year}年{day}"
    if due.has_time:
        return f"{day} {local:%H:%M}"
    return f"{day}{due.part or ''}（未写具体时间，按 {local:%H:%M} 计）"


def format_amount(yuan: Decimal) -> str:
    if yuan >= 10_000:
        return f"{format((yuan / 10_000).normalize(), 'f')}万元"
    return f"{format(yuan.normalize(), 'f')}元"


def _customer_line(ex: Extraction) -> str:
    if ex.customer is None:
        return "客户：未识别，请回复：改 客户 <客户名称>"
    name, confidence = ex.customer.value.name, ex.customer.confidence
    if confidence >= 1:
        return f"客户：{name}"
    # A name we recognised by its likeness, not its spelling: say so in words, not a score.
    others = [c.name for c in ex.customer_candidates if c.id != ex.customer.value.id]
    if confidence < ASK_BELOW:
        line = f"客户：{name}"
        return line + (
            f"，是这位吗？也可能是「{'」「'.join(others)}」" if others else "，是这位吗？"
        )
    return f"客户：{name}（按相近的名称认出）"


def format_log(ex: Extraction, tz: ZoneInfo, *, now: datetime | None = None) -> list[str]:
    """客户 / 联系人 / 下一步 / 截止 / 承诺 / 阶段 / 金额, then how to correct."""
    lines = [_customer_line(ex)]
    if ex.contact:
        lines.append(f"联系人：{ex.contact.value}")
    lines.append(f"下一步：{ex.next_action.value}" if ex.next_action else "下一步：未写明")
    if ex.due:
        lines.append(f"截止：{format_due(ex.due.value, tz, now=now)}")
    if ex.commitment:
        lines.append(f"承诺：{ex.commitment.value}（登记为承诺）")
    if ex.stage:
        lines.append(f"阶段：→ {ex.stage.value}")
    if ex.amount_yuan:
        span = ex.amount_yuan.span
        said = ex.text[span[0] : span[1] + 2] if span else ""
        shown = format_amount(ex.amount_yuan.value)
        if is_approximate(said):
            shown = f"约{shown}（按 {ex.amount_yuan.value:,} 元记）"
        lines.append(f"金额：{shown}")
    lines.append(FIX_HINT)
    return lines
