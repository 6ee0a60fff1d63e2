"""看板 (a one-time link to the web board) and 大屏 (a director's meeting-room screen tokens)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.chat import Outgoing, Reply
from handlers.commands import Command, split_args
from handlers.context import Context
from handlers.errors import UserError
from storage import audit, board_auth

SCREEN_EXAMPLE = "大屏 新建 会议室A"


async def board_link(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """看板: a personal link, single use, valid 10 minutes."""
    now = ctx.clock.now()
    raw = await board_auth.issue_login_token(db, cmd.user.id, now=now)
    minutes = int(board_auth.LOGIN_LINK_TTL.total_seconds() // 60)
    return [
        Reply(
            f"销售作战室：{ctx.public_url}/board/login?t={raw}\n"
            f"链接仅限你本人使用一次，{minutes} 分钟内有效；登录后 8 小时内免登录。"
        )
    ]


async def screens(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """大屏 新建 <名称> | 大屏 列表 | 大屏 撤销 <编号>"""
    args = split_args(cmd.rest, maxsplit=1)
    verb = args[0] if args else "列表"
    now = ctx.clock.now()
    if verb in ("新建", "new"):
        name = args[1].strip() if len(args) > 1 else "会议室大屏"
        if len(name) > 100:
            raise UserError("大屏名称太长（最多 100 字）", example=SCREEN_EXAMPLE)
        screen_id, raw = await board_auth.create_screen(
            db, name=name, created_by=cmd.user.id, now=now
        )
        audit.record(
            db,
            at=now,
            actor_id=cmd.user.id,
            action="board_screen_created",
            entity="board_screen",
            entity_id=screen_id,
            after={"name": name},
        )
        return [
            Reply(
                f"已新建大屏「{name}」（编号 {screen_id}）。在会议室电脑的浏览器里打开：\n"
                f"{ctx.public_url}/board/screen?s={raw}\n"
                f"只读，每分钟自动刷新，长期有效；不用时发「大屏 撤销 {screen_id}」。"
            )
        ]
    if verb in ("撤销", "revoke"):
        if len(args) < 2 or not args[1].strip().isdigit():
            raise UserError("请写上大屏编号", example="大屏 撤销 3")
        screen_id = int(args[1].strip())
        if not await board_auth.revoke_screen(db, screen_id, now=now):
            raise UserError(f"没有在用的大屏 {screen_id}", example="大屏 列表")
        audit.record(
            db,
            at=now,
            actor_id=cmd.user.id,
            action="board_screen_revoked",
            entity="board_screen",
            entity_id=screen_id,
        )
        return [Reply(f"大屏 {screen_id} 已撤销，它的页面下一次刷新时会要求重新登录。")]
    if verb in ("列表", "list"):
        rows = await board_auth.list_screens(db)
        if not rows:
            return [Reply(f"还没有在用的大屏。新建：{SCREEN_EXAMPLE}")]
        lines = [f"{s.id}　{s.name}　{s.created_at.astimezone(ctx.tz):%Y-%m-%d}" for s in rows]
        return [Reply("在用的大屏：\n" + "\n".join(lines))]
    raise UserError(f"不认识「{verb}」", example=SCREEN_EXAMPLE)
