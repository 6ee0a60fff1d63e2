"""Task cards in chat (任务, 接受, 完成 with text or image) and the task SLA ladder."""

from __future__ import annotations

from handlers.chat import CardUpdate, Event, EventKind, Platform, Reply
from storage.models import Alert, AlertStatus, Customer, Task, TaskStatus
from tests.watch.conftest import World, lines, local


async def _pushed_task(world: World, *, due_day: int = 15) -> int:
    await world.customer("杭州启明科技有限公司", stage="成交", entered=local(2026, 3, 1, 9))
    world.clock.set(local(2026, 3, 12, 10))
    return await world.task(
        "杭州启明科技有限公司",
        pushed=local(2026, 3, 12, 9),
        accept_by=local(2026, 3, 13, 9),
        due=local(2026, 3, due_day, 9),
    )


async def test_clicking_accept_accepts_the_task_and_updates_the_card(world: World) -> None:
    task_id = await _pushed_task(world)
    out = await world.send(world.chat("王磊", f"accept {task_id}", card=f"task-{task_id}"))
    task = await world.get(Task, task_id)
    assert out[0] == CardUpdate(f"task-{task_id}", "已接受 ✓", "rc-1")
    assert isinstance(out[1], Reply)
    assert "已接受任务卡 #1" in out[1].text
    assert (task.status, task.accepted_at) == (TaskStatus.ACCEPTED, local(2026, 3, 12, 10))


async def test_done_without_evidence_asks_for_it_and_the_next_image_completes_it(
    world: World,
) -> None:
    task_id = await _pushed_task(world)
    asked = await world.talk("王磊", f"完成 {task_id}")
    image = Event(
        platform=Platform.SHELL,
        message_id="img-1",
        sender="王磊",
        received_at=world.clock.now(),
        kind=EventKind.IMAGE,
        media_id="media-abc",
    )
    out = await world.send(image)
    task = await world.get(Task, task_id)
    assert "请附上任务卡 #1 的完成凭证" in asked
    assert "已完成任务卡 #1" in out[0].text  # type: ignore[union-attr]
    assert (task.status, task.evidence_media_id) == (TaskStatus.DONE, "media-abc")


async def test_done_with_a_note_on_time_resets_the_stall_clock_and_raises_health(
    world: World,
) -> None:
    task_id = await _pushed_task(world)
    reply = await world.talk("王磊", f"完成 {task_id} 已电话回访，客户满意度 9 分")
    task = await world.get(Task, task_id)
    customer = await world.get(Customer, world.customers["杭州启明科技有限公司"])
    assert "按时完成。客户健康分 80 → 85" in reply
    assert (task.evidence, customer.last_evidence_at) == (
        "已电话回访，客户满意度 9 分",
        local(2026, 3, 12, 10),
    )


async def test_done_after_the_due_time_costs_health(world: World) -> None:
    task_id = await _pushed_task(world)
    world.clock.set(local(2026, 3, 16, 10))
    reply = await world.talk("王磊", f"完成 {task_id} 上门回访，记录了两条改进建议")
    assert "逾期完成。客户健康分 80 → 75" in reply


async def test_another_rep_cannot_accept_my_task(world: World) -> None:
    task_id = await _pushed_task(world)
    reply = await world.talk("李娜", f"接受 {task_id}")
    assert "不是你的" in reply
    assert (await world.get(Task, task_id)).status == TaskStatus.PUSHED


async def test_tasks_lists_my_open_cards(world: World) -> None:
    await _pushed_task(world)
    reply = await world.talk("王磊", "任务")
    assert "#1 交付后满意度回访｜杭州启明科技有限公司｜待接受，3月13日(周五) 09:00 前接受" in reply


async def test_unaccepted_card_climbs_the_ladder_to_the_director(world: World) -> None:
    await _pushed_task(world, due_day=25)
    yellow = await world.watch(local(2026, 3, 13, 9, 15))
    last_chance = await world.watch(local(2026, 3, 14, 9, 15))  # accept SLA + 24 h grace
    red = await world.watch(local(2026, 3, 15, 9))
    director = await world.watch(local(2026, 3, 17, 9, 15))  # + 72 h more
    assert [lines(r) for r in (yellow, last_chance, red, director)] == [
        ["王磊 | task_accept | 杭州启明科技有限公司 | yellow | A1"],
        ["王磊 | task_accept | 杭州启明科技有限公司 | last_chance | A2"],
        ["华东一组群 | task_accept | 杭州启明科技有限公司 | red | A3"],
        ["赵强 | task_accept | 杭州启明科技有限公司 | director | A4"],
    ]


async def test_accepting_resolves_the_accept_warnings_and_done_late_warns_again(
    world: World,
) -> None:
    task_id = await _pushed_task(world)
    await world.watch(local(2026, 3, 13, 9, 15))
    world.clock.set(local(2026, 3, 13, 11))
    await world.talk("王磊", f"接受 {task_id}")
    overdue = await world.watch(local(2026, 3, 15, 9, 15))
    accept_alert, done_alert = await world.alerts()
    assert accept_alert.status == AlertStatus.RESOLVED
    assert lines(overdue) == ["王磊 | task_done | 杭州启明科技有限公司 | yellow | A2"]
    assert done_alert.status == AlertStatus.OPEN
    world.clock.set(local(2026, 3, 15, 14))
    await world.talk("王磊", f"完成 {task_id} 已回访")
    assert (await world.alerts(Alert.id == done_alert.id))[0].status == AlertStatus.RESOLVED


async def test_an_accepted_task_with_no_activity_for_48_hours_is_a_silent_step(
    world: World,
) -> None:
    await world.customer("杭州启明科技有限公司", stage="成交", entered=local(2026, 3, 1, 9))
    await world.task(
        "杭州启明科技有限公司",
        pushed=local(2026, 3, 12, 9),
        accept_by=local(2026, 3, 13, 9),
        due=local(2026, 3, 22, 9),
        status=TaskStatus.ACCEPTED,
        title="合同到期前续约沟通",
    )
    result = await world.watch(local(2026, 3, 14, 9, 15))
    assert lines(result) == ["王磊 | silent_step | 杭州启明科技有限公司 | notice | A1"]


async def test_the_task_count_counts_what_the_list_shows(world: World) -> None:
    await world.customer("杭州启明科技有限公司", stage="成交", entered=local(2026, 3, 1, 9))
    world.clock.set(local(2026, 3, 12, 10))
    await world.task(
        "杭州启明科技有限公司",
        pushed=local(2026, 3, 14, 9),
        accept_by=local(2026, 3, 15, 9),
        due=local(2026, 3, 17, 9),
        status=TaskStatus.PLANNED,
    )
    reply = await world.talk("王磊", "任务")
    assert "你的任务卡：待处理 0 张，7 天内将推送 1 张" in reply
    assert "#1 " in reply
    assert "（0）" not in reply
