"""salesbot shell: chat with the bot in a terminal, through the same router and handlers."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from typing import TextIO

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.chat import Event, Outgoing, Platform, Push, RecipientKind, message_as_text
from handlers.context import Context
from handlers.router import dispatch
from storage.models import Team, User

log = structlog.get_logger()

APOLOGY = "抱歉，处理这条消息时出错了（{kind}）。已记录日志，请换个说法或稍后再试。"


async def run_shell(
    sessions: async_sessionmaker[AsyncSession],
    ctx: Context,
    *,
    user_name: str,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> int:
    async with sessions() as db:
        user = (await db.execute(select(User).where(User.name == user_name))).scalar()
        if user is None:
            names = (await db.execute(select(User.name).order_by(User.id))).scalars().all()
            known = (
                "、".join(names)
                if names
                else "（还没有用户：先运行 salesbot demo 或 salesbot import users）"
            )
            print(f"没有用户「{user_name}」。可用：{known}", file=sys.stderr)
            return 2
    interactive = stdin.isatty() and stdout.isatty()
    if interactive:
        print(
            f"salesbot 本地对话（以 {user_name} 的身份）。发「帮助」查看命令，Ctrl-D 退出。",
            file=stdout,
        )
    async for line in _lines(stdin, prompt=f"{user_name}> ", interactive=interactive):
        if not line.strip():
            continue
        if not interactive:
            print(f"{user_name}> {line}", file=stdout)
        for text in await say(sessions, ctx, user_name=user_name, text=line):
            print(text, file=stdout)
        stdout.flush()
    return 0


async def say(
    sessions: async_sessionmaker[AsyncSession], ctx: Context, *, user_name: str, text: str
) -> list[str]:
    """One chat line through the router; returns what the terminal shows (pushes marked)."""
    event = Event(
        platform=Platform.SHELL,
        message_id=uuid.uuid4().hex,
        sender=user_name,
        received_at=ctx.clock.now(),
        text=text,
    )
    try:
        async with sessions() as db, db.begin():
            outgoing = await dispatch(event, db, ctx)
            return [await _render(db, item) for item in outgoing]
    except Exception as err:
        log.debug("shell_message_failed", exc_info=True)
        return [f"bot> {APOLOGY.format(kind=type(err).__name__)}"]


async def _render(db: AsyncSession, item: Outgoing) -> str:
    if not isinstance(item, Push):
        return "bot> " + message_as_text(item).replace("\n", "\n     ")
    if item.kind == RecipientKind.USER:
        user = await db.get(User, item.recipient_id)
        who = user.name if user else f"用户#{item.recipient_id}"
    else:
        team = await db.get(Team, item.recipient_id)
        who = f"群「{team.name if team else item.recipient_id}」"
    body = message_as_text(item.message).replace("\n", "\n     ")
    return f"[推送 → {who}] {body}"


async def _lines(stdin: TextIO, *, prompt: str, interactive: bool) -> AsyncIterator[str]:
    if not interactive:
        for line in stdin:
            yield line.rstrip("\n")
        return
    from prompt_toolkit import PromptSession

    session: PromptSession[str] = PromptSession()
    while True:
        try:
            yield await session.prompt_async(prompt)
        except (EOFError, KeyboardInterrupt):
            return
