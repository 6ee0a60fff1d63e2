"""What a rep and a manager do through the 智能机器人: voice, task cards, pictures, warnings."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapter import MediaError
from bot.serve import transcriber_from_settings, voice_steps
from config.rules import Rules
from handlers.chat import Card, Push, RecipientKind, Reply
from handlers.clock import FrozenClock
from handlers.sop import task_card
from storage.models import Customer, Followup, Task, TaskStatus, Team, User
from storage.queue_models import VoiceJob
from tests.fakes.wecom_bot_gateway import FakeBotGateway, content_of
from tests.polling import eventually, settled
from tests.wecom_bot.conftest import GROUP, QIMING, salesbot

pytestmark = pytest.mark.usefixtures("seeded")


async def _task(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> Task:
    now = clock.now()
    async with sessions() as db, db.begin():
        rep = (await db.execute(select(User).where(User.wecom_userid == "wanglei"))).scalar_one()
        customer = (await db.execute(select(Customer))).scalar_one()
        task = Task(
            dedupe_key="visit:test",
            template_key="satisfaction_visit",
            title="满意度回访",
            checklist=["电话回访"],
            customer_id=customer.id,
            assignee_id=rep.id,
            push_at=now,
            accept_by=now + timedelta(days=1),
            due_at=now + timedelta(days=3),
            status=TaskStatus.PUSHED,
            pushed_at=now,
            last_activity_at=now,
            created_at=now,
        )
        db.add(task)
    return task


async def _voice_job(sessions: async_sessionmaker[AsyncSession]) -> bool:
    async with sessions() as db:
        return await db.scalar(select(func.count()).select_from(VoiceJob)) == 1


async def test_a_voice_note_is_logged_from_the_platforms_text_and_confirmed_with_a_card(
    db_url: str,
    gateway: FakeBotGateway,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with salesbot(db_url, gateway, clock, rules, asr_engine="none", asr_workers=1) as bot:
        transcriber = transcriber_from_settings(bot.runtime.settings)
        steps = voice_steps(bot.runtime, transcriber)
        await gateway.wait_for(lambda: gateway.connected)
        await gateway.push(gateway.voice("wanglei", "跟进启明，电话确认了试用安排，下周三前给报价"))
        await eventually(lambda: _voice_job(sessions))
        await eventually(steps["voice-0"])  # one job transcribed and answered
        [card] = await gateway.wait_for(lambda: gateway.sends_to("wanglei"))
    assert card.body["msgtype"] == "template_card"
    assert QIMING in content_of(card)
    async with sessions() as db:
        followup = (await db.execute(select(Followup))).scalar_one()
    assert followup.source == "voice"


async def test_a_task_card_goes_out_as_a_card_and_one_tap_accepts_it_and_updates_it(
    db_url: str,
    gateway: FakeBotGateway,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    task = await _task(sessions, clock)
    async with salesbot(db_url, gateway, clock, rules) as bot:
        await gateway.wait_for(lambda: gateway.connected)
        async with sessions() as db, db.begin():
            rep = (
                await db.execute(select(User).where(User.wecom_userid == "wanglei"))
            ).scalar_one()
            card = task_card(task, QIMING, bot.runtime.settings.tz)
            push = Push(RecipientKind.USER, rep.id, card)
            await bot.runtime.outbox_writer.enqueue(db, [push], now=clock.now())
        [sent] = await gateway.wait_for(lambda: gateway.sends_to("wanglei"))
        template = sent.body["template_card"]
        assert [b["key"] for b in template["button_list"]] == [
            f"accept {task.id}",
            f"done {task.id}",
        ]
        click = gateway.click("wanglei", f"accept {task.id}", template["task_id"])
        await gateway.push(click)
        [update] = await gateway.wait_for(
            lambda: [s for s in gateway.sent if s.cmd == "aibot_respond_update_msg"]
        )
        await gateway.wait_for(lambda: len(gateway.sends_to("wanglei")) == 2)
    assert update.req_id == click["headers"]["req_id"]  # the update answers the click's frame
    assert update.body["template_card"]["task_id"] == template["task_id"]
    assert update.body["template_card"]["main_title"]["title"] == "已接受 ✓"
    assert content_of(gateway.sends_to("wanglei")[1]).startswith(f"已接受任务卡 #{task.id}")
    async with sessions() as db:
        assert (await db.get_one(Task, task.id)).status == TaskStatus.ACCEPTED


async def test_a_picture_completes_the_task_waiting_for_evidence(
    db_url: str,
    gateway: FakeBotGateway,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    task = await _task(sessions, clock)
    async with salesbot(db_url, gateway, clock, rules):
        await gateway.wait_for(lambda: gateway.connected)
        await gateway.push(gateway.text("wanglei", f"完成 {task.id}"))
        await gateway.wait_for(lambda: gateway.sends_to("wanglei"))
        await gateway.push(gateway.media("wanglei", "image", b"\x89PNG fake picture"))
        await gateway.wait_for(lambda: len(gateway.sends_to("wanglei")) == 2)
    async with sessions() as db:
        done = await db.get_one(Task, task.id)
    assert done.status == TaskStatus.DONE


async def test_a_warning_is_pushed_to_the_teams_bot_group(
    db_url: str,
    gateway: FakeBotGateway,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with salesbot(db_url, gateway, clock, rules) as bot:
        await gateway.wait_for(lambda: gateway.connected)
        async with sessions() as db, db.begin():
            team = (await db.execute(select(Team))).scalar_one()
            warning = Push(RecipientKind.TEAM, team.id, Reply(f"⚠️ {QIMING} 在「意向」停留 9 天"))
            await bot.runtime.outbox_writer.enqueue(db, [warning], now=clock.now())
        [sent] = await gateway.wait_for(lambda: gateway.sends_to(GROUP))
    assert "停留 9 天" in content_of(sent)


async def test_a_card_is_a_template_card_and_enter_chat_gets_no_answer(
    db_url: str,
    gateway: FakeBotGateway,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with salesbot(db_url, gateway, clock, rules) as bot:
        await gateway.wait_for(lambda: gateway.connected)
        await gateway.push(gateway.enter("wanglei"))
        await eventually(lambda: settled(sessions))
        async with sessions() as db, db.begin():
            rep = (
                await db.execute(select(User).where(User.wecom_userid == "wanglei"))
            ).scalar_one()
            card = Card("c-1", "标题", ("第一行",))
            await bot.runtime.outbox_writer.enqueue(
                db, [Push(RecipientKind.USER, rep.id, card)], now=clock.now()
            )
        [sent] = await gateway.wait_for(lambda: gateway.sends_to("wanglei"))
    assert sent.body["template_card"]["main_title"]["title"] == "标题"
    assert len(gateway.sends_to("wanglei")) == 1  # entering the chat is answered with nothing


async def test_a_picture_is_downloaded_and_decrypted_from_its_stored_frame(
    db_url: str, gateway: FakeBotGateway, clock: FrozenClock, rules: Rules
) -> None:
    picture = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    async with salesbot(db_url, gateway, clock, rules) as bot:
        await gateway.wait_for(lambda: gateway.connected)
        frame = gateway.media("wanglei", "image", picture)
        await gateway.push(frame)
        await gateway.wait_for(lambda: gateway.sends_to("wanglei"))
        event = bot.adapter.to_event(json.dumps(frame), received_at=clock.now())
        assert event.media_id == frame["body"]["msgid"]
        assert await bot.adapter.download_media(event, max_bytes=1 << 20) == picture
        with pytest.raises(MediaError, match="太大"):
            await bot.adapter.download_media(event, max_bytes=1000)
        gateway.files.clear()  # the 5-minute url has expired
        with pytest.raises(MediaError, match="过期"):
            await bot.adapter.download_media(event, max_bytes=1 << 20)
