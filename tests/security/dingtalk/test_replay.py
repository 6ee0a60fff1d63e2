"""Finding 6: a captured DingTalk header pair signs one message, and replies go only to DingTalk."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapter import AdapterDeps
from bot.dingtalk.adapter import DingTalkAdapter
from config.rules import Rules
from handlers.clock import FrozenClock
from storage.guard_models import SeenSignature
from storage.queue_models import InboxItem
from tests.dingtalk.conftest import APP_SECRET, now_ms
from tests.dingtalk.test_end_to_end import salesbot, session_replies
from tests.fakes.dingtalk import FakeDingTalk, robot_message, signed_headers
from tests.polling import eventually, settled

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(adapter: DingTalkAdapter) -> AsyncIterator[Client]:
    app = web.Application()
    app.add_routes(adapter.routes())
    async with TestClient(TestServer(app)) as client:
        yield client


async def post(client: Client, body: dict[str, Any], headers: dict[str, str]) -> int:
    data = json.dumps(body, ensure_ascii=False).encode()
    async with client.post(
        "/dingtalk/callback", data=data, headers={**headers, "Content-Type": "application/json"}
    ) as resp:
        await resp.read()
        return resp.status


async def stored(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as db:
        return list((await db.execute(select(InboxItem.message_key))).scalars())


async def test_a_header_pair_reused_with_another_message_is_refused(
    client: Client, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    captured = signed_headers(APP_SECRET, now_ms(clock))  # from 张伟's 帮助
    genuine = robot_message(text="帮助", msg_id="msgZhangWei", sender="zhangwei")
    forged = robot_message(text="我的", msg_id="msgForged", sender="wangfang")
    assert await post(client, genuine, captured) == 200
    clock.advance(minutes=10)
    assert await post(client, forged, captured) == 401
    assert await stored(sessions) == ["msgZhangWei"]


async def test_the_same_message_with_the_same_headers_again_is_a_harmless_duplicate(
    client: Client, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    headers = signed_headers(APP_SECRET, now_ms(clock))
    message = robot_message(text="帮助", msg_id="msgTwice")
    assert await post(client, message, headers) == 200
    assert await post(client, message, headers) == 200  # a redelivery of the same request
    assert await stored(sessions) == ["msgTwice"]


async def test_a_used_signature_is_refused_by_every_instance(
    deps: AdapterDeps,
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    other = DingTalkAdapter(deps)  # a second instance on the same database
    app = web.Application()
    app.add_routes(other.routes())
    headers = signed_headers(APP_SECRET, now_ms(clock))
    async with TestClient(TestServer(app)) as second:
        assert await post(client, robot_message(text="帮助", msg_id="msgOne"), headers) == 200
        assert await post(second, robot_message(text="我的", msg_id="msgTwo"), headers) == 401
    assert await stored(sessions) == ["msgOne"]


async def test_a_used_signature_is_kept_for_the_signatures_lifetime(
    client: Client, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    stamp = now_ms(clock)
    assert (
        await post(client, robot_message(msg_id="msgKeep"), signed_headers(APP_SECRET, stamp))
        == 200
    )
    async with sessions() as db:
        [row] = (await db.execute(select(SeenSignature))).scalars()
    assert row.expires_at.timestamp() * 1000 >= stamp + 3_600_000


QIMING = "杭州启明科技有限公司"


@pytest.fixture
async def two_reps(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    """王磊 owns 启明; 张伟 is a rep on another team with nothing of 王磊's."""
    from storage.models import Customer, Role, Team, User

    now = clock.now()
    async with sessions() as db, db.begin():
        team = Team(name="华东一组", created_at=now)
        db.add(team)
        await db.flush()
        for name, userid in (("王磊", "wanglei"), ("张伟", "zhangwei")):
            db.add(
                User(
                    name=name,
                    role=Role.REP,
                    team_id=team.id,
                    dingtalk_userid=userid,
                    created_at=now,
                )
            )
        await db.flush()
        owner = await db.scalar(select(User).where(User.name == "王磊"))
        assert owner is not None
        db.add(
            Customer(
                name=QIMING,
                aliases=["启明"],
                owner_id=owner.id,
                stage="意向",
                stage_entered_at=now,
                created_at=now,
            )
        )


@pytest.mark.usefixtures("two_reps")
async def test_a_message_claiming_another_sender_in_a_private_chat_is_not_answered(
    db_url: str,
    fake_dingtalk: FakeDingTalk,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    own = robot_message(
        text="帮助",
        msg_id="msgOwn",
        sender="zhangwei",
        conversation_id="cidZhangWeiPrivate==",
        session_webhook=fake_dingtalk.new_session_webhook(),
    )
    # Freshly signed (a header pair that never reached us), 张伟's conversation, 王磊's id.
    forged = robot_message(
        text="我的",
        msg_id="msgForged",
        sender="wanglei",
        conversation_id="cidZhangWeiPrivate==",
        session_webhook=fake_dingtalk.new_session_webhook(),
    )
    answered: list[int] = []
    async with salesbot(db_url, fake_dingtalk, clock, rules) as bot:
        for message in (own, forged):
            clock.advance(milliseconds=1)
            body = json.dumps(message, ensure_ascii=False).encode()
            headers = {
                **signed_headers(APP_SECRET, now_ms(clock)),
                "Content-Type": "application/json",
            }
            async with bot.client.post("/dingtalk/callback", data=body, headers=headers) as resp:
                assert resp.status == 200
            await eventually(lambda: settled(sessions))  # 张伟 has talked to the bot before
            answered.append(len(session_replies(fake_dingtalk)))
    assert fake_dingtalk.one_to_one == []
    assert answered[0] >= 1  # 张伟's 帮助 was answered
    assert answered[1] == answered[0]  # the forged 我的 was not


@pytest.mark.parametrize(
    "url",
    [
        "{base}/robot/send?access_token=ATTACKER",  # the right host, the wrong path
        "{base}/robot/sendBySession?session=abc&access_token=ATTACKER",
        "{base}/robot/sendBySession/../send?session=abc",
        "{base}/robot/sendBySession",
        "{base}/robot/sendBySession?session=",
        "{base}.evil.example/robot/sendBySession?session=abc",
        "https://evil.example/robot/sendBySession?session=abc",
        "{base}/robot/sendBySession?session=abc#frag",
    ],
)
async def test_a_session_webhook_not_in_dingtalks_exact_form_is_ignored(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk, clock: FrozenClock, url: str
) -> None:
    hook = (url.format(base=fake_dingtalk.base_url), now_ms(clock) + 90 * 60_000)
    message = robot_message(text="我的", session_webhook=hook)
    event = adapter.to_event(json.dumps(message), received_at=clock.now())
    address = adapter.reply_address(event)
    assert address.channel == "robot_user"
    assert address.target == "wanglei"


async def test_a_session_webhook_in_the_documented_form_is_used(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk, clock: FrozenClock
) -> None:
    message = robot_message(text="我的", session_webhook=fake_dingtalk.new_session_webhook())
    event = adapter.to_event(json.dumps(message), received_at=clock.now())
    assert adapter.reply_address(event).channel == "session_webhook"
