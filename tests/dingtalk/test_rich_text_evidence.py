"""A photo with an @ in a group arrives as richText: its words route it, its picture is evidence."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.rules import Rules
from handlers.clock import FrozenClock
from storage.models import Attachment, Task, TaskStatus
from tests.dingtalk.test_cards import _push_task_card, salesbot
from tests.dingtalk.test_end_to_end import post_callback, seeded  # noqa: F401 - the seeded team
from tests.fakes.dingtalk import FakeDingTalk, robot_message
from tests.polling import eventually, settled

pytestmark = pytest.mark.usefixtures("seeded")


async def test_a_rich_text_with_a_photo_completes_the_task_with_that_photo(
    db_url: str, fake_dingtalk: FakeDingTalk, clock: FrozenClock, rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    async with salesbot(db_url, fake_dingtalk, clock, rules, template=None) as (runtime, client):
        task = await _push_task_card(runtime, sessions, clock)
        parts = [
            {"text": f"完成 {task.id} 回访记录见图"},
            {"type": "picture", "downloadCode": "pic-9"},
        ]
        message = robot_message(
            "richText", msg_id="msgRich1", content={"richText": parts}, group=True
        )
        assert await post_callback(client, message, clock) == 200
        await eventually(lambda: settled(sessions))
    async with sessions() as db:
        done = await db.get_one(Task, task.id)
        photo = (await db.execute(select(Attachment))).scalar_one()
    assert done.status == TaskStatus.DONE
    assert (done.evidence, done.evidence_media_id) == ("回访记录见图", "pic-9")
    assert (photo.kind, photo.media_id, photo.task_id) == ("image", "pic-9", task.id)
