"""The LLM engine against a fake OpenAI-compatible endpoint on localhost: a good answer is used,
and every kind of failure falls back to the rule engine, with the engine that answered logged."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from structlog.testing import capture_logs

from bot.llm_extractor import LlmExtractor
from handlers.extraction import CustomerRef

NOTE = "宏达建材王经理反馈价格偏高，我答应周五前给一版新报价"
GOOD_ANSWER = {
    "customer": "佛山宏达建材",
    "contact": "王经理",
    "summary": NOTE,
    "next_action": "给一版新报价",
    "due_phrase": "周五前",
    "due_at": "2026-03-06",
    "commitment": "给一版新报价",
    "stage": None,
    "amount_yuan": None,
}


@dataclass
class FakeModel:
    """Answers /v1/chat/completions the way it is told to, and keeps what it was asked."""

    mode: str = "good"
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def chat(self, request: web.Request) -> web.Response:
        self.requests.append({"auth": request.headers.get("Authorization"), **await request.json()})
        if self.mode == "hang":
            await self.release.wait()  # until the test is over: the client must give up first
        if self.mode == "error":
            return web.json_response({"error": {"message": "overloaded"}}, status=500)
        content = {
            "good": json.dumps(GOOD_ANSWER, ensure_ascii=False),
            "not_json": "好的，客户是宏达建材",
            "wrong_shape": json.dumps({**GOOD_ANSWER, "customer_name": "宏达", "mood": "good"}),
            "bad_date": json.dumps({**GOOD_ANSWER, "due_at": "下周五"}),
        }[self.mode]
        return web.json_response(
            {"choices": [{"message": {"role": "assistant", "content": content}}]}
        )


@pytest.fixture
async def fake_model() -> AsyncIterator[tuple[FakeModel, str]]:
    model = FakeModel()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", model.chat)
    server = TestServer(app, port=0)
    await server.start_server()
    yield model, str(server.make_url("/v1"))
    model.release.set()
    await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def engine(base_url: str, session: aiohttp.ClientSession, timeout_s: float = 2.0) -> LlmExtractor:
    return LlmExtractor(
        base_url=base_url, api_key="test-key", model="fake-1", timeout_s=timeout_s, session=session
    )


async def test_a_good_answer_is_mapped_onto_the_senders_customers(
    fake_model: tuple[FakeModel, str],
    session: aiohttp.ClientSession,
    now: datetime,
    tz: ZoneInfo,
    customers: list[CustomerRef],
) -> None:
    _, url = fake_model
    with capture_logs() as logs:
        ex = await engine(url, session).extract(NOTE, now=now, tz=tz, customers=customers)
    assert ex.engine == "llm"
    assert ex.customer is not None
    assert ex.customer.value.id == 2
    assert ex.due is not None
    assert ex.due.value.at.astimezone(tz).date().isoformat() == "2026-03-06"
    assert ex.due.span is not None
    assert ex.text[ex.due.span[0] : ex.due.span[1]] == "周五前"
    assert ex.commitment is not None
    assert ex.commitment.value == "给一版新报价"
    assert [e["engine"] for e in logs if e["event"] == "extraction_engine"] == ["llm"]


async def test_the_request_is_an_openai_json_mode_chat_completion(
    fake_model: tuple[FakeModel, str],
    session: aiohttp.ClientSession,
    now: datetime,
    tz: ZoneInfo,
    customers: list[CustomerRef],
) -> None:
    model, url = fake_model
    await engine(url, session).extract(NOTE, now=now, tz=tz, customers=customers)
    (sent,) = model.requests
    assert sent["auth"] == "Bearer test-key"
    assert sent["model"] == "fake-1"
    assert sent["response_format"] == {"type": "json_object"}
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert "2026-03-05 18:30" in sent["messages"][1]["content"]
    assert "佛山宏达建材" in sent["messages"][1]["content"]


@pytest.mark.parametrize("mode", ["error", "not_json", "wrong_shape", "bad_date"])
async def test_a_failed_answer_falls_back_to_the_rules(
    fake_model: tuple[FakeModel, str],
    session: aiohttp.ClientSession,
    now: datetime,
    tz: ZoneInfo,
    customers: list[CustomerRef],
    mode: str,
) -> None:
    model, url = fake_model
    model.mode = mode
    with capture_logs() as logs:
        ex = await engine(url, session).extract(NOTE, now=now, tz=tz, customers=customers)
    assert ex.engine == "rules"
    assert ex.customer is not None
    assert ex.customer.value.name == "佛山宏达建材"
    assert [e["engine"] for e in logs if e["event"] == "extraction_engine"] == ["rules"]


async def test_a_model_that_does_not_answer_in_time_falls_back_to_the_rules(
    fake_model: tuple[FakeModel, str],
    session: aiohttp.ClientSession,
    now: datetime,
    tz: ZoneInfo,
    customers: list[CustomerRef],
) -> None:
    model, url = fake_model
    model.mode = "hang"
    with capture_logs() as logs:
        ex = await engine(url, session, timeout_s=0.2).extract(
            NOTE, now=now, tz=tz, customers=customers
        )
    assert ex.engine == "rules"
    (logged,) = [e for e in logs if e["event"] == "extraction_engine"]
    assert logged["llm_error"] == "TimeoutError"


async def test_an_unreachable_endpoint_falls_back_to_the_rules(
    session: aiohttp.ClientSession, now: datetime, tz: ZoneInfo, customers: list[CustomerRef]
) -> None:
    closed = TestServer(web.Application(), port=0)
    await closed.start_server()
    url = str(closed.make_url("/v1"))
    await closed.close()
    ex = await engine(url, session).extract(NOTE, now=now, tz=tz, customers=customers)
    assert ex.engine == "rules"


def test_the_engine_is_off_unless_all_three_settings_are_given() -> None:
    assert LlmExtractor.from_env({}) is None
    assert LlmExtractor.from_env({"SALESBOT_LLM_BASE_URL": "http://127.0.0.1:1/v1"}) is None
    on = LlmExtractor.from_env(
        {
            "SALESBOT_LLM_BASE_URL": "http://127.0.0.1:1/v1/",
            "SALESBOT_LLM_API_KEY": "k",
            "SALESBOT_LLM_MODEL": "m",
        }
    )
    assert on is not None
    assert on.url == "http://127.0.0.1:1/v1/chat/completions"
