"""A contract's payment plan: `分期 30%/签约 40%/验收 30%` or `账期 60天` → expected payments."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from handlers.errors import UserError

SIGN_EXAMPLE = "签约 启明科技 金额 36万 到期 2027-12-31 分期 30%/签约 40%/验收 30%"
ON_SIGNING = ("签约", "预付", "首付")
ON_DELIVERY = ("验收", "交付", "上线", "到货")
FINAL = "尾款"
DEFAULT_TERM_DAYS = 30  # a plan part without 账期 is due this long after its event
_PART = re.compile(r"^(\d{1,3}(?:\.\d{1,2})?)\s*[%％](?:\s*/\s*(.+))?$")
_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class PlannedPayment:
    seq: int
    label: str
    share_pct: Decimal | None
    amount_yuan: Decimal
    due_on: date
    waits_for_delivery: bool = False  # 验收/交付 parts: due once 交付 is recorded


def parse_parts(text: str) -> list[tuple[Decimal, str | None]]:
    """`30%/签约 40%/验收 30%` → [(30, 签约), (40, 验收), (30, None)]; shares must add to 100."""
    parts: list[tuple[Decimal, str | None]] = []
    for word in re.split(r"[\s,，、]+", text.strip()):
        if not word:
            continue
        match = _PART.match(word)
        if match is None:
            raise UserError(f"没看懂分期「{word}」，每一期写成 百分比/节点", example=SIGN_EXAMPLE)
        share = Decimal(match.group(1))
        if share <= 0:
            raise UserError(f"分期比例应大于 0，而不是「{word}」", example=SIGN_EXAMPLE)
        parts.append((share, (match.group(2) or "").strip() or None))
    if not parts:
        raise UserError("分期后面要写每一期的比例", example=SIGN_EXAMPLE)
    if len(parts) > 12:
        raise UserError("分期最多 12 期", example=SIGN_EXAMPLE)
    total = sum((share for share, _ in parts), Decimal(0))
    if total != 100:
        raise UserError(f"分期比例加起来应是 100%，现在是 {total:g}%", example=SIGN_EXAMPLE)
    return parts


def build_plan(
    *,
    amount_yuan: Decimal,
    parts: list[tuple[Decimal, str | None]] | None,
    signed_on: date,
    expires_on: date,
    term_days: int | None,
) -> list[PlannedPayment]:
    """Each part's amount (the last takes the rounding) and due date.

    签约 parts are due `term_days` (default 30) after signing; 验收/交付 parts the same after the
    delivery (until 交付 is recorded they are dated at the contract's end); a part labelled with
    a date (2027-06-30) is due that day; an unlabelled last part is the 尾款, due at expiry.
    """
    term = timedelta(days=term_days if term_days is not None else DEFAULT_TERM_DAYS)
    if not parts:  # one payment: 账期 N 天 after signing
        return [PlannedPayment(1, f"账期 {term.days} 天", None, amount_yuan, signed_on + term)]
    planned: list[PlannedPayment] = []
    left = amount_yuan
    for seq, (share, label) in enumerate(parts, 1):
        amount = (
            left
            if seq == len(parts)
            else (amount_yuan * share / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        )
        left -= amount
        due_on, waits = _due(label, signed_on=signed_on, expires_on=expires_on, term=term)
        planned.append(
            PlannedPayment(seq, _label(label, seq, len(parts)), share, amount, due_on, waits)
        )
    return planned


def _label(label: str | None, seq: int, count: int) -> str:
    if label is None or _DATE.match(label):
        return FINAL if seq == count else f"第{seq}期"
    return label[:30]


def _due(
    label: str | None, *, signed_on: date, expires_on: date, term: timedelta
) -> tuple[date, bool]:
    if label is None:
        return expires_on, False
    dated = _DATE.match(label)
    if dated:
        try:
            return date(int(dated.group(1)), int(dated.group(2)), int(dated.group(3))), False
        except ValueError:
            raise UserError(f"分期日期「{label}」不对", example=SIGN_EXAMPLE) from None
    if any(word in label for word in ON_DELIVERY):
        return expires_on, True
    if any(word in label for word in ON_SIGNING):
        return signed_on + term, False
    raise UserError(
        f"分期节点「{label}」没看懂：写 签约、验收（或交付/上线）、或一个日期如 2027-06-30",
        example=SIGN_EXAMPLE,
    )
