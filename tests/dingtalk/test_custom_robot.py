"""Team pushes: the app robot in the team's group, or the team's custom robot (sign, 20/min)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapter import RetryAt, Sent
from bot.dingtalk.adapter import DingTalkAdapter
from handlers.chat import Reply
from handlers.clock import FrozenClock
from storage import outbox
from storage.models import Team
from storage.outbox import Address
from tests.dingtalk.conftest import now_ms
from tests.dingtalk.helpers import outbox_item
from tests.fakes.dingtalk import FakeDingTalk

ROBOT_TOKEN = "b1f3e5a7c9d2f4a6b8c0e2d4f6a8b0c2d4e6f8a0b2c4d6e8f0a2b4c6d8e0f2a4"
ROBOT_SECRET = "SEC6f4a2b8c0d1e3f5a7b9c1d3e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f3a5b"


async def add_team(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, **fields: str | None
) -> Team:
    async with sessions() as db, db.begin():
        team = Team(name="华东销售一组", created_at=clock.now(), **fields)
        db.add(team)
    return team


@pytest.fixture
async def team(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, fake_dingtalk: FakeDingTalk
) -> Team:
    fake_dingtalk.add_custom_robot(ROBOT_TOKEN, ROBOT_SECRET)
    webhook = f"https://oapi.dingtalk.com/robot/send?access_token={ROBOT_TOKEN}"
    return await add_team(sessions, clock, dingtalk_webhook=webhook, dingtalk_secret=ROBOT_SECRET)


def team_robot(adapter: DingTalkAdapter, team: Team) -> Address:
    [address] = adapter.team_addresses(team)
    return address


async def test_a_team_with_a_group_conversation_is_reached_through_the_app_robot(
    adapter: DingTalkAdapter, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    team = await add_team(sessions, clock, dingtalk_conversation_id="cidSalesTeam9ok==")
    assert adapter.team_addresses(team) == [
        Address("dingtalk", "robot_group", "cidSalesTeam9ok==", "dingtalk:group:cidSalesTeam9ok==")
    ]


async def test_a_team_with_only_a_custom_robot_is_addressed_without_credentials_in_the_row(
    adapter: DingTalkAdapter, team: Team
) -> None:
    address = team_robot(adapter, team)
    assert (address.channel, address.target) == ("custom_robot", f"team:{team.id}")
    assert ROBOT_TOKEN not in address.rate_key
    assert ROBOT_SECRET not in address.target


async def test_a_team_without_dingtalk_settings_has_no_address(
    adapter: DingTalkAdapter, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    assert adapter.team_addresses(await add_team(sessions, clock)) == []


async def test_a_custom_robot_push_carries_a_signature_that_checks_out_independently(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk, team: Team, clock: FrozenClock
) -> None:
    result = await adapter.deliver(
        outbox_item(
            team_robot(adapter, team), Reply("【停滞预警】启明科技 已 9 天"), mention=("chenjing",)
        )
    )

    assert result == Sent({"via": "custom_robot"})
    [call] = fake_dingtalk.calls("/robot/send")
    timestamp, sign = call.query["timestamp"][0], call.query["sign"][0]
    assert timestamp == str(now_ms(clock))
    expected = hmac.new(
        ROBOT_SECRET.encode(), f"{timestamp}\n{ROBOT_SECRET}".encode(), hashlib.sha256
    )
    assert sign == base64.b64encode(expected.digest()).decode()
    assert call.query["access_token"] == [ROBOT_TOKEN]
    [(_, body)] = fake_dingtalk.robot_messages
    assert body == {
        "msgtype": "text",
        "text": {"content": "【停滞预警】启明科技 已 9 天 @chenjing"},
        "at": {"atUserIds": ["chenjing"], "isAtAll": False},
    }


async def test_a_custom_robot_without_a_secret_is_sent_unsigned(
    adapter: DingTalkAdapter,
    fake_dingtalk: FakeDingTalk,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    fake_dingtalk.add_custom_robot("keywordonlytoken", None)
    team = await add_team(sessions, clock, dingtalk_webhook="keywordonlytoken")

    result = await adapter.deliver(outbox_item(team_robot(adapter, team), Reply("日报")))

    assert isinstance(result, Sent)
    [call] = fake_dingtalk.calls("/robot/send")
    assert set(call.query) == {"access_token"}


async def test_the_21st_push_in_a_minute_waits_for_the_window_without_calling_dingtalk(
    adapter: DingTalkAdapter,
    fake_dingtalk: FakeDingTalk,
    team: Team,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    address = team_robot(adapter, team)
    async with sessions() as db, db.begin():
        for n in range(20):
            sent_at = clock.now() - timedelta(seconds=50 - n)
            item_id = await outbox.add(db, address, {"type": "text", "text": f"{n}"}, now=sent_at)
            assert item_id is not None
            await outbox.mark_sent(db, item_id, now=sent_at)

    result = await adapter.deliver(outbox_item(address, Reply("第 21 条")))

    assert isinstance(result, RetryAt)
    assert result.count_attempt is False  # a full window is not a failure
    assert clock.now() < result.at <= clock.now() + timedelta(minutes=1)
    assert fake_dingtalk.calls("/robot/send") == []


async def test_pushes_older_than_a_minute_do_not_count_against_the_window(
    adapter: DingTalkAdapter,
    fake_dingtalk: FakeDingTalk,
    team: Team,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    address = team_robot(adapter, team)
    async with sessions() as db, db.begin():
        for n in range(20):
            sent_at = clock.now() - timedelta(seconds=61 + n)
            item_id = await outbox.add(db, address, {"type": "text", "text": f"{n}"}, now=sent_at)
            assert item_id is not None
            await outbox.mark_sent(db, item_id, now=sent_at)

    assert isinstance(await adapter.deliver(outbox_item(address, Reply("新的一分钟"))), Sent)


async def test_dingtalks_too_fast_answer_pauses_that_robot_for_ten_minutes(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk, team: Team, clock: FrozenClock
) -> None:
    too_fast = {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
    fake_dingtalk.fail_next("/robot/send", 200, too_fast)

    result = await adapter.deliver(outbox_item(team_robot(adapter, team), Reply("x")))

    assert isinstance(result, RetryAt)
    assert (result.at, result.count_attempt) == (clock.now() + timedelta(minutes=10), False)


async def test_a_team_whose_robot_was_removed_makes_the_push_dead(
    adapter: DingTalkAdapter, team: Team
) -> None:
    address = Address("dingtalk", "custom_robot", "team:999", "dingtalk:custom_robot:gone")
    result = await adapter.deliver(outbox_item(address, Reply("x")))
    assert not isinstance(result, Sent | RetryAt)
