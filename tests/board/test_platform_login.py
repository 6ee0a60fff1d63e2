"""Platform sign-in: WeCom 网页授权 (snsapi_base) and DingTalk 免登, against fakes on localhost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from bot.adapter import AdapterDeps
from bot.dingtalk.client import DingTalkClient
from bot.wecom.client import WeComClient
from tests.board.conftest import Board, board_settings, start_board
from tests.core.conftest import SeededTeam
from tests.fakes.dingtalk import FakeDingTalk
from tests.fakes.wecom import FakeWeCom

CORP, AGENT, SECRET = "ww-corp-1", 1000002, "wecom-secret"


@pytest.fixture
async def wecom_board(team: SeededTeam) -> AsyncIterator[tuple[Board, FakeWeCom]]:
    fake = FakeWeCom(corp_id=CORP, secret=SECRET, agent_id=AGENT, now=team.clock.now)
    await fake.start()
    http = aiohttp.ClientSession()
    client = WeComClient(
        http=http,
        sessions=team.sessions,
        clock=team.clock,
        api_base=fake.base_url,
        corp_id=CORP,
        agent_id=AGENT,
        secret=SECRET,
    )
    settings = board_settings(
        wecom_corp_id=CORP,
        wecom_agent_id=AGENT,
        wecom_secret=SECRET,
        wecom_token="tok",
        wecom_aes_key="a" * 43,
        wecom_api_base=fake.base_url,
    )
    running, server = await start_board(team, settings, wecom=client)
    yield running, fake
    await running.close()
    await server.close()
    await http.close()
    await fake.close()


@pytest.fixture
async def dingtalk_board(team: SeededTeam) -> AsyncIterator[tuple[Board, FakeDingTalk]]:
    fake = FakeDingTalk(app_key="dk", app_secret="ds", robot_code="rc", now_ms=lambda: 0)
    await fake.start()
    http = aiohttp.ClientSession()
    settings = board_settings(
        dingtalk_app_key="dk",
        dingtalk_app_secret="ds",
        dingtalk_robot_code="rc",
        dingtalk_api_base=fake.base_url,
        dingtalk_oapi_base=fake.base_url,
    )
    deps = AdapterDeps(
        settings=settings,
        sessions=team.sessions,
        clock=team.clock,
        http=http,
        wake_inbox=lambda: None,
    )
    running, server = await start_board(team, settings, dingtalk=DingTalkClient(deps))
    yield running, fake
    await running.close()
    await server.close()
    await http.close()
    await fake.close()


async def test_wecom_sends_the_browser_to_silent_authorization(
    wecom_board: tuple[Board, FakeWeCom],
) -> None:
    board, _fake = wecom_board
    client = await board.client()
    response = await client.get("/board/login/wecom", allow_redirects=False)
    assert response.status == 303
    url = urlsplit(response.headers["Location"])
    query = parse_qs(url.query)
    assert url.netloc == "open.weixin.qq.com"
    assert url.path == "/connect/oauth2/authorize"
    assert url.fragment == "wechat_redirect"
    assert query["scope"] == ["snsapi_base"]
    assert query["appid"] == [CORP]
    assert query["redirect_uri"] == ["http://127.0.0.1/board/login/wecom/callback"]


async def test_a_wecom_code_signs_in_the_user_it_names(
    wecom_board: tuple[Board, FakeWeCom],
) -> None:
    board, fake = wecom_board
    client = await board.client()
    start = await client.get("/board/login/wecom", allow_redirects=False)
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    fake.oauth_codes["code-1"] = "wanglei"
    response = await client.get(
        "/board/login/wecom/callback",
        params={"code": "code-1", "state": state},
        allow_redirects=False,
    )
    assert response.status == 303
    page = await client.get("/board")
    assert page.status == 200
    assert "王磊" in await page.text()
    [call] = fake.calls("auth/getuserinfo")
    assert call.query["code"] == "code-1"


async def test_a_wecom_callback_with_a_wrong_state_is_refused(
    wecom_board: tuple[Board, FakeWeCom],
) -> None:
    board, fake = wecom_board
    client = await board.client()
    await client.get("/board/login/wecom", allow_redirects=False)
    fake.oauth_codes["code-1"] = "wanglei"
    response = await client.get(
        "/board/login/wecom/callback",
        params={"code": "code-1", "state": "forged"},
        allow_redirects=False,
    )
    assert response.status == 400
    assert fake.calls("auth/getuserinfo") == []


async def test_a_wecom_user_unknown_to_salesbot_gets_403(
    wecom_board: tuple[Board, FakeWeCom],
) -> None:
    board, fake = wecom_board
    client = await board.client()
    start = await client.get("/board/login/wecom", allow_redirects=False)
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    fake.oauth_codes["code-2"] = "stranger"
    response = await client.get(
        "/board/login/wecom/callback",
        params={"code": "code-2", "state": state},
        allow_redirects=False,
    )
    assert response.status == 403
    assert (await client.get("/board", allow_redirects=False)).status == 302


async def test_a_dingtalk_free_login_code_signs_in_the_user_it_names(
    dingtalk_board: tuple[Board, FakeDingTalk],
) -> None:
    board, fake = dingtalk_board
    fake.auth_codes["auth-1"] = "dt_lina"
    client = await board.client()
    response = await client.get(
        "/board/login/dingtalk", params={"code": "auth-1"}, allow_redirects=False
    )
    assert response.status == 303
    assert "李娜" in await (await client.get("/board")).text()


async def test_a_used_dingtalk_code_is_refused(
    dingtalk_board: tuple[Board, FakeDingTalk],
) -> None:
    board, fake = dingtalk_board
    fake.auth_codes["auth-1"] = "dt_lina"
    client = await board.client()
    await client.get("/board/login/dingtalk", params={"code": "auth-1"}, allow_redirects=False)
    other = await board.client()
    again = await other.get(
        "/board/login/dingtalk", params={"code": "auth-1"}, allow_redirects=False
    )
    assert again.status == 403


async def test_platform_sign_in_is_404_when_the_platform_is_off(board: Board) -> None:
    client = await board.client()
    assert (await client.get("/board/login/wecom", allow_redirects=False)).status == 404
    assert (await client.get("/board/login/dingtalk?code=x", allow_redirects=False)).status == 404
