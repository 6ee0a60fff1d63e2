"""`salesbot doctor`: the 智能机器人 gateway (never subscribing) and the DingTalk card mode."""

from __future__ import annotations

import pytest

from tests.fakes.wecom_bot_gateway import FakeBotGateway
from tests.ops.cluster import free_port
from tests.ops.fake_tokens import FakeTokens, dingtalk_env
from tests.ops.test_doctor import doctor, line_of
from tests.wecom_bot.conftest import BOT_ID, BOT_SECRET


@pytest.fixture
def bot_env(clean_env: pytest.MonkeyPatch, sqlite_url: str) -> pytest.MonkeyPatch:
    clean_env.setenv("SALESBOT_DATABASE_URL", sqlite_url)
    clean_env.setenv("SALESBOT_WECOM_BOT_ID", BOT_ID)
    clean_env.setenv("SALESBOT_WECOM_BOT_SECRET", BOT_SECRET)
    return clean_env


async def test_the_bot_alone_is_a_platform_and_its_gateway_is_checked_without_subscribing(
    bot_env: pytest.MonkeyPatch,
) -> None:
    gateway = FakeBotGateway(bot_id=BOT_ID, secret=BOT_SECRET)
    bot_env.setenv("SALESBOT_WECOM_BOT_WS_URL", await gateway.start())
    try:
        code, lines = await doctor()
    finally:
        await gateway.close()

    assert code == 0, lines
    assert "platforms on: WeCom 智能机器人" in line_of(lines, "configuration")
    assert line_of(lines, "wecom bot").startswith("OK   wecom bot: ")
    assert gateway.subscribes == []  # a running instance keeps its connection


async def test_an_unreachable_gateway_fails_and_says_what_the_network_needs(
    bot_env: pytest.MonkeyPatch,
) -> None:
    bot_env.setenv("SALESBOT_WECOM_BOT_WS_URL", f"ws://127.0.0.1:{free_port()}/")

    code, lines = await doctor()

    assert code == 1
    assert "outbound" in line_of(lines, "wecom bot")


async def test_a_bot_id_without_its_secret_is_a_configuration_error(
    clean_env: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    clean_env.setenv("SALESBOT_DATABASE_URL", sqlite_url)
    clean_env.setenv("SALESBOT_WECOM_BOT_ID", BOT_ID)

    code, [line] = await doctor()

    assert code == 1
    assert "SALESBOT_WECOM_BOT_SECRET" in line


async def test_a_card_template_in_http_mode_without_a_public_url_fails_and_says_why(
    clean_env: pytest.MonkeyPatch, sqlite_url: str, fake_tokens: FakeTokens
) -> None:
    clean_env.setenv("SALESBOT_DATABASE_URL", sqlite_url)
    for key, value in dingtalk_env(fake_tokens.base_url).items():
        clean_env.setenv(key, value)
    clean_env.setenv("SALESBOT_DINGTALK_MODE", "http")
    clean_env.setenv("SALESBOT_DINGTALK_CARD_TEMPLATE_ID", "tpl.schema")

    code, lines = await doctor()

    assert code == 1
    assert "SALESBOT_DINGTALK_PUBLIC_URL" in line_of(lines, "dingtalk cards")
    clean_env.setenv("SALESBOT_DINGTALK_PUBLIC_URL", "https://bot.example.com")
    code, lines = await doctor()
    assert line_of(lines, "dingtalk cards").startswith("OK   dingtalk cards: interactive cards")
