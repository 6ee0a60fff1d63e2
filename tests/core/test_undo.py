"""撤销 takes back the sender's last change within 24 hours; managers reopen stages with a reason;
改 阶段 corrects a note's stage from where the customer was before the note."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers import undo
from handlers.chat import Push
from handlers.router import dispatch
from storage.models import (
    AuditEntry,
    Commitment,
    CommitmentStatus,
    CustomerEvent,
    Followup,
    StageChange,
    Task,
)
from tests.core.conftest import SeededTeam


async def test_undo_takes_back_the_last_followup(team: SeededTeam) -> None:
    await team.talk("王磊", "跟进 启明科技 电话确认了试用安排，下周三前给反馈")
    answer = await team.talk("王磊", "撤销")
    assert answer.startswith("已撤销：跟进（杭州启明科技有限公司）")
    assert await team.count(Followup) == 0
    customer = await team.customer("杭州启明科技有限公司")
    assert customer.next_step_due_at is None
    assert customer.last_evidence_at is None


async def test_undoing_a_note_takes_its_commitment_and_stage_move_with_it(
    team: SeededTeam,
) -> None:
    await team.talk("王磊", "启明刘总确认预算，进入谈判阶段，我答应周五前给报价")
    assert (await team.customer("杭州启明科技有限公司")).stage == "谈判"
    answer = await team.talk("王磊", "撤销")
    assert "承诺 C-20260305-001" in answer
    assert "阶段回到「线索」" in answer
    assert (await team.customer("杭州启明科技有限公司")).stage == "线索"
    async with team.sessions() as db:
        commitment = (await db.execute(select(Commitment))).scalar_one()
    assert commitment.status == CommitmentStatus.CANCELLED
    assert await team.count(StageChange, StageChange.to_stage == "谈判") == 0


async def test_undo_takes_back_a_stage_move(team: SeededTeam) -> None:
    await team.talk("王磊", "阶段 启明科技 方案")
    answer = await team.talk("王磊", "撤销")
    assert "阶段：线索 → 方案" in answer
    assert (await team.customer("杭州启明科技有限公司")).stage == "线索"


async def test_undoing_a_signing_removes_the_sop_tasks_it_created(team: SeededTeam) -> None:
    signed = await team.talk("王磊", "签约 启明科技 到期 2027-03-31 账期 60")
    assert "已生成任务卡" in signed
    assert await team.count(Task) > 0
    answer = await team.talk("王磊", "撤销")
    assert "签约（杭州启明科技有限公司）" in answer
    assert "张任务卡" in answer
    assert await team.count(Task) == 0
    assert await team.count(CustomerEvent) == 0
    assert (await team.customer("杭州启明科技有限公司")).stage == "线索"


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("交付 启明科技", "交付（杭州启明科技有限公司）"),
        ("回款 启明科技 5万", "回款（杭州启明科技有限公司 50,000.00 元）"),
    ],
)
async def test_undo_takes_back_a_delivery_or_a_payment(
    team: SeededTeam, command: str, said: str
) -> None:
    await team.talk("王磊", command)
    answer = await team.talk("王磊", "撤销")
    assert said in answer
    assert await team.count(CustomerEvent) == 0
    assert await team.count(Task) == 0


async def test_undo_cancels_a_commitment(team: SeededTeam) -> None:
    await team.talk("王磊", "承诺 启明科技 发正式报价 下周三17:00")
    answer = await team.talk("王磊", "撤销")
    assert "已撤销：承诺 C-20260305-001" in answer
    assert "你没有未兑现的承诺" in await team.talk("王磊", "我的承诺")


async def test_undo_goes_back_one_change_at_a_time(team: SeededTeam) -> None:
    await team.talk("王磊", "跟进 启明科技 电话确认了试用安排")
    await team.talk("王磊", "阶段 启明科技 意向")
    await team.talk("王磊", "撤销")
    assert await team.count(Followup) == 1
    await team.talk("王磊", "撤销")
    assert await team.count(Followup) == 0
    assert "没有可以撤销的改动" in await team.talk("王磊", "撤销")


async def test_nothing_older_than_a_day_is_undone(team: SeededTeam) -> None:
    await team.talk("王磊", "跟进 启明科技 电话确认了试用安排")
    team.clock.advance(hours=25)
    answer = await team.talk("王磊", "撤销")
    assert "24 小时内没有可以撤销的改动" in answer
    assert await team.count(Followup) == 1


async def test_undo_never_takes_back_someone_elses_change(team: SeededTeam) -> None:
    await team.talk("王磊", "跟进 启明科技 电话确认了试用安排")
    assert "没有可以撤销的改动" in await team.talk("李娜", "撤销")
    assert await team.count(Followup) == 1


async def test_undo_is_audited(team: SeededTeam) -> None:
    await team.talk("王磊", "阶段 启明科技 方案")
    await team.talk("王磊", "撤销")
    async with team.sessions() as db:
        entry = (
            await db.execute(select(AuditEntry).where(AuditEntry.action == "undone"))
        ).scalar_one()
    assert entry.actor_id == team.users["王磊"]
    assert "王磊 撤销了" in (entry.note or "")


def test_the_builtin_changes_are_registered_and_a_kind_is_registered_once() -> None:
    assert {"followup", "stage", "event", "commitment"} <= undo.registered_kinds()

    async def other(*_: object) -> str:
        return ""

    with pytest.raises(ValueError, match="registered twice"):
        undo.register("followup", other)  # type: ignore[arg-type]


async def test_a_manager_reopens_a_lost_deal_with_a_reason_and_the_owner_is_told(
    team: SeededTeam,
) -> None:
    await team.talk("王磊", "阶段 瑞康 丢单")
    event = team.event("陈静", "阶段 瑞康 意向 原因 客户重启采购")
    async with team.sessions() as db, db.begin():
        out = await dispatch(event, db, team.ctx)
    assert (await team.customer("苏州瑞康药业有限公司")).stage == "意向"
    [push] = [o for o in out if isinstance(o, Push)]
    assert push.recipient_id == team.users["王磊"]
    assert "客户重启采购" in push.message.text  # type: ignore[union-attr]
    async with team.sessions() as db:
        entry = (
            await db.execute(select(AuditEntry).where(AuditEntry.action == "stage_reopened"))
        ).scalar_one()
    assert entry.note == "客户重启采购"


async def test_a_manager_moving_back_is_asked_for_the_reason(team: SeededTeam) -> None:
    answer = await team.talk("陈静", "阶段 瑞康 线索")
    assert "请这样写：阶段 苏州瑞康药业有限公司 线索 原因 客户重启采购" in answer
    assert (await team.customer("苏州瑞康药业有限公司")).stage == "意向"


async def test_a_rep_moving_back_gets_an_example_that_would_succeed(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "阶段 瑞康 线索")
    example = answer.split("请这样写：", 1)[1]
    assert example == "阶段 苏州瑞康药业有限公司 方案"
    assert "「苏州瑞康药业有限公司」阶段：意向 → 方案" in await team.talk("王磊", example)


async def test_correcting_a_notes_lost_stage_works(team: SeededTeam) -> None:
    await team.talk("王磊", "跟进 启明科技 刘总说这单黄了")
    assert (await team.customer("杭州启明科技有限公司")).stage == "丢单"
    answer = await team.talk("王磊", "改 阶段 方案")
    assert "已更正上一条跟进：阶段 → 方案" in answer
    assert (await team.customer("杭州启明科技有限公司")).stage == "方案"
    # and undoing the note now takes the corrected stage back too
    await team.talk("王磊", "撤销")
    assert (await team.customer("杭州启明科技有限公司")).stage == "线索"


async def test_a_refused_stage_correction_shows_one_that_would_succeed(team: SeededTeam) -> None:
    await team.talk("王磊", "跟进 瑞康 电话沟通了需求")
    answer = await team.talk("王磊", "改 阶段 线索")
    example = answer.split("请这样写：", 1)[1]
    assert example == "改 阶段 方案"
    assert "已更正" in await team.talk("王磊", example)


async def test_a_kept_commitment_is_not_undone(team: SeededTeam) -> None:
    await team.talk("王磊", "承诺 启明科技 发正式报价 下周三17:00")
    await team.talk("王磊", "兑现 C-20260305-001")
    answer = await team.talk("王磊", "撤销")
    assert "已兑现，不能撤销" in answer
    async with team.sessions() as db:
        commitment = (await db.execute(select(Commitment))).scalar_one()
    assert commitment.status == CommitmentStatus.KEPT
