"""A message is handled once per message id, and a refused command leaves no rows behind."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import router
from handlers.chat import Outgoing, Platform
from handlers.commands import Command
from handlers.context import Context
from handlers.errors import UserError
from storage.models import (
    AuditEntry,
    CodeCounter,
    Commitment,
    Customer,
    CustomerEvent,
    Followup,
    HandledEvent,
    StageChange,
)
from tests.core.conftest import SeededTeam

TABLES: tuple[type[Any], ...] = (
    AuditEntry,
    CodeCounter,
    Commitment,
    Customer,
    CustomerEvent,
    Followup,
    HandledEvent,
    StageChange,
)


async def row_counts(team: SeededTeam) -> dict[str, int]:
    return {model.__tablename__: await team.count(model) for model in TABLES}


@pytest.mark.parametrize(
    "text",
    [
        "承诺 启明科技 发正式报价 下周三17:00",
        "跟进 启明科技 电话确认了试用安排，下周三前给反馈",
        "阶段 启明科技 方案",
    ],
)
async def test_the_same_message_twice_is_handled_once(team: SeededTeam, text: str) -> None:
    event = team.event("王磊", text)
    first = await team.send(event)
    after_first = await row_counts(team)
    second = await team.send(event)
    assert first
    assert second == []
    assert await row_counts(team) == after_first


async def test_the_same_message_id_from_another_platform_is_another_message(
    team: SeededTeam,
) -> None:
    shell = team.event("王磊", "我的")
    await team.send(shell)
    answers = await team.send(replace(shell, platform=Platform.WECOM, sender="wanglei"))
    assert answers


async def test_a_handled_message_keeps_its_answer(team: SeededTeam) -> None:
    event = team.event("王磊", "承诺 启明科技 发正式报价 下周三17:00")
    [answer] = await team.send(event)
    async with team.sessions() as db:
        handled = await db.get_one(HandledEvent, ("shell", event.message_id))
    assert handled.replies == [answer]
    assert handled.user_id == team.users["王磊"]


@pytest.mark.parametrize(
    "text",
    [
        "承诺 启明科技 发正式报价 今天9:00",
        "阶段 瑞康 线索",
        "新客户 杭州启明科技有限公司",
        "签约 启明科技 到期 2026-01-01",
        "回款 启明科技 好多钱",
    ],
)
async def test_a_refused_command_leaves_only_the_handled_mark(team: SeededTeam, text: str) -> None:
    before = await row_counts(team)
    answer = await team.talk("王磊", text)
    assert "请这样写" in answer
    expected = {**before, "handled_events": 1}
    if text.startswith("新客户"):  # a refused duplicate customer is audited (duplicate_refused)
        expected["audit_log"] = before["audit_log"] + 1
    assert await row_counts(team) == expected


async def test_a_command_refused_after_it_wrote_rows_leaves_none_of_them(
    team: SeededTeam, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def half_done(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
        """A fake handler that writes a lead, then finds the input wrong."""
        now = ctx.clock.now()
        db.add(
            Customer(
                name="温州东瓯电器有限公司",
                aliases=[],
                owner_id=cmd.user.id,
                stage="线索",
                stage_entered_at=now,
                created_at=now,
            )
        )
        await db.flush()
        raise UserError("这条命令写了一半", example="试验 温州东瓯电器有限公司")

    monkeypatch.setitem(router.ROUTES, "试验", router.Route(half_done, "试验"))
    before = await row_counts(team)
    answer = await team.talk("王磊", "试验 温州东瓯电器有限公司")
    assert answer == "这条命令写了一半。请这样写：试验 温州东瓯电器有限公司"
    assert await row_counts(team) == {**before, "handled_events": 1}


async def test_a_refused_command_keeps_the_earlier_writes_of_the_transaction(
    team: SeededTeam,
) -> None:
    """The savepoint rolls back only the refused command, not the caller's transaction."""
    async with team.sessions() as db, db.begin():
        await router.dispatch(team.event("王磊", "跟进 启明科技 刘总认可方案"), db, team.ctx)
        await router.dispatch(team.event("王磊", "承诺 启明科技 发正式报价 今天9:00"), db, team.ctx)
    assert await team.count(Followup) == 1
    assert await team.count(HandledEvent) == 2
