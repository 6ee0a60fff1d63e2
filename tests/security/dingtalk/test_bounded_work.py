"""Finding 1: a maximal note, and one far past the limit, do not delay anyone's acknowledgment."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.rules import Rules
from config.settings import Settings
from handlers.clock import FrozenClock
from handlers.extraction import warm_up
from storage.models import Followup
from storage.queue_models import InboxItem, ItemStatus
from tests.dingtalk.conftest import APP_SECRET, now_ms
from tests.dingtalk.test_end_to_end import salesbot, seeded, session_replies
from tests.fakes.dingtalk import FakeDingTalk, robot_message, signed_headers
from tests.polling import eventually

__all__ = ["seeded"]  # the fixture, imported for pytest

SENTENCE = "王总说下周三下午3点再开会讨论采购方案，预算大概十二万五，需要我们先发报价单。"
LIMIT = Settings().max_note_chars


def note(chars: int) -> str:
    text = "跟进 启明 "
    return (text + SENTENCE * (chars // len(SENTENCE) + 1))[:chars]


async def post(bot_client: Any, message: dict[str, Any], clock: FrozenClock) -> tuple[int, float]:
    clock.advance(milliseconds=1)  # every request its own (timestamp, sign), as DingTalk signs
    body = json.dumps(message, ensure_ascii=False).encode()
    headers = {**signed_headers(APP_SECRET, now_ms(clock)), "Content-Type": "application/json"}
    started = time.perf_counter()
    async with bot_client.post("/dingtalk/callback", data=body, headers=headers) as resp:
        await resp.read()
        return resp.status, time.perf_counter() - started


async def handled(sessions: async_sessionmaker[AsyncSession], keys: list[str]) -> bool:
    async with sessions() as db:
        stmt = select(func.count()).where(
            InboxItem.message_key.in_(keys), InboxItem.status == ItemStatus.DONE
        )
        return (await db.scalar(stmt)) == len(keys)


def test_the_default_note_limit_is_2000_characters() -> None:
    assert LIMIT == 2000


async def ack_times(
    bot: Any, clock: FrozenClock, prefix: str, *, until: Callable[[], Awaitable[bool]]
) -> list[float]:
    """Ack times of ordinary callbacks (~40 a second), at least 100 and until `until()`."""
    acks: list[float] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        other = robot_message(
            text="帮助",
            msg_id=f"{prefix}{len(acks)}",
            sender="chenjing",
            conversation_id="cidChenJingPrivate==",
        )
        status, seconds = await post(bot.client, other, clock)
        assert status == 200
        acks.append(seconds)
        if len(acks) >= 100 and await until():
            break
        await asyncio.sleep(0.02)  # paced traffic, not a flood
    return acks


def p99(acks: list[float]) -> float:
    return statistics.quantiles(acks, n=100)[98]


@pytest.mark.usefixtures("seeded")
async def test_other_callbacks_are_acknowledged_within_100_ms_while_huge_notes_are_handled(
    db_url: str,
    fake_dingtalk: FakeDingTalk,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await asyncio.to_thread(warm_up)  # as `salesbot serve` does before it listens
    maximal = robot_message(
        text=note(LIMIT),
        msg_id="msgMaximal",
        session_webhook=fake_dingtalk.new_session_webhook(),
    )
    # ~240 kB: under the 256 kB body limit, so it reaches the worker (took ~40 s on the loop).
    huge = robot_message(
        text=note(80_000), msg_id="msgHuge", session_webhook=fake_dingtalk.new_session_webhook()
    )

    async def nothing_else() -> bool:
        return True

    async with salesbot(db_url, fake_dingtalk, clock, rules) as bot:
        before = await ack_times(bot, clock, "msgBefore", until=nothing_else)
        for message in (maximal, huge):
            status, _ = await post(bot.client, message, clock)
            assert status == 200
        during = await ack_times(
            bot, clock, "msgDuring", until=lambda: handled(sessions, ["msgMaximal", "msgHuge"])
        )
        assert await handled(sessions, ["msgMaximal", "msgHuge"])
        replies = await eventually(
            lambda: (
                [r for r in session_replies(fake_dingtalk) if "启明" in r or "上限" in r]
                if len([r for r in session_replies(fake_dingtalk) if "启明" in r or "上限" in r])
                >= 2
                else None
            )
        )
    # 100 ms is the bar. On a machine already slower than a third of it without any long note
    # (a shared CI box: load 12 on 2 cores measured 150-600 ms), the bar is three times that
    # baseline. A note handled on the event loop stalls an ack for seconds (the 240 kB one for
    # ~30 s), which no bar here lets through.
    bar = max(0.100, 3 * p99(before))
    assert p99(during) < bar, (
        f"ack p99 {p99(during) * 1000:.1f} ms while the notes were handled "
        f"(baseline {p99(before) * 1000:.1f} ms, {len(during)} callbacks)"
    )
    assert max(during) < max(2.0, 5 * max(before)), f"one ack took {max(during):.1f} s"
    async with sessions() as db:
        followups = await db.scalar(select(func.count()).select_from(Followup))
    assert followups == 1  # the maximal note is recorded; the huge one is refused, not stored
    assert any(f"超过了 {LIMIT} 字的上限" in r for r in replies)
