"""Any private note is a follow-up: no command word, a question when no customer is named, help
for small talk; the pending note lives in the database and expires."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from handlers.chat import Card, CardAction, CardUpdate, EventKind, Platform
from handlers.router import dispatch
from handlers.voice import log_voice_note
from storage.models import Commitment, Customer, Followup, PendingNote, User
from tests.core.conftest import SeededTeam, local

NOTE = "启明那边刚打完电话，刘总说预算大概十二万五，下礼拜二之前要看到方案"
NAMELESS = "刚打完电话，刘总说预算大概十二万五，下礼拜二之前要看到方案"


async def followups_of(team: SeededTeam) -> list[Followup]:
    async with team.sessions() as db:
        return list((await db.execute(select(Followup).order_by(Followup.id))).scalars())


async def test_a_note_without_a_command_word_is_logged_as_a_followup(team: SeededTeam) -> None:
    answer = await team.talk("王磊", NOTE)
    [followup] = await followups_of(team)
    assert "已记录跟进（杭州启明科技有限公司）" in answer
    assert followup.customer_id == team.customers["杭州启明科技有限公司"]
    assert followup.raw_text == NOTE
    assert followup.next_action_due_at == local(2026, 3, 10, 18, 0)
    assert followup.amount_yuan == 125000
    assert "改 时间" in answer  # the same structured log and corrections as 跟进


async def test_a_free_text_followup_can_be_corrected_with_gai(team: SeededTeam) -> None:
    await team.talk("王磊", NOTE)
    answer = await team.talk("王磊", "改 时间 周五")
    [followup] = await followups_of(team)
    assert "已更正上一条跟进" in answer
    assert followup.next_action_due_at == local(2026, 3, 6, 18, 0)


async def test_a_promise_in_a_free_text_note_becomes_a_commitment(team: SeededTeam) -> None:
    await team.talk("王磊", "瑞康药业张经理来电，我答应周五前把样品寄过去")
    assert await team.count(Commitment) == 1


async def test_a_note_naming_no_customer_asks_which_one_with_numbers(team: SeededTeam) -> None:
    answer = await team.talk("王磊", NAMELESS)
    assert "这条跟进是哪个客户的？" in answer
    assert "1. " in answer
    assert "2. " in answer
    assert "佛山宏达建材" not in answer  # only the sender's own customers are offered
    assert await followups_of(team) == []
    assert await team.count(PendingNote) == 1


async def test_the_answer_number_completes_the_pending_note(team: SeededTeam) -> None:
    await team.talk("王磊", "跟进 瑞康药业 寄了样品")
    question = await team.talk("王磊", NAMELESS)
    # the customer written about last comes first
    assert "1. 苏州瑞康药业有限公司" in question
    answer = await team.talk("王磊", "1")
    followups = await followups_of(team)
    assert "已记录跟进（苏州瑞康药业有限公司）" in answer
    assert followups[-1].raw_text == NAMELESS
    assert followups[-1].next_action_due_at == local(2026, 3, 10, 18, 0)
    assert await team.count(PendingNote) == 0


async def test_a_customer_name_answers_the_question_too(team: SeededTeam) -> None:
    await team.talk("王磊", NAMELESS)
    answer = await team.talk("王磊", "启明")
    [followup] = await followups_of(team)
    assert "已记录跟进（杭州启明科技有限公司）" in answer
    assert followup.customer_id == team.customers["杭州启明科技有限公司"]


async def test_the_pending_note_expires(team: SeededTeam) -> None:
    await team.talk("王磊", NAMELESS)
    team.clock.advance(minutes=31)
    answer = await team.talk("王磊", "1")
    assert "已过期" in answer
    assert await followups_of(team) == []
    assert await team.count(PendingNote) == 0


async def test_the_pending_note_survives_another_instance(team: SeededTeam) -> None:
    """Two workers share nothing but the database: the answer may reach the other one."""
    await team.talk("王磊", NAMELESS)
    other = replace(team.ctx)  # a fresh context, as a second instance has
    event = team.event("王磊", "2")
    async with team.sessions() as db, db.begin():
        await dispatch(event, db, other)
    assert len(await followups_of(team)) == 1


async def test_platforms_get_buttons_for_the_choices(team: SeededTeam) -> None:
    event = team.event("wanglei", NAMELESS, platform=Platform.WECOM)
    async with team.sessions() as db, db.begin():
        [card] = await dispatch(event, db, team.ctx)
    assert isinstance(card, Card)
    assert [b.key for b in card.buttons] == ["1", "2"]
    assert {b.label for b in card.buttons} == {"杭州启明科技有限公司", "苏州瑞康药业有限公司"}


async def test_a_button_click_completes_the_note(team: SeededTeam) -> None:
    await team.send(team.event("wanglei", NAMELESS, platform=Platform.WECOM))
    await team.send(team.event("wanglei", "2", platform=Platform.WECOM))
    assert len(await followups_of(team)) == 1


async def test_handling_the_note_twice_stores_it_once(team: SeededTeam) -> None:
    event = team.event("王磊", NOTE)
    await team.send(event)
    await team.send(event)
    assert len(await followups_of(team)) == 1


async def test_small_talk_gets_help_not_a_followup(team: SeededTeam) -> None:
    for text in ("你好", "怎么用", "在吗？", "这个怎么记跟进？"):
        answer = await team.talk("王磊", text)
        assert "直接把跟进情况发给我" in answer, text
    assert await followups_of(team) == []
    assert await team.count(PendingNote) == 0


async def test_the_command_words_keep_working(team: SeededTeam) -> None:
    await team.talk("王磊", "跟进 启明科技 电话确认了试用安排")
    assert len(await followups_of(team)) == 1


async def test_a_summary_is_one_short_line_and_the_full_text_is_kept(team: SeededTeam) -> None:
    long_note = (
        "启明科技刘总来电，" + "详细讨论了部署方案和数据迁移的每一个步骤，" * 20 + "下周三前给报价"
    )
    await team.talk("王磊", long_note)
    [followup] = await followups_of(team)
    assert followup.raw_text == long_note
    assert len(followup.summary) <= 60
    assert "\n" not in followup.summary
    assert "下一步：给报价（3月11日）" in followup.summary
    assert followup.summary.startswith("刘总")


async def test_a_clicked_choice_updates_the_question_card(team: SeededTeam) -> None:
    await team.send(team.event("wanglei", NAMELESS, platform=Platform.WECOM))
    click = replace(
        team.event("wanglei", "1", platform=Platform.WECOM),
        kind=EventKind.CARD_ACTION,
        action=CardAction(key="1", card_id="pick-card", response_code="rc-9"),
    )
    async with team.sessions() as db, db.begin():
        out = await dispatch(click, db, team.ctx)
    [followup] = await followups_of(team)
    async with team.sessions() as db:
        picked = (await db.get_one(Customer, followup.customer_id)).name
    assert out[0] == CardUpdate("pick-card", f"已记入 {picked} ✓", "rc-9")
    assert len(await followups_of(team)) == 1


async def test_a_number_out_of_range_asks_again(team: SeededTeam) -> None:
    await team.talk("王磊", NAMELESS)
    answer = await team.talk("王磊", "7")
    assert "请回复 1–2 之间的数字" in answer
    assert await team.count(PendingNote) == 1


async def test_a_note_about_someone_elses_customer_is_refused(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "宏达建材王经理来电，下周一前要报价")
    assert "客户「宏达建材」不是你负责的客户" in answer
    assert await followups_of(team) == []
    assert await team.count(PendingNote) == 0


async def test_a_group_message_is_not_logged_without_the_command_word(team: SeededTeam) -> None:
    event = replace(team.event("王磊", NOTE), is_group=True, conversation_id="chat-1")
    [answer] = await team.send(event)
    assert "没看懂" in answer
    assert "在群里请写「跟进」" in answer
    assert await followups_of(team) == []


async def test_a_customer_named_by_sound_is_found_without_a_command_word(
    team: SeededTeam,
) -> None:
    """The extractor's sound-alike matching works for free text too (起明 for 启明)."""
    answer = await team.talk("王磊", "起明科技刘总说下周三前要报价")
    [followup] = await followups_of(team)
    assert followup.customer_id == team.customers["杭州启明科技有限公司"]
    assert "已记录跟进（杭州启明科技有限公司）" in answer


async def test_a_voice_note_naming_no_customer_asks_too_and_stays_a_voice_note(
    team: SeededTeam,
) -> None:
    async with team.sessions() as db, db.begin():
        user = await db.get_one(User, team.users["王磊"])
        [card] = await log_voice_note(
            db, team.ctx, user=user, transcript=NAMELESS, message_id="v-1", asr={}
        )
    assert isinstance(card, Card)
    assert card.title == "这条跟进是哪个客户的？"
    assert f"我听到的是：「{NAMELESS}」" in card.lines[0]
    await team.talk("王磊", "1")
    [followup] = await followups_of(team)
    assert (followup.source, followup.transcript) == ("voice", NAMELESS)
    assert followup.source_message_id == "voice:v-1"
