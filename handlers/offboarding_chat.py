"""停用 <姓名> 转给 <姓名>: a manager hands a leaving rep's work to a colleague from chat."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.chat import Outgoing, Push, RecipientKind, Reply
from handlers.commands import Command
from handlers.context import Context
from handlers.errors import NotAllowed, UserError
from handlers.offboarding import NAMES_SHOWN, OffboardReport, deactivate_user
from storage.models import Role, User

EXAMPLE = "停用 王磊 转给 李娜"
_SYNTAX = re.compile(r"^(?P<name>\S+)\s*(?:转给|交给|移交给|转交给|->|→|to)\s*(?P<to>\S+)$")


async def offboard_from_chat(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """停用 <姓名> 转给 <姓名>: deactivate a rep, hand over their work, tell everyone concerned."""
    name, to = _parse(cmd.rest)
    actor = cmd.user
    if name == actor.name:
        raise UserError("不能停用你自己的账号，请联系你的上级或管理员", example=EXAMPLE)
    people = {u.name: u for u in await db.scalars(select(User).where(User.name.in_([name, to])))}
    leaving, taker = people.get(name), people.get(to)
    if leaving is not None and taker is not None:
        _ensure_may_offboard(actor, leaving, taker)
    # Unknown names, an inactive taker, name == to: deactivate_user explains those.
    report = await deactivate_user(db, name, to, now=ctx.clock.now(), actor_id=actor.id)
    pushes = [
        Push(RecipientKind.USER, notice.user_id, Reply(notice.text))
        for notice in report.notices
        if notice.user_id != actor.id  # the actor reads the summary instead
    ]
    ids = [push.recipient_id for push in pushes]
    rows = await db.execute(select(User.id, User.name).where(User.id.in_(ids)))
    names: dict[int, str] = {row.id: row.name for row in rows.all()}
    return [Reply(_summary(report, [names[i] for i in ids if i in names])), *pushes]


def _parse(rest: str) -> tuple[str, str]:
    found = _SYNTAX.match(rest.strip())
    if found is None:
        raise UserError("请写清楚停用谁、转给谁", example=EXAMPLE)
    return found["name"], found["to"]


def _ensure_may_offboard(actor: User, leaving: User, taker: User) -> None:
    """Directors and admins may hand over anyone's work; a manager only a rep of their own team."""
    if Role(actor.role) in (Role.DIRECTOR, Role.ADMIN):
        if leaving.rank >= actor.rank:
            raise NotAllowed(f"「{leaving.name}」的级别不低于你，请由更高一级或管理员停用")
        return
    if Role(leaving.role) != Role.REP:
        raise NotAllowed(f"主管只能停用销售；「{leaving.name}」请由总监或管理员停用")
    if not _in_team_of(actor, leaving):
        raise NotAllowed(f"「{leaving.name}」不在你的团队，请由其主管或总监停用")
    if taker.id != actor.id and not _in_team_of(actor, taker):
        raise NotAllowed(f"「{taker.name}」不在你的团队，只能转给你团队的同事或你自己")


def _in_team_of(manager: User, user: User) -> bool:
    same_team = manager.team_id is not None and user.team_id == manager.team_id
    return same_team or user.manager_id == manager.id


def _summary(report: OffboardReport, told: list[str]) -> str:
    state = "已停用" if report.was_active else "之前已停用"
    lines = [
        f"{report.user} {state}，工作已转给 {report.to}：客户 {len(report.customers)} 个、"
        f"未兑现承诺 {len(report.commitments)} 个、未完成任务 {report.tasks} 个"
    ]
    if report.customers:
        shown = "、".join(report.customers[:NAMES_SHOWN])
        more = f" 等 {len(report.customers)} 个" if len(report.customers) > NAMES_SHOWN else ""
        lines.append(f"客户：{shown}{more}")
    if report.commitments:
        lines.append(f"承诺：{'、'.join(report.commitments)}")
    if report.direct_reports:
        lines.append(
            f"注意：{'、'.join(report.direct_reports)} 的上级仍是 {report.user}，请管理员调整"
        )
    if told:
        lines.append(f"已通知：{'、'.join(told)}")
    return "\n".join(lines)
