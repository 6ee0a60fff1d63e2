"""处理 <编号>: the card's 处理 button — what makes this warning go away, in one answer."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.alerting.messages import SNOOZE_DEFAULT
from handlers.alerting.snooze import load_alert
from handlers.chat import Outgoing, Reply
from handlers.commands import Command
from handlers.context import Context
from handlers.errors import UserError
from handlers.permissions import Access
from storage.models import AlertStatus

EXAMPLE = "处理 A12"


async def handle_alert(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    code = cmd.rest.strip()
    if not code:
        raise UserError("请写上预警编号", example=EXAMPLE)
    alert = await load_alert(cmd, db, code, example=EXAMPLE, access=Access.READ)
    ref = f"A{alert.id}"
    if alert.status == AlertStatus.RESOLVED:
        return [Reply(f"{ref} 已经解除了，不用再处理。")]
    lines = alert.message.split("\n")
    todo = [line for line in lines if "回复「" in line]
    answer = [f"{ref}：{lines[0]}"] if lines else [ref]
    answer += todo or ["原因消除后这条提醒会自动解除。"]
    if alert.user_id == cmd.user.id:
        answer.append(f"现在不方便：回复「稍后提醒 {ref} {SNOOZE_DEFAULT}」。")
    answer.append(f"想看来龙去脉：回复「为什么 {ref}」。")
    return [Reply("\n".join(answer))]
