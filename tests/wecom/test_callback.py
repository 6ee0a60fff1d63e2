"""POST/GET /wecom/callback on a bare app: verified, stored once in the inbox, refused cleanly."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapter import AdapterDeps
from bot.wecom import WeComAdapter
from handlers.clock import FrozenClock
from tests.fakes.wecom_client import SignedCallback, WeComCallbacks
from tests.wecom.support import (
    PATH,
    InboxBell,
    inbox_rows,
    post_callback,
    rejections,
    serve_routes,
)


async def test_url_check_answers_the_decrypted_echostr_verbatim(
    callback_client: TestClient, wecom: WeComCallbacks
) -> None:
    check = wecom.url_check("1288432023552776189")
    async with callback_client.get(PATH, params=check.params) as resp:
        assert (resp.status, await resp.text()) == (200, "1288432023552776189")


async def test_url_check_survives_a_proxy_that_turned_plus_into_space(
    callback_client: TestClient, wecom: WeComCallbacks
) -> None:
    check = next(
        c
        for c in (wecom.url_check("1288432023552776189") for _ in range(200))
        if "+" in c.params["echostr"]
    )
    mangled = {**check.params, "echostr": check.params["echostr"].replace("+", " ")}
    async with callback_client.get(PATH, params=mangled) as resp:
        assert (resp.status, await resp.text()) == (200, "1288432023552776189")


async def test_url_check_with_a_bad_signature_is_refused(
    callback_client: TestClient, wecom: WeComCallbacks
) -> None:
    check = wecom.url_check("1288432023552776189", signature="f" * 40)
    async with callback_client.get(PATH, params=check.params) as resp:
        assert resp.status == 401


async def test_text_message_is_stored_decrypted_and_acked_with_an_empty_200(
    callback_client: TestClient,
    wecom: WeComCallbacks,
    sessions: async_sessionmaker[AsyncSession],
    bell: InboxBell,
) -> None:
    xml = wecom.text("wanglei", "跟进 启明 电话确认了试用安排", msg_id=4401)
    assert await post_callback(callback_client, wecom.post(xml)) == (200, "")
    (row,) = await inbox_rows(sessions)
    assert (row.platform, row.message_key, row.payload) == ("wecom", "m|1000002|wanglei|4401", xml)
    assert bell.rings == 1


async def test_the_same_msgid_delivered_three_times_is_stored_once(
    callback_client: TestClient,
    wecom: WeComCallbacks,
    sessions: async_sessionmaker[AsyncSession],
    bell: InboxBell,
) -> None:
    xml = wecom.text("wanglei", "任务", msg_id=4402)
    # WeCom re-encrypts every retry: new ciphertext, nonce and signature, the same plaintext.
    answers = [await post_callback(callback_client, wecom.post(xml)) for _ in range(3)]
    assert answers == [(200, "")] * 3
    assert len(await inbox_rows(sessions)) == 1
    assert bell.rings == 1


async def test_a_redelivery_to_another_instance_is_still_dropped(
    callback_client: TestClient,
    deps: AdapterDeps,
    wecom: WeComCallbacks,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    xml = wecom.text("lina", "我的", msg_id=4403)
    other = await serve_routes(WeComAdapter(deps))  # a second instance (or a restart), same DB
    try:
        assert await post_callback(callback_client, wecom.post(xml)) == (200, "")
        assert await post_callback(other, wecom.post(xml)) == (200, "")
    finally:
        await other.close()
    assert len(await inbox_rows(sessions)) == 1


async def test_the_same_msgid_from_two_members_is_stored_twice(
    callback_client: TestClient, wecom: WeComCallbacks, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for sender in ("wanglei", "lina"):
        await post_callback(callback_client, wecom.post(wecom.text(sender, "任务", msg_id=4404)))
    assert len(await inbox_rows(sessions)) == 2


async def test_two_card_clicks_in_the_same_second_are_both_stored(
    callback_client: TestClient, wecom: WeComCallbacks, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for key, code in (("接受 12", "rc-a"), ("接受 13", "rc-b")):
        xml = wecom.card_click("wanglei", key=key, task_id="task-12@1", response_code=code)
        await post_callback(callback_client, wecom.post(xml))
    keys = [row.message_key for row in await inbox_rows(sessions)]
    assert keys == [
        "e|1000002|wanglei|1772706600|template_card_event|接受 12|task-12@1|rc-a|",
        "e|1000002|wanglei|1772706600|template_card_event|接受 13|task-12@1|rc-b|",
    ]


@pytest.mark.parametrize(
    "kind", ["voice", "image", "location", "video", "enter_agent", "click", "view", "scancode_push"]
)
async def test_every_chat_message_and_user_event_is_stored(
    callback_client: TestClient,
    wecom: WeComCallbacks,
    sessions: async_sessionmaker[AsyncSession],
    kind: str,
) -> None:
    xml = {
        "voice": wecom.voice("wanglei", "media-voice-1", msg_id=5001),
        "image": wecom.image("wanglei", "media-image-1", msg_id=5002),
        "location": wecom.location("wanglei", "杭州市西湖区文三路", msg_id=5003),
        "video": wecom.video("wanglei", msg_id=5004),
        "enter_agent": wecom.enter_agent("wanglei"),
        "click": wecom.event("wanglei", "click", EventKey="任务"),
        "view": wecom.event("wanglei", "view", EventKey="https://example.com/menu"),
        "scancode_push": wecom.event("wanglei", "scancode_push", EventKey="scan"),
    }[kind]
    assert await post_callback(callback_client, wecom.post(xml)) == (200, "")
    assert [row.payload for row in await inbox_rows(sessions)] == [xml]


@pytest.mark.parametrize("event", ["subscribe", "LOCATION", "change_contact"])
async def test_background_events_are_acked_but_not_stored(
    callback_client: TestClient,
    wecom: WeComCallbacks,
    sessions: async_sessionmaker[AsyncSession],
    event: str,
) -> None:
    xml = wecom.event("wanglei", event)
    assert await post_callback(callback_client, wecom.post(xml)) == (200, "")
    assert await inbox_rows(sessions) == []


def _bad_signature(wecom: WeComCallbacks) -> SignedCallback:
    return wecom.post(wecom.text("wanglei", "任务", msg_id=1), signature="a" * 40)


def _stale(wecom: WeComCallbacks) -> SignedCallback:
    return wecom.post(wecom.text("wanglei", "任务", msg_id=1), timestamp="1772700000")


def _other_corp(wecom: WeComCallbacks) -> SignedCallback:
    return wecom.post(wecom.text("wanglei", "任务", msg_id=1), receive_id="wwintruder00000001")


def _unsigned(wecom: WeComCallbacks) -> SignedCallback:
    return SignedCallback({}, wecom.envelope(wecom.encrypt("<xml/>")))


def _raw(wecom: WeComCallbacks, body: bytes) -> SignedCallback:
    """A body signed as if its Encrypt were genuine, so only the XML check can refuse it."""
    return SignedCallback(wecom.signed("x"), body)


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    b"<xml><Encrypt>&c;</Encrypt></xml>"
)
BAD_INPUTS = {
    "bad_signature": (401, _bad_signature),
    "stale_timestamp": (401, _stale),
    "wrong_corp_id": (401, _other_corp),
    "unsigned": (401, _unsigned),
    "malformed": (400, lambda w: _raw(w, b"<xml><Encrypt>x</Encrypt")),
    "doctype": (400, lambda w: _raw(w, BILLION_LAUGHS)),
    "external_entity": (
        400,
        lambda w: _raw(
            w, b'<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml>&x;</xml>'
        ),
    ),
    "oversize": (400, lambda w: _raw(w, b"<xml><Encrypt>" + b"A" * 300_000 + b"</Encrypt></xml>")),
    "undecryptable": (400, lambda w: SignedCallback(w.signed("QUJD"), w.envelope("QUJD"))),
}
REASONS = {"unsigned": "bad_signature", "external_entity": "doctype"}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
async def test_bad_input_is_refused_counted_and_nothing_is_stored(
    callback_client: TestClient,
    wecom: WeComCallbacks,
    sessions: async_sessionmaker[AsyncSession],
    case: str,
) -> None:
    status, make = BAD_INPUTS[case]
    reason = REASONS.get(case, case)
    before = rejections(reason)
    answer_status, _ = await post_callback(callback_client, make(wecom))
    assert (answer_status, rejections(reason) - before) == (status, 1)
    assert await inbox_rows(sessions) == []
    # The server keeps serving: a genuine message right after is stored.
    good = wecom.post(wecom.text("wanglei", "帮助", msg_id=6001))
    assert await post_callback(callback_client, good) == (200, "")
    assert len(await inbox_rows(sessions)) == 1


async def test_an_oversize_chunked_body_without_a_length_is_refused(
    callback_client: TestClient, wecom: WeComCallbacks, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"A" * 10_000

    async with callback_client.post(PATH, params=wecom.signed("x"), data=chunks()) as resp:
        assert resp.status == 400
    assert await inbox_rows(sessions) == []


async def test_a_genuine_callback_arriving_late_is_refused_as_a_replay(
    callback_client: TestClient, wecom: WeComCallbacks, clock: FrozenClock
) -> None:
    callback = wecom.post(wecom.text("wanglei", "任务", msg_id=7001))
    clock.advance(minutes=6)
    assert (await post_callback(callback_client, callback))[0] == 401
