"""The manager's chat: 团队 (pipeline by rep and stage), 团队承诺 (the team's open promises),
简报 (today's digest on demand). Managers read every team; directors see all."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.chat import Image, Outgoing, Reply
from handlers.commands import Command
from handlers.context import Context
from handlers.errors import UserError
from handlers.permissions import sees_every_team
from handlers.pipeline import (
    Pipeline,
    StageFigure,
    build_pipeline,
    day_label,
    money,
    team_reps,
    week_line,
)
from handlers.stall_clock import LIGHT_ICON
from handlers.timefmt import format_local
from storage.models import Commitment, CommitmentStatus, Customer, Team, User

TEAM_EXAMPLE = "团队 华东一组"
ALL_WORDS = ("全部", "所有", "all")
LISTED = 20


async def resolve_teams(cmd: Command, db: AsyncSession, *, example: str) -> list[Team]:
    """The named team, else the sender's own; a director without one gets every team."""
    wanted = cmd.rest.strip()
    teams = (await db.execute(select(Team).order_by(Team.id))).scalars().all()
    names = "、".join(t.name for t in teams) or "（无）"
    if not teams:
        raise UserError("还没有任何团队", example="salesbot import teams teams.csv")
    if wanted.lower() in ALL_WORDS:
        return list(teams)
    if not wanted:
        if cmd.user.team_id is not None:
            return [t for t in teams if t.id == cmd.user.team_id]
        if sees_every_team(cmd.user):
            return list(teams)
        raise UserError(f"你不属于任何团队，请写上团队名（{names}）", example=example)
    exact = [t for t in teams if t.name == wanted]
    found = exact or [t for t in teams if wanted in t.name]
    if len(found) == 1:
        return found
    if found:
        raise UserError(
            f"「{wanted}」对应多个团队：{'、'.join(t.name for t in found)}", example=example
        )
    raise UserError(f"没有团队「{wanted}」，现有团队：{names}", example=example)


async def show_team(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """团队 [团队名|全部]"""
    now = ctx.clock.now()
    out: list[Outgoing] = []
    for team in await resolve_teams(cmd, db, example=TEAM_EXAMPLE):
        reps = await team_reps(db, team)
        pipeline = await build_pipeline(db, ctx.rules, reps, now=now, tz=ctx.tz)
        out.append(Reply("\n".join(pipeline_lines(team.name, pipeline, now, ctx))))
    return out


def pipeline_lines(team_name: str, p: Pipeline, now: datetime, ctx: Context) -> list[str]:
    total = sum(f.customers for f in p.stages.values())
    lines = [
        f"👥 {team_name}（{day_label(now.astimezone(ctx.tz).date())}）：{len(p.reps)} 名销售，"
        f"{total} 个客户，🔴{p.red} 🟡{p.yellow}，逾期承诺 {p.overdue} 条"
    ]
    if not p.reps:
        return [*lines, "这个团队还没有销售"]
    lines.append("各阶段：" + "｜".join(_cells(p.stages, p.stage_names)))
    lines.append(week_line(p))
    lines.append("按销售：")
    for rep in p.reps:
        cells = "｜".join(_cells(rep.stages, p.stage_names, skip_empty=True)) or "暂无客户"
        lines.append(
            f"· {rep.member.name}：{cells}；🔴{rep.red} 🟡{rep.yellow}，逾期承诺 {rep.overdue}"
        )
    if p.worst:
        lines.append("最需要关注：")
        for i, w in enumerate(p.worst, 1):
            unit = "个工作日" if w.state.business_days else "天"
            lines.append(
                f"{i}. {LIGHT_ICON[w.state.light]} {w.name}（{w.owner}）在「{w.stage}」"
                f"已经 {w.state.elapsed_days} {unit}没有新进展"
            )
    else:
        lines.append("没有停滞的客户 👍")
    return lines


def _cells(
    stages: dict[str, StageFigure], names: Sequence[str], *, skip_empty: bool = False
) -> list[str]:
    out = []
    for name in names:
        f = stages.get(name)
        if f is None or (skip_empty and f.customers == 0):
            continue
        amount = f"，{money(f.amount)}" if f.amount else ""
        out.append(f"{name} {f.customers}{amount}")
    return out


async def team_commitments(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """团队承诺 [团队名]: open commitments, overdue first, owner and days left."""
    now = ctx.clock.now()
    out: list[Outgoing] = []
    for team in await resolve_teams(cmd, db, example="团队承诺 华东一组"):
        stmt = (
            select(Commitment, Customer.name, User.name)
            .join(Customer, Customer.id == Commitment.customer_id)
            .join(User, User.id == Commitment.owner_id)
            .where(User.team_id == team.id, Commitment.status == CommitmentStatus.OPEN)
            .order_by(Commitment.due_at, Commitment.id)
        )
        rows = (await db.execute(stmt)).all()
        if not rows:
            out.append(Reply(f"{team.name}没有未兑现的承诺"))
            continue
        overdue = sum(1 for c, _, _ in rows if c.due_at < now)
        lines = [f"📌 {team.name} 未兑现的承诺 {len(rows)} 条，其中逾期 {overdue} 条："]
        for c, customer, owner in rows[:LISTED]:
            lines.append(
                f"{_days_left(c.due_at, now, ctx.tz)} {c.code} {customer}：{c.what}"
                f"（{owner}，截止 {format_local(c.due_at, ctx.tz)}）"
            )
        if len(rows) > LISTED:
            lines.append(f"……另有 {len(rows) - LISTED} 条")
        out.append(Reply("\n".join(lines)))
    return out


def _days_left(due_at: datetime, now: datetime, tz: ZoneInfo) -> str:
    """In calendar days as people count them: due Wednesday, today Sunday → 剩 3 天."""
    days = (due_at.astimezone(tz).date() - now.astimezone(tz).date()).days
    if due_at < now:
        return f"🔴逾期 {-days} 天" if days < 0 else "🔴今天已逾期"
    return f"剩 {days} 天" if days > 0 else "⏰今天到期"


async def digest_now(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """简报 [团队名|全部]: today's digest for the sender's team (directors: all, or one)."""
    from handlers.digest import build_team_digest, digest_members  # the digest draws a chart

    now = ctx.clock.now()
    out: list[Outgoing] = []
    for team in await resolve_teams(cmd, db, example="简报 华东一组"):
        members = await digest_members(db, team)
        if not members:
            out.append(Reply(f"{team.name}还没有成员"))
            continue
        digest = await build_team_digest(db, ctx, team, members, now=now)
        out += [Reply(digest.text), Image(digest.chart, f"{team.name} 简报")]
    return out
