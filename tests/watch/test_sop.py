"""SOP task cards: each default from its trigger, created once, pushed, missed, and health."""

from __future__ import annotations

from handlers.chat import Card, RecipientKind
from handlers.sop import create_tasks_for
from storage.models import Alert, Customer, CustomerEvent, Task, TaskStatus
from tests.watch.conftest import World, lines, local


async def _lead(world: World) -> None:
    await world.customer("杭州启明科技有限公司", stage="谈判", entered=local(2026, 3, 1, 9))


async def test_delivery_creates_the_satisfaction_visit_seven_days_later(world: World) -> None:
    await _lead(world)
    reply = await world.talk("王磊", "交付 杭州启明科技有限公司")
    (task,) = await world.tasks()
    assert "已生成任务卡 #1：交付后满意度回访（3月12日(周四) 09:00 推送）" in reply
    assert (task.template_key, task.push_at, task.accept_by, task.due_at) == (
        "satisfaction_visit",
        local(2026, 3, 12, 9),
        local(2026, 3, 13, 9),
        local(2026, 3, 17, 9),  # three workdays: Fri 13th, Mon 16th, Tue 17th (not Sunday)
    )
    assert task.checklist == ["电话或上门回访关键用户", "记录满意度评分", "收集问题并登记跟进"]


async def test_signing_creates_the_usage_check_and_the_renewal_talk(world: World) -> None:
    await _lead(world)
    reply = await world.talk("王磊", "签约 杭州启明科技有限公司 到期 2027-03-31 账期 60")
    tasks = {t.template_key: t for t in await world.tasks()}
    # Payment term: signed 3-5 + 60 days = 5-4; five days before: 4-29. Renewal: 3-31 − 45 = 2-14,
    # a Sunday: the card goes out on Monday 2-15, and its 10 days are workdays.
    assert tasks["usage_check"].push_at == local(2026, 4, 29, 9)
    assert tasks["renewal_talk"].push_at == local(2027, 2, 15, 9)
    assert tasks["renewal_talk"].due_at == local(2027, 3, 1, 9)
    assert "合同到期前续约沟通" in reply
    assert "账期结束前使用情况检查" in reply


async def test_signing_without_a_payment_term_creates_no_usage_check(world: World) -> None:
    await _lead(world)
    await world.talk("王磊", "签约 杭州启明科技有限公司 到期 2027-03-31")
    assert [t.template_key for t in await world.tasks()] == ["renewal_talk"]


async def test_creating_tasks_twice_for_one_event_creates_them_once(world: World) -> None:
    await _lead(world)
    event = await world.event("杭州启明科技有限公司", "delivery_done", at=local(2026, 3, 5, 18))
    for _ in range(2):
        async with world.sessions() as db, db.begin():
            customer = await db.get_one(Customer, world.customers["杭州启明科技有限公司"])
            row = await db.get_one(CustomerEvent, event.id)
            await create_tasks_for(db, world.ctx, customer=customer, event=row)
    assert await world.count(Task) == 1


async def test_the_sop_job_creates_tasks_an_event_is_missing(world: World) -> None:
    await _lead(world)
    await world.event("杭州启明科技有限公司", "delivery_done", at=local(2026, 3, 5, 18))
    result = await world.sop(local(2026, 3, 5, 18, 5))
    again = await world.sop(local(2026, 3, 5, 18, 5))
    assert lines(result) == ["王磊 | sop:satisfaction_visit | 杭州启明科技有限公司 | planned | #1"]
    assert again.raised == []


async def test_a_due_task_is_pushed_once_as_a_card_with_accept_and_done(world: World) -> None:
    await _lead(world)
    await world.talk("王磊", "交付 杭州启明科技有限公司")
    early = await world.sop(local(2026, 3, 12, 8, 55))
    pushed = await world.sop(local(2026, 3, 12, 9, 0))
    again = await world.sop(local(2026, 3, 12, 9, 5))
    assert (early.raised, again.raised) == ([], [])
    assert lines(pushed) == ["王磊 | sop:satisfaction_visit | 杭州启明科技有限公司 | pushed | #1"]
    (push,) = pushed.pushes
    assert (push.kind, push.recipient_id, push.urgent) == (
        RecipientKind.USER,
        world.users["王磊"],
        False,
    )
    assert isinstance(push.message, Card)
    assert [(b.key, b.label) for b in push.message.buttons] == [
        ("accept 1", "接受"),
        ("done 1", "完成"),
    ]
    assert "□ 记录满意度评分" in push.message.lines


async def test_after_downtime_the_card_still_goes_out_marked_late(world: World) -> None:
    await _lead(world)
    await world.talk("王磊", "交付 杭州启明科技有限公司")
    result = await world.sop(local(2026, 3, 13, 15))
    assert lines(result) == [
        "王磊 | sop:satisfaction_visit | 杭州启明科技有限公司 | pushed | #1 | late"
    ]
    assert "这张任务卡原定 3月12日(周四) 09:00 发出。" in result.pushes[0].message.lines  # type: ignore[union-attr]


async def test_an_unfinished_task_is_missed_a_week_past_due_and_costs_health(world: World) -> None:
    await _lead(world)
    await world.task(
        "杭州启明科技有限公司",
        pushed=local(2026, 3, 12, 9),
        accept_by=local(2026, 3, 13, 9),
        due=local(2026, 3, 15, 9),
    )
    assert (await world.sop(local(2026, 3, 22, 8, 55))).raised == []
    result = await world.sop(local(2026, 3, 22, 9, 5))
    (task,) = await world.tasks()
    customer = await world.get(Customer, world.customers["杭州启明科技有限公司"])
    assert lines(result) == ["王磊 | sop:satisfaction_visit | 杭州启明科技有限公司 | missed | #1"]
    assert (task.status, customer.health_score) == (TaskStatus.MISSED, 65)


async def test_health_under_60_escalates_the_customer_to_the_director(world: World) -> None:
    await _lead(world)
    for due_day in (15, 16):
        await world.task(
            "杭州启明科技有限公司",
            pushed=local(2026, 3, 12, 9),
            accept_by=local(2026, 3, 13, 9),
            due=local(2026, 3, due_day, 9),
        )
    first = await world.sop(local(2026, 3, 22, 9, 5))  # 80 → 65
    second = await world.sop(local(2026, 3, 23, 9, 5))  # 65 → 50
    assert [r.level for r in first.raised] == ["missed"]
    assert lines(second)[-1] == "赵强 | health_low | 杭州启明科技有限公司 | director | A1"
    escalation = second.pushes[-1]
    assert (escalation.recipient_id, escalation.urgent) == (world.users["赵强"], True)
    (alert,) = await world.alerts(Alert.rule == "health_low")
    assert "杭州启明科技有限公司（王磊负责）的健康分降到了 50（低于 60" in alert.message


async def test_a_recovered_health_score_resolves_the_escalation(world: World) -> None:
    await world.customer("杭州启明科技有限公司", stage="成交", entered=local(2026, 3, 1), health=55)
    raised = await world.watch(local(2026, 3, 20, 9))
    async with world.sessions() as db, db.begin():
        (await db.get_one(Customer, world.customers["杭州启明科技有限公司"])).health_score = 65
    await world.watch(local(2026, 3, 21, 9))
    (alert,) = await world.alerts(Alert.rule == "health_low")
    assert lines(raised) == ["赵强 | health_low | 杭州启明科技有限公司 | director | A1"]
    assert alert.status == "resolved"
