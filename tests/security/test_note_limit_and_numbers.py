"""Findings 1 and 4 in chat: the note-length limit, and numbers that parse safely or not at all."""

from __future__ import annotations

import dataclasses

import pytest

from handlers.numbers import MAX_ID, parse_decimal, parse_id, parse_int
from storage.models import Followup
from tests.core.conftest import SeededTeam


def padded(chars: int) -> str:
    head = "跟进 启明 电话确认了试用安排，"
    return head + "客户很满意" * ((chars - len(head)) // 5 + 1)


async def test_a_note_over_the_limit_is_refused_with_a_clear_answer_and_nothing_stored(
    team: SeededTeam,
) -> None:
    text = padded(2001)[:2001]
    answer = await team.talk("王磊", text)
    assert "2001 个字" in answer
    assert "2000 字的上限" in answer
    assert "没有记录" in answer
    assert await team.count(Followup) == 0


async def test_a_note_at_the_limit_is_recorded(team: SeededTeam) -> None:
    answer = await team.talk("王磊", padded(2000)[:2000])
    assert answer.startswith("已记录跟进（杭州启明科技有限公司）")
    assert await team.count(Followup) == 1


async def test_the_limit_is_the_one_configured(team: SeededTeam) -> None:
    team.ctx = dataclasses.replace(team.ctx, max_note_chars=50)
    answer = await team.talk("王磊", padded(60)[:60])
    assert "50 字的上限" in answer
    assert await team.count(Followup) == 0


async def test_an_extraction_over_its_time_budget_is_answered_and_stores_nothing(
    team: SeededTeam,
) -> None:
    team.ctx = dataclasses.replace(team.ctx, extract_budget_s=1e-9)
    answer = await team.talk("王磊", "跟进 启明 电话确认了试用安排，下周三前给反馈")
    assert "没能及时整理" in answer
    assert await team.count(Followup) == 0


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("完成 99999999999", "没有编号为 #99999999999 的任务卡"),
        ("接受 99999999999", "没有编号为 #99999999999 的任务卡"),
        ("为什么 A99999999999", "没有编号为 A99999999999 的预警"),
        ("稍后提醒 A99999999999 2小时", "没有编号为 A99999999999 的预警"),
        ("确认 ²", "请写上跟进编号"),
        ("确认 99999999999", "没有你的跟进记录"),
        ("签约 启明 到期 2026-12-31 账期 ²", "账期应是 1–365 之间的天数"),
    ],
)
async def test_absurd_numbers_get_the_answer_for_a_wrong_number(
    team: SeededTeam, text: str, answer: str
) -> None:
    assert answer in await team.talk("王磊", text)


async def test_nul_characters_in_a_note_are_dropped_not_a_crash(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "跟进 启明\u0000 电话确认了\u0000试用安排")
    assert answer.startswith("已记录跟进（杭州启明科技有限公司）")
    assert await team.count(Followup) == 1


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", 12),
        ("１２", 12),  # full-width, as a Chinese IME types it
        (" 7 ", 7),
        ("²", None),
        ("٣", None),
        ("-1", None),
        ("0", None),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("9" * 400, None),
        ("1e3", None),
        ("", None),
    ],
)
def test_ids_parse_only_from_plain_digits_in_range(text: str, value: int | None) -> None:
    assert parse_id(text) == value


def test_integers_respect_their_bounds() -> None:
    assert parse_int("365", low=1, high=365) == 365
    assert parse_int("366", low=1, high=365) is None
    assert parse_decimal("1.5", high=10) == 1.5
    assert parse_decimal("1e308", high=10) is None
    assert parse_decimal("11", high=10) is None
