"""What the LLM engine asks an OpenAI-compatible model, and the JSON shape its answer must fit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from handlers.extraction.model import CustomerRef

_WEEKDAYS = "一二三四五六日"

SYSTEM_PROMPT = """你是销售跟进记录的信息抽取器。
从销售的一句跟进笔记中抽取字段，只输出一个 JSON 对象，键如下（没有的写 null）：
customer: 客户名称，只能从给出的客户列表中选，写列表里的正式名称；
contact: 对方联系人，如 李主任、王经理、the CTO；
summary: 去掉口头语后的笔记；
next_action: 下一步要做的事，简短，不含时间；
due_phrase: 笔记里表示下一步截止时间的原话，如 下周三前、明天下午3点；
due_at: 按“现在”换算出的本地截止时间，ISO 格式：
  只说了日期写 YYYY-MM-DD，说了钟点写 YYYY-MM-DDTHH:MM；
commitment: 销售本人向客户承诺的事（我答应/承诺/保证…），客户答应的不算；
stage: 笔记表明客户进入的阶段，只能是给出的阶段之一；
amount_yuan: 金额，单位元，数字。
约定：“下周”单说指下周一；“下周三”指下一周的周三；“这周三/周三前”指本周的周三；
“月底”指当月最后一天；“下个月初”指下月1日；“N天内/N天后”指今天加N天；
节假日按国务院公布的放假安排（含调休）。不要输出其他键。"""


class LlmNote(BaseModel):
    """The model's answer; a typo'd or extra key fails validation and the rules answer instead."""

    model_config = ConfigDict(extra="forbid")

    customer: str | None = None
    contact: str | None = None
    summary: str | None = None
    next_action: str | None = None
    due_phrase: str | None = None
    due_at: str | None = None
    commitment: str | None = None
    stage: str | None = None
    amount_yuan: Decimal | None = Field(default=None, ge=0)

    @field_validator("due_at")
    @classmethod
    def _is_iso(cls, value: str | None) -> str | None:
        if value is not None:
            parse_iso_local(value)  # raises ValueError
        return value


def parse_iso_local(value: str) -> tuple[date, tuple[int, int] | None]:
    """'2026-03-11' → (date, None); '2026-03-11T10:00' → (date, (10, 0)); offsets are ignored."""
    if len(value) == 10:
        return date.fromisoformat(value), None
    moment = datetime.fromisoformat(value)
    return moment.date(), (moment.hour, moment.minute)


def build_messages(
    text: str,
    *,
    now: datetime,
    tz: ZoneInfo,
    customers: Sequence[CustomerRef],
    stages: Sequence[str],
) -> list[dict[str, str]]:
    local = now.astimezone(tz)
    listed = [{"name": c.name, "aliases": list(c.aliases)} for c in customers]
    user = (
        f"现在：{local:%Y-%m-%d %H:%M}（周{_WEEKDAYS[local.weekday()]}，{tz.key}）\n"
        f"客户列表：{json.dumps(listed, ensure_ascii=False)}\n"
        f"阶段：{'、'.join(stages)}\n"
        f"笔记：{text}"
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def parse_answer(content: str) -> LlmNote:
    """The model's message content → LlmNote; ValueError (pydantic's included) when it is not."""
    return LlmNote.model_validate(json.loads(content))
