"""改: the rep's latest follow-up is corrected field by field without typing the note again."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from storage.models import Commitment, Followup
from tests.core.conftest import SeededTeam, local

NOTE = "跟进 启明科技 电话确认了试用安排，下周三前给反馈"


async def latest_followup(team: SeededTeam) -> Followup:
    async with team.sessions() as db:
        stmt = select(Followup).order_by(Followup.id.desc()).limit(1)
        return (await db.execute(stmt)).scalar_one()


async def test_changing_the_time_moves_the_next_step(team: SeededTeam) -> None:
    await team.talk("王磊", NOTE)
    answer = await team.talk("王磊", "改 时间 周五")
    followup = await latest_followup(team)
    assert followup.next_action_due_at == local(2026, 3, 6, 18, 0)
    assert "已更正上一条跟进：时间 → 3月6日(周五)" in answer


async def test_changing_the_customer_moves_the_followup(team: SeededTeam) -> None:
    await team.talk("王磊", NOTE)
    answer = await team.talk("王磊", "改 客户 瑞康")
    followup = await latest_followup(team)
    assert followup.customer_id == team.customers["苏州瑞康药业有限公司"]
    assert "苏州瑞康药业有限公司" in answer


async def test_changing_the_amount_reads_wan(team: SeededTeam) -> None:
    await team.talk("王磊", NOTE)
    answer = await team.talk("王磊", "改 金额 12.5万")
    followup = await latest_followup(team)
    assert followup.amount_yuan == Decimal("125000")
    assert "125,000.00 元" in answer


async def test_only_the_latest_followup_of_the_sender_is_changed(team: SeededTeam) -> None:
    await team.talk("王磊", "跟进 瑞康 寄了样品")
    await team.talk("李娜", "跟进 宏达 电话沟通了报价，周五前回复")
    await team.talk("王磊", "改 金额 3万")
    async with team.sessions() as db:
        amounts = dict((await db.execute(select(Followup.author_id, Followup.amount_yuan))).all())
    assert amounts == {team.users["王磊"]: Decimal("30000"), team.users["李娜"]: None}


async def test_an_unreadable_time_is_refused_with_an_example(team: SeededTeam) -> None:
    await team.talk("王磊", NOTE)
    answer = await team.talk("王磊", "改 时间 回头再说")
    assert "没看懂时间「回头再说」" in answer
    assert "请这样写" in answer
    assert (await latest_followup(team)).next_action_due_at == local(2026, 3, 11, 18, 0)


async def test_an_unreadable_amount_is_refused_with_an_example(team: SeededTeam) -> None:
    await team.talk("王磊", NOTE)
    answer = await team.talk("王磊", "改 金额 很多")
    assert "没看懂金额「很多」" in answer
    assert "请这样写：改 金额 12.5万" in answer


async def test_an_unknown_field_is_refused_with_the_fields_one_can_change(
    team: SeededTeam,
) -> None:
    await team.talk("王磊", NOTE)
    answer = await team.talk("王磊", "改 颜色 红")
    assert "时间、客户、联系人、事项、金额、阶段" in answer
    assert "请这样写：改 时间 周五" in answer


async def test_a_correction_without_any_followup_says_so(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "改 时间 周五")
    assert "你还没有可更正的跟进记录" in answer
    assert "请这样写" in answer


async def test_moving_a_followup_to_someone_elses_customer_is_refused(team: SeededTeam) -> None:
    await team.talk("王磊", NOTE)
    answer = await team.talk("王磊", "改 客户 宏达")
    assert "不是你负责的客户" in answer
    assert (await latest_followup(team)).customer_id == team.customers["杭州启明科技有限公司"]


async def test_changing_the_customer_moves_the_commitment_made_in_the_note(
    team: SeededTeam,
) -> None:
    await team.talk("王磊", "跟进 瑞康 我答应周五前发报价给张经理")
    await team.talk("王磊", "改 客户 启明")
    async with team.sessions() as db:
        commitment = (await db.execute(select(Commitment))).scalar_one()
    assert commitment.customer_id == team.customers["杭州启明科技有限公司"]


async def test_changing_the_time_moves_the_commitment_made_in_the_note(team: SeededTeam) -> None:
    await team.talk("王磊", "跟进 瑞康 我答应周五前发报价给张经理")
    await team.talk("王磊", "改 时间 下周一10:00")
    async with team.sessions() as db:
        commitment = (await db.execute(select(Commitment))).scalar_one()
    assert commitment.due_at == local(2026, 3, 9, 10, 0)
