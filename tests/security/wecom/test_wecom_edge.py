"""Findings 2, 5, 7 on WeCom: fields checked at the edge, odd signatures refused, no tracebacks."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fakes.wecom_client import WeComCallbacks, cdata
from tests.wecom.support import PATH, inbox_rows, post_callback


async def test_a_non_ascii_signature_is_refused_with_401_not_500(
    callback_client: TestClient,
    wecom: WeComCallbacks,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    callback = wecom.post(wecom.text("wanglei", "我的", msg_id=5101))
    params = {**callback.params, "msg_signature": "é" * 40}
    async with callback_client.post(PATH, params=params, data=callback.body) as resp:
        assert resp.status == 401
    assert await inbox_rows(sessions) == []


async def test_a_non_ascii_timestamp_or_nonce_is_refused_with_401(
    callback_client: TestClient, wecom: WeComCallbacks
) -> None:
    for field in ("timestamp", "nonce"):
        callback = wecom.post(wecom.text("wanglei", "我的", msg_id=5102))
        params = {**callback.params, field: "²³"}
        async with callback_client.post(PATH, params=params, data=callback.body) as resp:
            assert resp.status == 401, field


async def test_bad_signatures_are_logged_one_line_each_without_a_traceback(
    callback_client: TestClient, wecom: WeComCallbacks, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    for n in range(50):
        callback = wecom.post(wecom.text("wanglei", "我的", msg_id=5200 + n))
        params = {**callback.params, "msg_signature": "%C3%A9" + "é" * n}
        async with callback_client.post(PATH, params=params, data=callback.body) as resp:
            assert resp.status == 401
    out = capsys.readouterr()
    logged = out.out + out.err
    assert "Traceback" not in logged
    assert logged.count("wecom_callback_rejected") == 50
    assert len([line for line in logged.splitlines() if line.strip()]) == 50


@pytest.mark.parametrize(
    ("sender", "extra"),
    [
        ("w" * 600, ""),  # a sender id no column can hold
        ("wang lei", ""),  # a space in a user id
        ("wanglei", "<MsgType>text</MsgType>"),  # a repeated field (wechatpy makes a list)
    ],
)
async def test_a_message_with_a_bad_field_is_refused_with_400_and_not_stored(
    callback_client: TestClient,
    wecom: WeComCallbacks,
    sessions: async_sessionmaker[AsyncSession],
    capsys: pytest.CaptureFixture[str],
    sender: str,
    extra: str,
) -> None:
    xml = wecom.text(sender, "我的", msg_id=5301).replace("</xml>", extra + "</xml>")
    status, _ = await post_callback(callback_client, wecom.post(xml))
    assert status == 400
    assert await inbox_rows(sessions) == []
    assert "Traceback" not in capsys.readouterr().out


async def test_a_non_numeric_msg_id_is_refused_with_400(
    callback_client: TestClient, wecom: WeComCallbacks, sessions: async_sessionmaker[AsyncSession]
) -> None:
    xml = wecom.text("wanglei", "我的", msg_id=1).replace(
        "<MsgId>1</MsgId>", f"<MsgId>{cdata('1; DROP')}</MsgId>"
    )
    status, _ = await post_callback(callback_client, wecom.post(xml))
    assert status == 400
    assert await inbox_rows(sessions) == []


async def test_two_different_messages_without_msg_id_are_both_kept_and_a_redelivery_is_not(
    callback_client: TestClient, wecom: WeComCallbacks, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = wecom.text("wanglei", "跟进 启明 电话沟通", msg_id=1).replace("<MsgId>1</MsgId>", "")
    second = wecom.text("wanglei", "跟进 宏达 上门拜访", msg_id=1).replace("<MsgId>1</MsgId>", "")
    for xml in (first, second, first):  # the third is WeCom delivering the first again
        status, _ = await post_callback(callback_client, wecom.post(xml))
        assert status == 200
    rows = await inbox_rows(sessions)
    assert [row.payload for row in rows] == [first, second]
    assert len({row.message_key for row in rows}) == 2
