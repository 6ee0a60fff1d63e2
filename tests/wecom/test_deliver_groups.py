"""deliver() to group chats: robot text with mentions, markdown, images, appchat, robot limits."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

from bot.adapter import Dead, RetryAt, Sent
from bot.wecom import WeComAdapter
from handlers.chat import CardUpdate, Image, Reply
from handlers.clock import FrozenClock
from storage.models import Team
from tests.fakes.wecom import FakeWeCom
from tests.wecom.support import PNG, SOP_CARD, fill_window, queued


def robot_team(key: str = "robot-key-1", chat_id: str | None = None) -> Team:
    return Team(name="华东一组", wecom_webhook_key=key, wecom_chat_id=chat_id)


async def test_a_robot_text_mentions_the_members_it_names(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    fake_wecom.robot_keys.add("robot-key-1")
    (address,) = adapter.team_addresses(robot_team())
    warning = Reply("【停滞预警】杭州启明科技有限公司 在「方案」阶段已 9 天")
    item = await queued(sessions, address, warning, now=clock.now(), mention=("wanglei",))
    assert isinstance(await adapter.deliver(item), Sent)
    assert fake_wecom.robot_messages == [
        (
            "robot-key-1",
            {
                "msgtype": "text",
                "text": {
                    "content": "【停滞预警】杭州启明科技有限公司 在「方案」阶段已 9 天",
                    "mentioned_list": ["wanglei"],
                },
            },
        )
    ]


async def test_a_robot_markdown_mentions_with_tags(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    fake_wecom.robot_keys.add("robot-key-1")
    (address,) = adapter.team_addresses(robot_team())
    digest = Reply("**日报** 新增跟进 12 条", markdown=True)
    item = await queued(sessions, address, digest, now=clock.now(), mention=("chenjing",))
    await adapter.deliver(item)
    ((_, body),) = fake_wecom.robot_messages
    assert body == {
        "msgtype": "markdown",
        "markdown": {"content": "**日报** 新增跟进 12 条\n<@chenjing>"},
    }


async def test_a_robot_image_carries_base64_and_md5_then_its_caption(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    fake_wecom.robot_keys.add("robot-key-1")
    (address,) = adapter.team_addresses(robot_team())
    item = await queued(sessions, address, Image(PNG, caption="本周漏斗"), now=clock.now())
    assert isinstance(await adapter.deliver(item), Sent)
    (_, image), (_, caption) = fake_wecom.robot_messages
    assert image["image"] == {
        "base64": base64.b64encode(PNG).decode(),
        "md5": hashlib.md5(PNG).hexdigest(),  # noqa: S324 - WeCom's field
    }
    assert caption["text"]["content"] == "本周漏斗"


async def test_a_card_to_a_robot_is_sent_as_text_with_the_typed_commands(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    fake_wecom.robot_keys.add("robot-key-1")
    (address,) = adapter.team_addresses(robot_team())
    await adapter.deliver(await queued(sessions, address, SOP_CARD, now=clock.now()))
    ((_, body),) = fake_wecom.robot_messages
    assert "回复「接受 12」" in body["text"]["content"]


async def test_an_invalid_robot_key_is_dead(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    (address,) = adapter.team_addresses(robot_team("no-such-key"))
    delivery = await adapter.deliver(await queued(sessions, address, Reply("x"), now=clock.now()))
    assert isinstance(delivery, Dead)
    assert "93000" in delivery.error


async def test_an_app_group_chat_gets_text_through_appchat_send(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    addresses = adapter.team_addresses(robot_team(chat_id="chat-east-1"))
    assert [a.channel for a in addresses] == ["group_robot", "appchat"]
    item = await queued(
        sessions, addresses[1], Reply("【超时预警】任务 12 未接受"), now=clock.now()
    )
    assert isinstance(await adapter.deliver(item), Sent)
    assert fake_wecom.appchat_messages == [
        {
            "chatid": "chat-east-1",
            "msgtype": "text",
            "text": {"content": "【超时预警】任务 12 未接受"},
            "safe": 0,
        }
    ]


async def test_a_robot_that_sent_20_this_minute_waits(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    fake_wecom.robot_keys.add("robot-key-1")
    await fill_window(sessions, "wecom:robot:robot-key-1", 20, clock)
    (address,) = adapter.team_addresses(robot_team())
    delivery = await adapter.deliver(await queued(sessions, address, Reply("x"), now=clock.now()))
    assert delivery == RetryAt(
        clock.now() + timedelta(seconds=40), "rate limit", count_attempt=False
    )
    assert fake_wecom.robot_messages == []


async def test_a_card_update_to_a_group_robot_is_dead(
    adapter: WeComAdapter, sessions, clock: FrozenClock
) -> None:
    (address,) = adapter.team_addresses(robot_team())
    update = CardUpdate(card_id="t", label="已接受 ✓", response_code="rc")
    assert isinstance(
        await adapter.deliver(await queued(sessions, address, update, now=clock.now())), Dead
    )
