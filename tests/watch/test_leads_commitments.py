"""Untouched leads, commitments coming due and overdue, and silent steps."""

from __future__ import annotations

from handlers.chat import RecipientKind
from storage.models import Alert, AlertStatus, Commitment, CommitmentStatus, Customer
from tests.watch.conftest import World, lines, local


async def test_lead_untouched_for_24_hours_warns_its_owner_once(world: World) -> None:
    await world.customer("杭州启明科技有限公司", stage="线索", entered=local(2026, 3, 5, 18, 30))
    early = await world.watch(local(2026, 3, 6, 18, 15))
    warned = await world.watch(local(2026, 3, 6, 18, 45))
    again = await world.watch(local(2026, 3, 7, 9))
    assert (early.raised, again.raised) == ([], [])
    assert lines(warned) == ["王磊 | lead_untouched | 杭州启明科技有限公司 | yellow | A1"]
    text = "\n".join(warned.pushes[0].message.lines)  # type: ignore[union-attr]
    assert "新线索「杭州启明科技有限公司」3月5日(周四) 18:30 建的，已经 24 小时没有跟进" in text
    assert "（要求 24 小时内首次跟进）" in text


async def test_a_lead_followed_up_in_time_is_never_warned(world: World) -> None:
    await world.customer("佛山宏达建材", owner="李娜", stage="线索", entered=local(2026, 3, 5, 18))
    await world.followup("佛山宏达建材", at=local(2026, 3, 6, 10), text="电话了解需求", by="李娜")
    assert (await world.watch(local(2026, 3, 7, 9))).raised == []


async def test_a_follow_up_resolves_the_untouched_lead_warning(world: World) -> None:
    await world.customer("杭州启明科技有限公司", stage="线索", entered=local(2026, 3, 5, 18, 30))
    await world.watch(local(2026, 3, 6, 19))
    await world.followup(
        "杭州启明科技有限公司", at=local(2026, 3, 6, 20), text="加了微信，约下周拜访"
    )
    await world.watch(local(2026, 3, 6, 20, 15))
    (alert,) = await world.alerts(Alert.rule == "lead_untouched")
    assert alert.status == AlertStatus.RESOLVED


async def _promise(world: World) -> None:
    await world.customer("杭州启明科技有限公司", stage="方案", entered=local(2026, 3, 5, 9))
    await world.commitment(
        "杭州启明科技有限公司",
        "C-20260305-001",
        "发正式报价",
        due=local(2026, 3, 11, 17),
        created=local(2026, 3, 5, 18, 30),
        evidence="3月5日会议纪要",
    )


async def test_commitment_warns_its_owner_24_hours_before_it_is_due(world: World) -> None:
    await _promise(world)
    await world.followup("杭州启明科技有限公司", at=local(2026, 3, 10, 16), text="报价在内部审批")
    assert (await world.watch(local(2026, 3, 10, 16, 45))).raised == []
    result = await world.watch(local(2026, 3, 10, 17, 15))
    assert lines(result) == ["王磊 | commitment_due | 杭州启明科技有限公司 | notice | A1"]
    assert not result.pushes[0].urgent


async def test_overdue_commitment_goes_at_once_to_the_owner_and_the_manager_group(
    world: World,
) -> None:
    await _promise(world)
    await world.followup("杭州启明科技有限公司", at=local(2026, 3, 10, 16), text="报价在内部审批")
    await world.watch(local(2026, 3, 10, 17, 15))
    result = await world.watch(local(2026, 3, 11, 17, 15))
    assert lines(result) == [
        "王磊, 华东一组群 | commitment_due | 杭州启明科技有限公司 | overdue | A2"
    ]
    owner, group = result.pushes
    assert (owner.kind, owner.urgent, group.kind, group.urgent) == (
        RecipientKind.USER,
        True,
        RecipientKind.TEAM,
        True,
    )
    text = "\n".join(group.message.lines)  # type: ignore[union-attr]
    for part in (
        "C-20260305-001",
        "杭州启明科技有限公司",
        "发正式报价",
        "依据：3月5日会议纪要",
        "（王磊负责）",
        "王磊回复「兑现 C-20260305-001」即可解除。",
    ):
        assert part in text
    assert group.mention_user_ids == (world.users["王磊"],)


async def test_keeping_the_commitment_resolves_its_warnings(world: World) -> None:
    await _promise(world)
    await world.watch(local(2026, 3, 11, 18))
    async with world.sessions() as db, db.begin():
        commitment = await db.get_one(Commitment, 1)
        commitment.status, commitment.kept_at = CommitmentStatus.KEPT, local(2026, 3, 11, 19)
    await world.watch(local(2026, 3, 11, 19, 15))
    assert {a.status for a in await world.alerts()} == {AlertStatus.RESOLVED}


async def test_commitment_with_no_activity_for_48_hours_is_a_silent_step(world: World) -> None:
    await _promise(world)
    async with world.sessions() as db, db.begin():
        (
            await db.get_one(Customer, world.customers["杭州启明科技有限公司"])
        ).last_evidence_at = local(2026, 3, 5, 18, 30)
    assert (await world.watch(local(2026, 3, 7, 18))).raised == []
    result = await world.watch(local(2026, 3, 7, 18, 45))
    assert lines(result) == ["王磊 | silent_step | 杭州启明科技有限公司 | notice | A1"]
    await world.followup("杭州启明科技有限公司", at=local(2026, 3, 8, 10), text="客户在走采购流程")
    await world.watch(local(2026, 3, 8, 10, 15))
    (alert,) = await world.alerts(Alert.rule == "silent_step")
    assert alert.status == AlertStatus.RESOLVED
