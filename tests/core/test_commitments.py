"""承诺 / 兑现 / 我的承诺: a promise gets a code and a due time, is closed once, is listed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import AuditEntry, Commitment, CommitmentStatus
from tests.core.conftest import SeededTeam, local

PROMISE = "承诺 启明科技 发正式报价 下周三17:00"


async def commitments_of(team: SeededTeam) -> list[Commitment]:
    async with team.sessions() as db:
        return list((await db.execute(select(Commitment).order_by(Commitment.id))).scalars())


async def test_a_commitment_answers_its_code(team: SeededTeam) -> None:
    answer = await team.talk("王磊", PROMISE)
    assert "已登记承诺 C-20260305-001" in answer
    assert "兑现 C-20260305-001" in answer


async def test_a_commitment_is_stored_with_its_due_time_in_utc(team: SeededTeam) -> None:
    await team.talk("王磊", PROMISE)
    [commitment] = await commitments_of(team)
    assert commitment.code == "C-20260305-001"
    assert commitment.customer_id == team.customers["杭州启明科技有限公司"]
    assert commitment.owner_id == team.users["王磊"]
    assert commitment.what == "发正式报价"
    assert commitment.due_at == local(2026, 3, 11, 17, 0)
    assert commitment.status == CommitmentStatus.OPEN


async def test_the_day_and_the_time_may_be_two_words(team: SeededTeam) -> None:
    await team.talk("王磊", "承诺 启明科技 发正式报价 下周三 17:00")
    [commitment] = await commitments_of(team)
    assert (commitment.what, commitment.due_at) == ("发正式报价", local(2026, 3, 11, 17, 0))


async def test_the_evidence_is_kept(team: SeededTeam) -> None:
    await team.talk("王磊", PROMISE + " 依据 3月5日会议纪要")
    [commitment] = await commitments_of(team)
    assert commitment.evidence == "3月5日会议纪要"
    assert commitment.what == "发正式报价"


async def test_the_next_commitment_of_the_day_gets_the_next_number(team: SeededTeam) -> None:
    await team.talk("王磊", PROMISE)
    answer = await team.talk("李娜", "承诺 宏达 寄样品 周五")
    assert "C-20260305-002" in answer


async def test_a_commitment_due_in_the_past_is_refused(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "承诺 启明科技 发正式报价 今天9:00")
    assert "承诺时间已经过去了" in answer
    assert "请这样写：承诺 启明科技" in answer
    assert await commitments_of(team) == []


async def test_a_commitment_without_a_time_is_refused(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "承诺 启明科技 发正式报价 回头再说")
    assert "没看懂承诺的时间" in answer
    assert "请这样写" in answer


async def test_a_commitment_with_only_a_customer_is_refused(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "承诺 启明科技")
    assert "承诺需要客户、事项和时间" in answer
    assert "请这样写" in answer


async def test_a_commitment_to_an_unknown_customer_is_refused(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "承诺 火星科技 发正式报价 下周三17:00")
    assert "没找到客户「火星科技」" in answer
    assert "请这样写" in answer


async def test_a_refused_commitment_uses_up_no_number(team: SeededTeam) -> None:
    await team.talk("王磊", "承诺 启明科技 发正式报价 今天9:00")
    answer = await team.talk("王磊", PROMISE)
    assert "C-20260305-001" in answer


async def test_keeping_a_commitment_closes_it(team: SeededTeam) -> None:
    await team.talk("王磊", PROMISE)
    team.clock.advance(days=2)
    answer = await team.talk("王磊", "兑现 C-20260305-001")
    [commitment] = await commitments_of(team)
    assert "承诺 C-20260305-001 已兑现" in answer
    assert commitment.status == CommitmentStatus.KEPT
    assert commitment.kept_at == local(2026, 3, 7, 18, 30)


async def test_the_code_may_be_typed_in_lower_case(team: SeededTeam) -> None:
    await team.talk("王磊", PROMISE)
    answer = await team.talk("王磊", "兑现 c-20260305-001")
    assert "已兑现" in answer


async def test_keeping_late_says_it_was_late(team: SeededTeam) -> None:
    await team.talk("王磊", PROMISE)
    team.clock.advance(days=7)
    answer = await team.talk("王磊", "兑现 C-20260305-001")
    assert "已逾期兑现" in answer


async def test_keeping_an_unknown_code_is_refused(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "兑现 C-20260305-999")
    assert "没有编号为 C-20260305-999 的承诺" in answer
    assert "请这样写：兑现 C-" in answer


async def test_keeping_without_a_code_asks_for_it(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "兑现")
    assert "请写上承诺编号" in answer
    assert "请这样写" in answer


async def test_keeping_twice_is_refused_the_second_time(team: SeededTeam) -> None:
    await team.talk("王磊", PROMISE)
    await team.talk("王磊", "兑现 C-20260305-001")
    answer = await team.talk("王磊", "兑现 C-20260305-001")
    assert "已经是「已兑现」状态" in answer
    assert await team.count(AuditEntry, AuditEntry.action == "commitment_kept") == 1


async def test_keeping_someone_elses_commitment_is_refused_and_audited(team: SeededTeam) -> None:
    await team.talk("李娜", "承诺 宏达 寄样品 周五")
    answer = await team.talk("王磊", "兑现 C-20260305-001")
    [commitment] = await commitments_of(team)
    assert "不是你的" in answer
    assert commitment.status == CommitmentStatus.OPEN
    denied = AuditEntry.action == "denied", AuditEntry.actor_id == team.users["王磊"]
    assert await team.count(AuditEntry, *denied) == 1


async def test_nobody_keeps_a_commitment_on_the_reps_behalf(team: SeededTeam) -> None:
    await team.talk("李娜", "承诺 宏达 寄样品 周五")
    for boss in ("陈静", "赵强", "周敏"):  # own manager, director, another team's manager
        answer = await team.talk(boss, "兑现 C-20260305-001")
        assert "只能由负责的销售本人操作" in answer, boss
    async with team.sessions() as db:
        commitment = (await db.execute(select(Commitment))).scalar_one()
    assert commitment.status == "open"
    assert "已兑现" in await team.talk("李娜", "兑现 C-20260305-001")


async def test_my_commitments_lists_the_open_ones_soonest_first(team: SeededTeam) -> None:
    await team.talk("王磊", "承诺 启明科技 发正式报价 下周三17:00")
    await team.talk("王磊", "承诺 瑞康 寄样品 周五")
    await team.talk("王磊", "承诺 瑞康 安排演示 下周一")
    await team.talk("王磊", "兑现 C-20260305-003")
    await team.talk("李娜", "承诺 宏达 寄样品 周五")
    answer = await team.talk("王磊", "我的承诺")
    lines = answer.splitlines()
    assert lines[0] == "未兑现的承诺（2）："
    assert lines[1].startswith("C-20260305-002 苏州瑞康药业有限公司：寄样品")
    assert lines[2].startswith("C-20260305-001 杭州启明科技有限公司：发正式报价")


async def test_my_commitments_marks_the_overdue_ones(team: SeededTeam) -> None:
    await team.talk("王磊", PROMISE)
    team.clock.advance(days=7)
    answer = await team.talk("王磊", "我的承诺")
    assert "🔴逾期 C-20260305-001" in answer


async def test_my_commitments_without_any_says_how_to_register_one(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "我的承诺")
    assert "你没有未兑现的承诺" in answer
    assert "承诺 启明科技" in answer


@pytest.mark.parametrize(
    ("text", "what", "due"),
    [
        ("承诺 启明 下周三前发报价", "发报价", local(2026, 3, 11, 18, 0)),
        ("承诺 启明科技 周五寄样品", "寄样品", local(2026, 3, 6, 18, 0)),
        ("承诺 启明 报价 3月10日上午", "报价", local(2026, 3, 10, 12, 0)),
        ("承诺 启明 明天下午给方案", "给方案", local(2026, 3, 6, 18, 0)),
        ("承诺 启明 今晚发资料", "发资料", local(2026, 3, 5, 21, 0)),
        ("承诺 启明科技 发正式报价 下周三17:00", "发正式报价", local(2026, 3, 11, 17, 0)),
    ],
)
async def test_a_commitment_takes_the_item_and_the_time_in_any_order(
    team: SeededTeam, text: str, what: str, due: object
) -> None:
    answer = await team.talk("王磊", text)
    assert "已登记承诺" in answer, answer
    async with team.sessions() as db:
        [commitment] = (await db.execute(select(Commitment))).scalars().all()
    assert commitment.what == what
    assert commitment.due_at == due


async def test_a_part_of_the_day_without_a_clock_time_is_stated_in_the_answer(
    team: SeededTeam,
) -> None:
    answer = await team.talk("王磊", "承诺 启明 报价 3月10日上午")
    assert "截止 3月10日(周二) 12:00（「上午」未写具体时间，按 12:00 计" in answer


async def test_a_bare_date_is_stated_as_six_in_the_evening(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "承诺 启明科技 周五寄样品")
    assert "（只写了日期未写具体时间，按 18:00 计" in answer


async def test_a_customer_name_run_into_the_item_is_found(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "承诺 启明科技下周三前发报价")
    assert "已登记承诺" in answer
    [commitment] = await commitments_of(team)
    assert commitment.customer_id == team.customers["杭州启明科技有限公司"]
    assert commitment.what == "发报价"
