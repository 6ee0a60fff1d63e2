"""稍后提醒 holds a warning (audited, shown to the manager); 为什么 explains it with a timeline."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.chat import CardUpdate
from storage.models import AlertStatus, AuditEntry
from tests.watch.conftest import World, lines, local


async def _yellow(world: World) -> None:
    await world.customer("杭州启明科技有限公司", stage="意向", entered=local(2026, 3, 2, 10))
    await world.followup(
        "杭州启明科技有限公司", at=local(2026, 3, 2, 15), text="初次拜访，了解预算"
    )
    await world.watch(local(2026, 3, 10, 15, 15))


async def test_snoozing_from_the_card_is_audited_and_updates_the_card(world: World) -> None:
    await _yellow(world)
    out = await world.send(world.chat("王磊", "snooze A1 2h", card="alert-1-user-3"))
    (alert,) = await world.alerts()
    async with world.sessions() as db:
        audit = await db.execute(select(AuditEntry).where(AuditEntry.action == "alert_snoozed"))
        entry = audit.scalar_one()
    assert out[0] == CardUpdate("alert-1-user-3", "已推迟至 3月10日(周二) 17:15", "rc-1")
    assert (alert.status, alert.snoozed_until) == (AlertStatus.SNOOZED, local(2026, 3, 10, 17, 15))
    assert (entry.actor_id, entry.note) == (
        world.users["王磊"],
        "王磊 将预警 A1 推迟至 3月10日(周二) 17:15",
    )


async def test_a_snoozed_warning_does_not_escalate_until_it_wakes_with_a_reminder(
    world: World,
) -> None:
    await _yellow(world)
    world.clock.set(local(2026, 3, 13, 15, 30))  # the last chance would be due now
    await world.talk("王磊", "稍后提醒 A1 48小时")
    held = await world.watch(local(2026, 3, 14, 9, 15))
    woke = await world.watch(local(2026, 3, 15, 15, 45))
    assert held.raised == []
    assert lines(woke) == [
        "王磊 | stage_stall | 杭州启明科技有限公司 | reminder | A1",
        "王磊 | stage_stall | 杭州启明科技有限公司 | last_chance | A2",
    ]
    assert woke.pushes[0].dedupe_key != "alert:1:user:3"  # a re-send, not a duplicate


async def test_a_warning_can_be_snoozed_only_once_and_not_past_the_limit(world: World) -> None:
    await _yellow(world)
    too_long = await world.talk("王磊", "稍后提醒 A1 5天")
    await world.talk("王磊", "稍后提醒 A1 2小时")
    again = await world.talk("王磊", "稍后提醒 A1 2小时")
    assert "最多推迟 72 小时" in too_long
    assert "已推迟过一次" in again


async def test_why_explains_the_rule_the_clock_the_evidence_and_the_timeline(
    world: World,
) -> None:
    await _yellow(world)
    reply = await world.talk("王磊", "为什么 A1")
    for part in (
        "预警 A1｜客户停滞·预警｜未处理",
        "🟡杭州启明科技有限公司在「意向」已经 8 天没有新进展（要求 7 天内推进）。",
        "上次跟进：3月2日(周一)「初次拜访，了解预算」。",
        "「杭州启明科技有限公司」时间线",
        "3月2日(周一) 15:00 跟进：初次拜访，了解预算",
        "3月10日(周二) 15:15 预警 A1 客户停滞·预警",
    ):
        assert part in reply


async def test_the_manager_sees_the_snooze_and_another_rep_sees_nothing(world: World) -> None:
    await _yellow(world)
    await world.talk("王磊", "稍后提醒 A1 明天")
    manager = await world.talk("陈静", "why A1")
    other = await world.talk("张伟", "为什么 A1")
    assert "稍后提醒：王磊 将预警 A1 推迟至 3月11日(周三) 09:00" in manager
    assert "预警 A1 说的是别人负责的客户，你看不到它" in other
    # a manager of another team reads it (managers read every team) but may not put it off
    assert "「杭州启明科技有限公司」时间线" in await world.talk("周敏", "为什么 A1")
    assert "只有负责的同事（或其主管）能推迟它" in await world.talk("周敏", "稍后提醒 A1 2小时")


async def test_yellow_warnings_are_not_urgent_and_overdue_promises_are(world: World) -> None:
    # Quiet hours are applied when the lead's delivery queues a push; the scan sets urgency.
    await world.customer("杭州启明科技有限公司", stage="意向", entered=local(2026, 3, 2, 10))
    await world.customer("苏州瑞康药业有限公司", stage="意向", entered=local(2026, 3, 2, 10))
    await world.commitment(
        "杭州启明科技有限公司",
        "C-20260305-001",
        "发正式报价",
        due=local(2026, 3, 10, 22),
        created=local(2026, 3, 5, 18, 30),
    )
    night = await world.watch(local(2026, 3, 10, 22, 30))  # quiet hours
    shown = sorted((p.message.title, p.kind, p.urgent) for p in night.pushes)  # type: ignore[union-attr]
    assert shown == [
        ("杭州启明科技有限公司·承诺到期·已逾期", "team", True),
        ("杭州启明科技有限公司·承诺到期·已逾期", "user", True),
        ("苏州瑞康药业有限公司·客户停滞·预警", "user", False),
    ]


@pytest.mark.parametrize(
    ("said", "until"),
    [
        ("半小时", local(2026, 3, 10, 15, 45)),
        ("2小时", local(2026, 3, 10, 17, 15)),
        ("一个半小时", local(2026, 3, 10, 16, 45)),
        ("明早九点", local(2026, 3, 11, 9, 0)),
        ("周一", local(2026, 3, 16, 9, 0)),
        ("到下周", local(2026, 3, 16, 9, 0)),
    ],
)
async def test_a_snooze_takes_durations_and_moments(world: World, said: str, until: object) -> None:
    await _yellow(world)
    world.clock.set(local(2026, 3, 10, 15, 15))
    answer = await world.talk("王磊", f"稍后提醒 A1 {said}")
    (alert,) = await world.alerts()
    assert "已推迟预警 A1" in answer, answer
    assert alert.snoozed_until == until


async def test_a_snooze_ending_in_quiet_hours_moves_to_the_morning_and_says_so(
    world: World,
) -> None:
    await _yellow(world)
    world.clock.set(local(2026, 3, 10, 23, 36))
    answer = await world.talk("王磊", "稍后提醒 A1 2小时")
    (alert,) = await world.alerts()
    assert alert.snoozed_until == local(2026, 3, 11, 8, 30)
    assert "免打扰时段，改为早上提醒" in answer


async def test_an_unreadable_snooze_names_what_it_takes(world: World) -> None:
    await _yellow(world)
    answer = await world.talk("王磊", "稍后提醒 A1 回头再说")
    assert "半小时、2小时、明早九点、周一、到下周" in answer
    assert "请这样写：稍后提醒 A1 2小时" in answer
