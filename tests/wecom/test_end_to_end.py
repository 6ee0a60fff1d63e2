"""End to end on the real app: WeCom callback → inbox → handlers → outbox → the fake WeCom."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.rules import Rules
from handlers.clock import FrozenClock
from storage import inbox
from storage.models import Customer, Followup, Role, Task, TaskStatus, Team, User
from storage.queue_models import InboxItem, ItemStatus
from tests.fakes.wecom import FakeWeCom
from tests.fakes.wecom_client import WeComCallbacks
from tests.polling import eventually, settled
from tests.wecom.support import PATH, post_callback, salesbot

SHANGHAI = ZoneInfo("Asia/Shanghai")
QIMING = "杭州启明科技有限公司"


@pytest.fixture
async def seeded(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> dict[str, int]:
    """华东一组: 陈静 (manager) and 王磊 (rep), who owns 杭州启明科技有限公司."""
    now = clock.now()
    async with sessions() as db, db.begin():
        team = Team(name="华东一组", wecom_webhook_key="robot-east", created_at=now)
        db.add(team)
        await db.flush()
        manager = User(
            name="陈静", role=Role.MANAGER, team_id=team.id, wecom_userid="chenjing", created_at=now
        )
        db.add(manager)
        await db.flush()
        rep = User(
            name="王磊",
            role=Role.REP,
            team_id=team.id,
            manager_id=manager.id,
            wecom_userid="wanglei",
            created_at=now,
        )
        db.add(rep)
        await db.flush()
        customer = Customer(
            name=QIMING,
            aliases=["启明科技", "启明"],
            owner_id=rep.id,
            stage="意向",
            stage_entered_at=now,
            created_at=now - timedelta(days=30),
        )
        db.add(customer)
        await db.flush()
        return {"rep": rep.id, "customer": customer.id}


async def pushed_task(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, seeded: dict[str, int]
) -> int:
    """An SOP task card (满意度回访) already pushed to 王磊."""
    now = clock.now()
    async with sessions() as db, db.begin():
        task = Task(
            dedupe_key="visit:1",
            template_key="satisfaction_visit",
            title="满意度回访",
            customer_id=seeded["customer"],
            assignee_id=seeded["rep"],
            push_at=now,
            accept_by=now + timedelta(days=1),
            due_at=now + timedelta(days=7),
            status=TaskStatus.PUSHED,
            pushed_at=now,
            last_activity_at=now,
            created_at=now,
        )
        db.add(task)
        await db.flush()
    return task.id


async def test_a_typed_followup_is_answered_in_chinese_through_message_send(
    db_url: str,
    fake_wecom: FakeWeCom,
    wecom: WeComCallbacks,
    clock: FrozenClock,
    rules: Rules,
    seeded: dict[str, int],
) -> None:
    xml = wecom.text("wanglei", "跟进 启明 电话确认了试用安排，下周三前给报价", msg_id=8101)
    async with salesbot(db_url, fake_wecom, clock, rules) as bot:
        assert await post_callback(bot.client, wecom.post(xml)) == (200, "")
        (reply,) = await eventually(fake_wecom.sent_texts)
    assert reply.startswith(f"已记录跟进（{QIMING}）")
    assert fake_wecom.delivered[0]["touser"] == "wanglei"


async def test_the_same_msgid_three_times_makes_one_followup_and_one_reply(
    db_url: str,
    fake_wecom: FakeWeCom,
    wecom: WeComCallbacks,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
    seeded: dict[str, int],
) -> None:
    xml = wecom.text("wanglei", "跟进 启明 演示很顺利，客户要正式报价", msg_id=8102)
    async with salesbot(db_url, fake_wecom, clock, rules) as bot:
        for _ in range(3):  # WeCom's retries: each one freshly encrypted and signed
            assert await post_callback(bot.client, wecom.post(xml)) == (200, "")
        await eventually(fake_wecom.sent_texts)
        await eventually(lambda: settled(sessions))
    async with sessions() as db:
        followups = await db.scalar(select(func.count()).select_from(Followup))
    assert (followups, len(fake_wecom.sent_texts())) == (1, 1)


async def test_a_card_click_gets_the_same_answer_as_the_typed_command(
    db_url: str,
    fake_wecom: FakeWeCom,
    wecom: WeComCallbacks,
    clock: FrozenClock,
    rules: Rules,
    seeded: dict[str, int],
) -> None:
    key = "接受 12"
    click = wecom.card_click(
        "wanglei", key=key, task_id="task-1@1", response_code=fake_wecom.click_response_code()
    )
    async with salesbot(db_url, fake_wecom, clock, rules) as bot:
        await post_callback(bot.client, wecom.post(wecom.text("wanglei", key, msg_id=8103)))
        typed = (await eventually(fake_wecom.sent_texts))[0]
        clock.advance(minutes=6)  # past WeCom's duplicate check: the same answer shows again
        await post_callback(bot.client, wecom.post(click))
        texts = await eventually(lambda: fake_wecom.sent_texts()[1:])
    assert texts == [typed]


async def test_a_card_click_accepts_the_task_and_updates_the_card_in_place(
    db_url: str,
    fake_wecom: FakeWeCom,
    wecom: WeComCallbacks,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
    seeded: dict[str, int],
) -> None:
    task_id = await pushed_task(sessions, clock, seeded)
    code = fake_wecom.click_response_code()
    click = wecom.card_click(
        "wanglei", key=f"接受 {task_id}", task_id="task-1@1", response_code=code
    )
    async with salesbot(db_url, fake_wecom, clock, rules) as bot:
        assert await post_callback(bot.client, wecom.post(click)) == (200, "")
        await eventually(lambda: settled(sessions), deadline_s=5)
    async with sessions() as db:
        task = await db.get_one(Task, task_id)
    assert task.status == TaskStatus.ACCEPTED
    assert [u["response_code"] for u in fake_wecom.card_updates] == [code]
    assert fake_wecom.card_updates[0]["button"] == {"replace_name": "已接受 ✓"}


async def test_a_message_stored_before_a_crash_is_handled_once_after_the_restart(
    db_url: str,
    fake_wecom: FakeWeCom,
    wecom: WeComCallbacks,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
    seeded: dict[str, int],
) -> None:
    xml = wecom.text("wanglei", "跟进 启明 客户确认下周签约", msg_id=8104)
    async with salesbot(db_url, fake_wecom, clock, rules, workers=False) as first:
        assert await post_callback(first.client, wecom.post(xml)) == (200, "")
        # Its inbox worker leases the row, then the process dies before handling it.
        async with sessions() as db, db.begin():
            (leased,) = await inbox.take_batch(
                db, now=clock.now(), worker="crashed", platforms=["wecom"]
            )
        crashed = asyncio.create_task(first.runtime.inbox_worker.handle(leased))
        crashed.cancel()
        with pytest.raises(asyncio.CancelledError):
            await crashed
    assert fake_wecom.sent_texts() == []
    clock.advance(minutes=3)  # the dead worker's lease runs out
    async with salesbot(db_url, fake_wecom, clock, rules) as _second:
        await eventually(fake_wecom.sent_texts)
        await eventually(lambda: settled(sessions))
    async with sessions() as db:
        followups = await db.scalar(select(func.count()).select_from(Followup))
        row = await db.get_one(InboxItem, leased.id)
    assert (followups, len(fake_wecom.sent_texts()), row.status) == (1, 1, ItemStatus.DONE)


async def test_a_video_is_kept_and_answered_with_what_the_bot_does_with_files(
    db_url: str,
    fake_wecom: FakeWeCom,
    wecom: WeComCallbacks,
    clock: FrozenClock,
    rules: Rules,
    seeded: dict[str, int],
) -> None:
    async with salesbot(db_url, fake_wecom, clock, rules) as bot:
        answer = await post_callback(bot.client, wecom.post(wecom.video("wanglei", msg_id=8105)))
        (reply,) = await eventually(fake_wecom.sent_texts)
    assert answer == (200, "")
    assert reply.startswith("收到")
    assert "完成 <编号>" in reply


async def test_a_voice_note_gets_a_polite_answer_while_recognition_is_off(
    db_url: str,
    fake_wecom: FakeWeCom,
    wecom: WeComCallbacks,
    clock: FrozenClock,
    rules: Rules,
    seeded: dict[str, int],
) -> None:
    voice = wecom.voice("wanglei", "media-voice-1", msg_id=8106)
    async with salesbot(db_url, fake_wecom, clock, rules) as bot:
        assert await post_callback(bot.client, wecom.post(voice)) == (200, "")
        (reply,) = await eventually(fake_wecom.sent_texts)
    assert "语音" in reply


async def test_rejections_are_counted_in_metrics_and_the_server_keeps_serving(
    db_url: str,
    fake_wecom: FakeWeCom,
    wecom: WeComCallbacks,
    clock: FrozenClock,
    rules: Rules,
    seeded: dict[str, int],
) -> None:
    forged = wecom.post(wecom.text("wanglei", "帮助", msg_id=8107), signature="0" * 40)
    async with salesbot(db_url, fake_wecom, clock, rules) as bot:
        assert (await post_callback(bot.client, forged))[0] == 401
        async with bot.client.post(PATH, params=wecom.signed("x"), data=b"<!DOCTYPE x><xml/>") as r:
            assert r.status == 400
        async with bot.client.get("/metrics") as resp:
            metrics = await resp.text()
        good = wecom.post(wecom.text("wanglei", "帮助", msg_id=8108))
        assert await post_callback(bot.client, good) == (200, "")
        await eventually(fake_wecom.sent_texts)
    assert 'salesbot_callback_rejections_total{platform="wecom",reason="bad_signature"}' in metrics
    assert 'salesbot_callback_rejections_total{platform="wecom",reason="doctype"}' in metrics


async def test_each_senders_messages_are_handled_in_the_order_sent(
    db_url: str,
    fake_wecom: FakeWeCom,
    wecom: WeComCallbacks,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
    seeded: dict[str, int],
) -> None:
    """Two reps write at once; the worker handles them side by side (bot.inbox_worker.LANES),
    but each rep's correction must come after the follow-up it corrects."""
    now = clock.now()
    async with sessions() as db, db.begin():
        rep = await db.get_one(User, seeded["rep"])
        lina = User(
            name="李娜",
            role=Role.REP,
            team_id=rep.team_id,
            manager_id=rep.manager_id,
            wecom_userid="lina",
            created_at=now,
        )
        db.add(lina)
        await db.flush()
        db.add(
            Customer(
                name="佛山宏达建材",
                aliases=["宏达"],
                owner_id=lina.id,
                stage="意向",
                stage_entered_at=now,
                created_at=now,
            )
        )
    lines = [
        ("wanglei", "跟进 启明 电话沟通了报价，下周三前回复", 8201),
        ("lina", "跟进 宏达 王经理看了样品，下周三前给意见", 8202),
        ("wanglei", "改 时间 周五", 8203),
        ("lina", "改 时间 周四", 8204),
    ]
    async with salesbot(db_url, fake_wecom, clock, rules, workers=False) as bot:
        for sender, text, msg_id in lines:
            answer = await post_callback(
                bot.client, wecom.post(wecom.text(sender, text, msg_id=msg_id))
            )
            assert answer == (200, "")
        while await bot.runtime.inbox_worker.step():
            pass
    async with sessions() as db:
        notes = (await db.execute(select(Followup).order_by(Followup.id))).scalars().all()
    due_weekdays = {
        note.author_id: note.next_action_due_at.astimezone(SHANGHAI).isoweekday()
        for note in notes
        if note.next_action_due_at is not None
    }
    assert len(notes) == 2
    assert due_weekdays == {seeded["rep"]: 5, lina.id: 4}  # both corrections found their note
