"""Who may act on which customer: a rep on their own, a manager on the team's, a director on all."""

from __future__ import annotations

from sqlalchemy import select

from handlers.chat import Platform
from storage.models import AuditEntry, Commitment, Followup
from tests.core.conftest import SeededTeam


async def denials(team: SeededTeam, user: str) -> list[AuditEntry]:
    async with team.sessions() as db:
        stmt = select(AuditEntry).where(
            AuditEntry.action == "denied", AuditEntry.actor_id == team.users[user]
        )
        return list((await db.execute(stmt)).scalars())


async def test_a_rep_is_refused_a_followup_on_another_reps_customer(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "跟进 宏达建材 电话沟通了报价")
    assert "你能查看的客户里没有「宏达建材」" in answer
    assert await team.count(Followup) == 0


async def test_a_refusal_is_audited_as_denied(team: SeededTeam) -> None:
    await team.talk("王磊", "跟进 宏达建材 电话沟通了报价")
    [entry] = await denials(team, "王磊")
    assert entry.at == team.clock.now()
    assert entry.note is not None
    assert "宏达建材" in entry.note


async def test_a_rep_is_refused_a_stage_move_on_another_reps_customer(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "阶段 佛山宏达建材 方案")
    assert "你能查看的客户里没有" in answer
    assert (await team.customer("佛山宏达建材")).stage == "线索"
    assert len(await denials(team, "王磊")) == 1


async def test_a_rep_is_refused_a_commitment_on_another_reps_customer(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "承诺 宏达 寄样品 周五")
    assert "你能查看的客户里没有" in answer
    assert await team.count(Commitment) == 0


async def test_a_rep_is_refused_a_payment_on_another_reps_customer(team: SeededTeam) -> None:
    answer = await team.talk("李娜", "回款 启明 12万")
    assert "你能查看的客户里没有" in answer
    assert len(await denials(team, "李娜")) == 1


async def test_a_manager_may_log_a_followup_on_the_teams_customer(team: SeededTeam) -> None:
    answer = await team.talk("陈静", "跟进 启明科技 陪王磊拜访刘总")
    async with team.sessions() as db:
        followup = (await db.execute(select(Followup))).scalar_one()
    assert "已记录跟进（杭州启明科技有限公司）" in answer
    assert followup.author_id == team.users["陈静"]


async def test_a_manager_may_move_the_stage_of_the_teams_customer(team: SeededTeam) -> None:
    await team.talk("陈静", "阶段 宏达 意向")
    assert (await team.customer("佛山宏达建材")).stage == "意向"


async def test_a_manager_is_refused_another_teams_customer(team: SeededTeam) -> None:
    answer = await team.talk("陈静", "跟进 南方电子 电话沟通")
    assert "你能查看的客户里没有" in answer
    assert len(await denials(team, "陈静")) == 1


async def test_a_director_may_act_on_every_customer(team: SeededTeam) -> None:
    for customer in ("启明科技", "宏达建材", "南方电子"):
        answer = await team.talk("赵强", f"跟进 {customer} 电话了解进展")
        assert "已记录跟进" in answer
    assert await team.count(Followup) == 3


async def test_an_unknown_sender_is_told_they_are_not_registered(team: SeededTeam) -> None:
    answer = await team.talk("刘洋", "跟进 启明科技 电话沟通")
    assert "你还没有在 salesbot 登记" in answer
    assert await team.count(Followup) == 0


async def test_a_deactivated_user_gets_a_clear_answer(team: SeededTeam) -> None:
    answer = await team.talk("孙丽", "我的")
    assert "你的账号已停用" in answer


async def test_a_wecom_sender_is_known_by_their_wecom_id(team: SeededTeam) -> None:
    [answer] = await team.send(team.event("wanglei", "我的", platform=Platform.WECOM))
    assert "杭州启明科技有限公司" in answer


async def test_a_wecom_sender_is_not_known_by_their_name(team: SeededTeam) -> None:
    [answer] = await team.send(team.event("王磊", "我的", platform=Platform.WECOM))
    assert "你还没有在 salesbot 登记" in answer


async def test_a_dingtalk_sender_is_known_by_their_dingtalk_id(team: SeededTeam) -> None:
    [answer] = await team.send(team.event("dt_lina", "我的", platform=Platform.DINGTALK))
    assert "佛山宏达建材" in answer
