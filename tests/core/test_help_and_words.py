"""帮助, the English aliases, and what anything else gets: an answer that says what was expected."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.router import ALIASES, ROUTES
from storage.models import Commitment, CommitmentStatus, Customer, Followup, Role
from tests.core.conftest import SeededTeam


async def test_help_lists_every_command_a_rep_may_use_with_its_english_alias(
    team: SeededTeam,
) -> None:
    answer = await team.talk("王磊", "帮助")
    for word, route in ROUTES.items():
        assert (f"• {word}" in answer) == (route.needs == Role.REP)
    for alias in ("followup", "commit", "keep", "stage", "lead", "mine", "help"):
        assert alias in answer


async def test_help_shows_a_manager_the_offboarding_command(team: SeededTeam) -> None:
    assert "• 停用" in await team.talk("陈静", "帮助")


@pytest.mark.parametrize("word", ["help", "HELP", "?", "？"])
async def test_help_has_english_and_punctuation_aliases(team: SeededTeam, word: str) -> None:
    assert await team.talk("王磊", word) == await team.talk("王磊", "帮助")


def test_every_alias_points_at_a_command() -> None:
    assert set(ALIASES.values()) <= set(ROUTES)


async def test_followup_is_the_english_for_genjin(team: SeededTeam) -> None:
    await team.talk("王磊", "followup 启明科技 电话确认了试用安排")
    assert await team.count(Followup) == 1


async def test_commit_and_keep_are_the_english_for_a_commitment(team: SeededTeam) -> None:
    registered = await team.talk("王磊", "commit 启明科技 发正式报价 下周三17:00")
    kept = await team.talk("王磊", "keep C-20260305-001")
    status = CommitmentStatus.KEPT
    assert "C-20260305-001" in registered
    assert "已兑现" in kept
    assert await team.count(Commitment, Commitment.status == status) == 1


async def test_stage_is_the_english_for_jieduan(team: SeededTeam) -> None:
    await team.talk("王磊", "stage 启明科技 方案")
    assert (await team.customer("杭州启明科技有限公司")).stage == "方案"


async def test_lead_is_the_english_for_a_new_customer(team: SeededTeam) -> None:
    await team.talk("王磊", "lead 温州东瓯电器有限公司 A")
    async with team.sessions() as db:
        stmt = select(Customer.level).where(Customer.name == "温州东瓯电器有限公司")
        assert (await db.execute(stmt)).scalar_one() == "A"


async def test_mine_is_the_english_for_wode(team: SeededTeam) -> None:
    assert await team.talk("王磊", "mine") == await team.talk("王磊", "我的")


async def test_a_chinese_command_needs_no_space_after_it(team: SeededTeam) -> None:
    await team.talk("王磊", "跟进启明科技 电话确认了试用安排")
    assert await team.count(Followup) == 1


async def test_nonsense_gets_an_answer_that_says_what_was_expected(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "今天天气不错")
    assert "没看懂「今天天气不错」" in answer
    assert "请这样写：跟进 启明科技" in answer
    assert "帮助" in answer


@pytest.mark.parametrize("text", ["", "   ", "\u3000"])
async def test_an_empty_message_gets_an_answer_too(team: SeededTeam, text: str) -> None:
    answer = await team.talk("王磊", text)
    assert "没看懂「（空消息）」" in answer
    assert "请这样写" in answer
