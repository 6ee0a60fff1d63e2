"""跟进: a note becomes a follow-up of the right customer, with its next step's date in UTC."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC

from sqlalchemy import select

from handlers.extraction import RuleExtractor
from storage.models import Commitment, Followup
from tests.core.conftest import SeededTeam, local


async def followups_of(team: SeededTeam) -> list[Followup]:
    async with team.sessions() as db:
        return list((await db.execute(select(Followup).order_by(Followup.id))).scalars())


async def test_a_followup_by_full_name_is_stored_for_that_customer(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "跟进 杭州启明科技有限公司 电话确认了试用安排")
    [followup] = await followups_of(team)
    assert "已记录跟进（杭州启明科技有限公司）" in answer
    assert followup.customer_id == team.customers["杭州启明科技有限公司"]
    assert followup.author_id == team.users["王磊"]
    assert followup.raw_text == "杭州启明科技有限公司 电话确认了试用安排"


async def test_a_followup_by_alias_is_stored_for_that_customer(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "跟进 启明 刘总认可方案")
    [followup] = await followups_of(team)
    assert followup.customer_id == team.customers["杭州启明科技有限公司"]
    assert "联系人：刘总" in answer


async def test_a_customer_named_inside_the_note_is_found(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "跟进 电话回访了启明科技刘总，对方下周二给答复")
    [followup] = await followups_of(team)
    assert followup.customer_id == team.customers["杭州启明科技有限公司"]
    assert "已记录跟进（杭州启明科技有限公司）" in answer


async def test_a_note_after_a_word_that_is_not_a_customer_still_finds_the_customer(
    team: SeededTeam,
) -> None:
    await team.talk("王磊", "跟进 上午 拜访了瑞康药业采购部，下周一寄样品")
    [followup] = await followups_of(team)
    assert followup.customer_id == team.customers["苏州瑞康药业有限公司"]


async def test_the_next_action_date_is_stored_as_aware_utc(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "跟进 启明科技 电话确认了试用安排，下周三前给反馈")
    [followup] = await followups_of(team)
    # 下周三 said on Thursday 3月5日 is 3月11日; a date without a time is due 18:00 local.
    assert followup.next_action_due_at == local(2026, 3, 11, 18, 0)
    assert followup.next_action_due_at.tzinfo == UTC
    assert "截止：3月11日(周三)" in answer


async def test_a_next_action_with_a_time_of_day_keeps_the_time(team: SeededTeam) -> None:
    await team.talk("王磊", "跟进 启明科技 刘总同意方案，3月10日10:00发合同")
    [followup] = await followups_of(team)
    assert followup.next_action_due_at == local(2026, 3, 10, 10, 0)
    assert followup.next_action == "发合同"


async def test_a_dated_next_step_is_remembered_on_the_customer(team: SeededTeam) -> None:
    await team.talk("王磊", "跟进 启明科技 电话确认了试用安排，下周三前给反馈")
    customer = await team.customer("杭州启明科技有限公司")
    assert customer.next_step_due_at == local(2026, 3, 11, 18, 0)
    assert customer.last_evidence_at == team.clock.now()


async def test_an_unknown_customer_is_refused_with_an_example(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "跟进 火星科技 电话沟通了需求")
    assert "没找到客户「火星科技」" in answer
    assert "请这样写：跟进 " in answer
    assert await followups_of(team) == []


async def test_an_empty_followup_asks_for_customer_and_content(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "跟进")
    assert "请写上客户和跟进内容" in answer
    assert "请这样写" in answer


async def test_a_customer_without_a_note_asks_what_was_done(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "跟进 启明科技")
    assert "请写上和「杭州启明科技有限公司」跟进了什么" in answer
    assert "请这样写" in answer
    assert await followups_of(team) == []


async def test_the_answer_shows_the_parsed_log_and_how_to_correct_it_once(
    team: SeededTeam,
) -> None:
    answer = await team.talk("王磊", "跟进 启明科技 电话确认了试用安排，下周三前给反馈")
    assert "下一步：给反馈" in answer
    assert answer.count("改 时间 周五") == 1


async def test_a_stage_said_in_the_note_moves_the_customer(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "跟进 启明科技 刘总确认预算，进入谈判阶段")
    assert (await team.customer("杭州启明科技有限公司")).stage == "谈判"
    assert "阶段已更新：谈判" in answer


async def test_a_backward_stage_in_the_note_is_not_applied(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "跟进 瑞康 客户预算冻结，回到线索阶段")
    assert (await team.customer("苏州瑞康药业有限公司")).stage == "意向"
    assert "阶段未变" in answer
    # the hint is a command that would succeed for a rep: a forward move
    assert "阶段 苏州瑞康药业有限公司 方案" in answer


async def test_a_stage_hint_outside_the_funnel_is_ignored(team: SeededTeam) -> None:
    team.ctx = replace(team.ctx, extractor=RuleExtractor((*team.ctx.rules.stage_names, "报价")))
    answer = await team.talk("王磊", "跟进 瑞康 客户进入报价阶段")
    assert (await team.customer("苏州瑞康药业有限公司")).stage == "意向"
    assert "不能直接改到" not in answer


async def test_a_promise_in_the_note_registers_a_commitment(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "跟进 瑞康 我答应周五前发报价给张经理")
    [followup] = await followups_of(team)
    async with team.sessions() as db:
        commitment = (await db.execute(select(Commitment))).scalar_one()
    assert "已登记承诺 C-20260305-001" in answer
    assert (commitment.followup_id, commitment.due_at) == (followup.id, local(2026, 3, 6, 18, 0))


async def test_a_misspelt_customer_is_still_found(team: SeededTeam) -> None:
    await team.talk("王磊", "跟进 启明科记 电话沟通了需求")
    [followup] = await followups_of(team)
    assert followup.customer_id == team.customers["杭州启明科技有限公司"]


async def test_a_next_action_in_another_year_shows_the_year(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "跟进 启明科技 刘总说预算要等到2027年1月10日前确认")
    assert "截止：2027年1月10日" in answer
