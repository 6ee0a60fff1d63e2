"""Who may act on which customer: a rep on their own, a manager on the team's, a director on all."""

from __future__ import annotations

from sqlalchemy import select

from handlers.chat import Platform, Push, message_as_text
from handlers.router import dispatch
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
    assert "客户「宏达建材」不是你负责的客户" in answer
    assert await team.count(Followup) == 0


async def test_a_refusal_is_audited_as_denied(team: SeededTeam) -> None:
    await team.talk("王磊", "跟进 宏达建材 电话沟通了报价")
    [entry] = await denials(team, "王磊")
    assert entry.at == team.clock.now()
    assert entry.note is not None
    assert "宏达建材" in entry.note


async def test_a_rep_is_refused_a_stage_move_on_another_reps_customer(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "阶段 佛山宏达建材 方案")
    assert "不是你负责的客户" in answer
    assert (await team.customer("佛山宏达建材")).stage == "线索"
    assert len(await denials(team, "王磊")) == 1


async def test_a_rep_is_refused_a_commitment_on_another_reps_customer(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "承诺 宏达 寄样品 周五")
    assert "不是你负责的客户" in answer
    assert await team.count(Commitment) == 0


async def test_a_rep_is_refused_a_payment_on_another_reps_customer(team: SeededTeam) -> None:
    answer = await team.talk("李娜", "回款 启明 12万")
    assert "不是你负责的客户" in answer
    assert len(await denials(team, "李娜")) == 1


async def test_a_manager_may_not_log_a_followup_on_a_reps_behalf(team: SeededTeam) -> None:
    answer = await team.talk("陈静", "跟进 启明科技 陪王磊拜访刘总")
    assert "只能由负责的销售本人操作" in answer
    assert await team.count(Followup) == 0
    assert len(await denials(team, "陈静")) == 1


async def test_a_manager_may_correct_the_stage_of_the_teams_customer(team: SeededTeam) -> None:
    async with team.sessions() as db, db.begin():
        out = await dispatch(team.event("陈静", "阶段 宏达 意向"), db, team.ctx)
    assert (await team.customer("佛山宏达建材")).stage == "意向"
    [told] = [p for p in out if isinstance(p, Push)]
    assert told.recipient_id == team.users["李娜"]
    assert "陈静 把你的客户「佛山宏达建材」从「线索」改为「意向」" in message_as_text(told.message)
    # a correction may go back a stage too (a rep may not), and it is audited
    assert "意向 → 线索" in await team.talk("陈静", "阶段 宏达 线索 原因 客户还没立项")
    assert "线索 → 意向" in await team.talk("李娜", "阶段 宏达 意向")
    assert "不能从「意向」改到「线索」" in await team.talk("李娜", "阶段 宏达 线索")
    assert (await team.audit_actions()).count("stage_move") == 3


async def test_a_manager_is_refused_changes_on_another_teams_customer(team: SeededTeam) -> None:
    for line in ("跟进 南方电子 电话沟通", "阶段 南方电子 方案", "改派 南方电子 王磊"):
        answer = await team.talk("陈静", line)
        assert "不是你" in answer, line
    assert (await team.customer("广州南方电子有限公司")).stage == "意向"
    assert len(await denials(team, "陈静")) == 3


async def test_a_manager_reads_every_teams_customer(team: SeededTeam) -> None:
    answer = await team.talk("陈静", "为什么 南方电子")
    assert "「广州南方电子有限公司」时间线" in answer


async def test_a_director_supervises_every_customer_but_acts_on_none(team: SeededTeam) -> None:
    assert "已通知负责人" in await team.talk("赵强", "阶段 南方电子 方案")
    assert (await team.customer("广州南方电子有限公司")).stage == "方案"
    answer = await team.talk("赵强", "跟进 南方电子 电话了解进展")
    assert "只能由负责的销售本人操作" in answer
    assert await team.count(Followup) == 0


async def test_a_manager_reassigns_a_customer_with_its_open_commitments(
    team: SeededTeam,
) -> None:
    await team.talk("王磊", "承诺 启明科技 发正式报价 下周三17:00")
    async with team.sessions() as db, db.begin():
        out = await dispatch(team.event("陈静", "改派 启明科技 李娜"), db, team.ctx)
    assert "已把「杭州启明科技有限公司」改派给 李娜，未兑现承诺 1 条随之移交" in message_as_text(
        out[0]
    )
    told = sorted(p.recipient_id for p in out if isinstance(p, Push))
    assert told == sorted([team.users["王磊"], team.users["李娜"]])
    assert (await team.customer("杭州启明科技有限公司")).owner_id == team.users["李娜"]
    async with team.sessions() as db:
        commitment = (await db.execute(select(Commitment))).scalar_one()
    assert commitment.owner_id == team.users["李娜"]
    assert "customer_reassigned" in await team.audit_actions()
    assert "不在你的团队" in await team.talk("陈静", "改派 启明科技 张伟")
    assert "只有主管" in await team.talk("王磊", "改派 瑞康 李娜")


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


async def test_a_manager_reopens_a_lost_customer_and_a_rep_may_not(team: SeededTeam) -> None:
    await team.talk("李娜", "阶段 宏达 丢单")
    assert "如需重开请主管发" in await team.talk("李娜", "阶段 宏达 意向")
    answer = await team.talk("陈静", "阶段 宏达 意向 原因 客户重启采购")
    assert "丢单 → 意向（原因：客户重启采购）（已通知负责人）" in answer
    assert (await team.customer("佛山宏达建材")).stage == "意向"
