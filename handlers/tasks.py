"""Task cards (placeholder until the SOP work lands): list, accept, complete, snooze, why."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.chat import Outgoing, Reply
from handlers.commands import Command
from handlers.context import Context


async def list_tasks(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """任务"""
    return [Reply("你当前没有待办任务卡。")]


async def accept_task(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """接受 <编号>"""
    return [Reply("任务卡功能即将上线。")]


async def complete_task(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """完成 <编号> <说明>"""
    return [Reply("任务卡功能即将上线。")]


async def snooze(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """稍后提醒 <编号> <时长>"""
    return [Reply("稍后提醒功能即将上线。")]


async def explain(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """为什么 <编号>"""
    return [Reply("预警说明功能即将上线。")]


async def attach_image(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """An image: evidence for the task the sender is completing, if any."""
    return [Reply("收到图片。目前图片只用作任务完成的凭证：先发「完成 <编号> <说明>」。")]
