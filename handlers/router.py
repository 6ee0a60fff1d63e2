"""The router: command word → handler, role gate, user errors → answers, once per message id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import (
    attachments,
    commitments,
    corrections,
    customer_card,
    customers,
    deals,
    followups,
    freetext,
    handling,
    offboarding_chat,
    reassign,
    tasks,
    team,
    undo,
    voice,
)
from handlers.alerting import snooze
from handlers.board import chat as board_chat
from handlers.chat import Event, EventKind, Outgoing, Platform, Push, Reply, message_as_text
from handlers.commands import Command, match_word
from handlers.context import Context
from handlers.errors import AuditedRefusal, NotAllowed, NotRegistered, UserError
from handlers.help import help_text
from handlers.leads import chat as lead_chat
from handlers.limits import check_note_length, cleaned
from handlers.money import aging
from handlers.money import steps as money_steps
from handlers.watch import timeline
from storage import audit
from storage.models import ROLE_RANK, HandledEvent, Role, User
from storage.replay import conversation_sender_matches

log = structlog.get_logger()

Handler = Callable[[Command, AsyncSession, Context], Awaitable[list[Outgoing]]]


@dataclass(frozen=True, slots=True)
class Route:
    handler: Handler
    usage: str  # one line for 帮助
    needs: Role = Role.REP


async def show_help(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """帮助 / help"""
    allowed = {
        w: r for w, r in ROUTES.items() if ROLE_RANK[Role(cmd.user.role)] >= ROLE_RANK[r.needs]
    }
    return [Reply(help_text(allowed, ALIASES))]


ROUTES: dict[str, Route] = {
    "跟进": Route(
        followups.log_followup,
        "跟进 <客户> <内容>　记录跟进，如：跟进 启明科技 电话沟通，下周三前给报价",
    ),
    "改": Route(
        corrections.correct_last, "改 <字段> <值>　更正上一条跟进，如：改 时间 周五 / 改 客户 宏达"
    ),
    "确认": Route(voice.confirm_followup, "确认 <编号>　确认语音整理出的跟进记录"),
    "承诺": Route(
        commitments.register_commitment,
        "承诺 <客户> <事项和时间> [依据 <…>]　登记对客户的承诺，如：承诺 启明 下周三前发报价",
    ),
    "兑现": Route(commitments.keep_commitment, "兑现 <编号>　关闭承诺，如：兑现 C-20260305-001"),
    "我的承诺": Route(commitments.list_commitments, "我的承诺　查看未兑现的承诺"),
    "阶段": Route(
        customers.change_stage,
        "阶段 <客户> <阶段> [原因 <…>]　推进阶段，如：阶段 启明科技 方案（主管往回改需写原因）",
    ),
    "新客户": Route(
        customers.create_lead, "新客户 <名称> [等级]　创建线索，如：新客户 杭州启明科技有限公司 A"
    ),
    "新线索": Route(
        lead_chat.new_lead,
        "新线索 <名称> <来源> [地区 …] [联系人 …] [电话 …]　登记自己找到的线索",
    ),
    "已联系": Route(lead_chat.mark_contacted, "已联系 <线索>　记录线索首次联系，如：已联系 L12"),
    "分配": Route(
        lead_chat.assign_lead,
        "分配 <线索> <姓名>　把线索分配给销售，如：分配 L12 王磊",
        needs=Role.MANAGER,
    ),
    "签约": Route(
        deals.record_signed,
        "签约 <客户> [金额 <金额>] 到期 <日期> [分期 30%/签约 40%/验收 30%] [账期 <天>]"
        "　记录签约和回款计划",
    ),
    "开票": Route(
        money_steps.record_invoice,
        "开票 <客户> 快递 <单号>　记录发票寄出，如：开票 启明 快递 SF123",
    ),
    "签收": Route(money_steps.record_receipt, "签收 <客户>　记录客户签收发票（再发签收单照片）"),
    "应收": Route(aging.list_receivables, "应收　我的（主管：团队的）应收款和账龄"),
    "交付": Route(deals.record_delivered, "交付 <客户>　记录交付完成"),
    "回款": Route(
        deals.record_payment,
        "回款 <客户> <金额> [确认]　记录回款，如：回款 启明科技 12.5万",
    ),
    "任务": Route(tasks.list_tasks, "任务　查看我的任务卡"),
    "接受": Route(tasks.accept_task, "接受 <编号>　接受任务卡"),
    "完成": Route(tasks.complete_task, "完成 <编号> <说明>　完成任务卡并附凭证"),
    "稍后提醒": Route(
        snooze.snooze_alert,
        "稍后提醒 <编号> <时长或时间>　推迟一条预警，如：稍后提醒 A12 2小时 / 明早九点 / 到下周",
    ),
    "为什么": Route(timeline.explain, "为什么 <编号>　查看预警原因和客户时间线"),
    "处理": Route(handling.handle_alert, "处理 <编号>　这条预警怎么解除"),
    "我的": Route(customers.list_mine, "我的　我的客户及红黄绿状态、健康分"),
    "客户": Route(
        customer_card.show_customer,
        "客户 <名称>　客户卡：负责人、阶段、健康分、最近跟进、承诺、任务、预警，如：客户 启明科技",
    ),
    "团队": Route(
        team.show_team,
        "团队 [团队名|全部]　团队漏斗：各销售各阶段的客户和金额、红黄灯、逾期承诺",
        needs=Role.MANAGER,
    ),
    "团队承诺": Route(
        team.team_commitments,
        "团队承诺 [团队名]　团队未兑现的承诺，逾期的在前",
        needs=Role.MANAGER,
    ),
    "简报": Route(team.digest_now, "简报 [团队名|全部]　现在就看今天的简报", needs=Role.MANAGER),
    "改派": Route(
        reassign.reassign,
        "改派 <客户> <销售>　把客户（连同未兑现承诺）交给团队里的另一位销售",
        needs=Role.MANAGER,
    ),
    "停用": Route(
        offboarding_chat.offboard_from_chat,
        "停用 <姓名> 转给 <姓名>　离职交接：客户、承诺、任务转给同事",
        needs=Role.MANAGER,
    ),
    "撤销": Route(
        undo.undo_last, "撤销　撤销我 24 小时内的上一次改动（跟进、阶段、签约、交付、回款、承诺）"
    ),
    "看板": Route(board_chat.board_link, "看板　打开销售作战室（网页，一次性登录链接）"),
    "大屏": Route(
        board_chat.screens,
        "大屏 新建 <名称> / 大屏 列表 / 大屏 撤销 <编号>　会议室大屏（只读，自动刷新）",
        needs=Role.DIRECTOR,
    ),
    "帮助": Route(show_help, "帮助　显示本说明", needs=Role.REP),
}
ALIASES: dict[str, str] = {
    "followup": "跟进",
    "fix": "改",
    "confirm": "确认",
    "commit": "承诺",
    "keep": "兑现",
    "commitments": "我的承诺",
    "stage": "阶段",
    "lead": "新客户",
    "newlead": "新线索",
    "contacted": "已联系",
    "assign": "分配",
    "signed": "签约",
    "delivered": "交付",
    "paid": "回款",
    "invoice": "开票",
    "receipt": "签收",
    "receivables": "应收",
    "tasks": "任务",
    "accept": "接受",
    "done": "完成",
    "snooze": "稍后提醒",
    "why": "为什么",
    "handle": "处理",
    "mine": "我的",
    "customer": "客户",
    "offboard": "停用",
    "team": "团队",
    "teamcommitments": "团队承诺",
    "digest": "简报",
    "reassign": "改派",
    "undo": "撤销",
    "board": "看板",
    "screen": "大屏",
    "help": "帮助",
    "?": "帮助",
    "？": "帮助",
}
UNSUPPORTED = "暂不支持该消息类型，请发文字或语音。发「帮助」查看可用命令。"


async def image_evidence(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """An image: a 签收 waiting for its receipt photo first, else a task card's evidence."""
    receipt = await money_steps.attach_receipt(db, cmd, ctx)
    return receipt if receipt is not None else await tasks.attach_image(cmd, db, ctx)


ATTACHMENT_ROUTES: dict[EventKind, Handler] = {
    EventKind.IMAGE: image_evidence,
    EventKind.FILE: tasks.attach_file,
    EventKind.LOCATION: attachments.check_in,
    EventKind.LINK: attachments.keep_link,
}


async def dispatch(event: Event, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """Handle one event in the caller's transaction; the same message id twice → nothing."""
    structlog.contextvars.bind_contextvars(platform=event.platform, message_id=event.message_id)
    event = cleaned(event)
    if await db.get(HandledEvent, (str(event.platform), event.message_id)) is not None:
        log.info("event_already_handled")
        return []
    if not await _sender_owns_conversation(db, event, ctx):
        # DingTalk HTTP mode signs no body: someone else's id in a private chat is a forgery.
        log.warning("sender_not_conversation_owner", sender=event.sender)
        db.add(_handled(event, None, [], ctx))
        return []
    user = await find_sender(db, event)
    try:
        replies = await _route(event, user, db, ctx)
    except UserError as err:
        log.info("user_error", problem=err.problem)
        if isinstance(err, NotAllowed) and user is not None:
            audit.record(
                db,
                at=ctx.clock.now(),
                actor_id=user.id,
                action="denied",
                entity="message",
                entity_id=None,
                note=f"{event.text[:200]} → {err.problem}",
            )
        if isinstance(err, AuditedRefusal) and user is not None:
            audit.record(
                db,
                at=ctx.clock.now(),
                actor_id=user.id,
                action=err.action,
                entity=err.entity,
                entity_id=err.entity_id,
                note=err.note,
            )
        replies = [err.to_reply()]
    db.add(_handled(event, user, replies, ctx))
    return replies


def _handled(
    event: Event, user: User | None, replies: list[Outgoing], ctx: Context
) -> HandledEvent:
    return HandledEvent(
        platform=str(event.platform),
        message_id=event.message_id,
        user_id=user.id if user else None,
        handled_at=ctx.clock.now(),
        replies=[message_as_text(r) for r in replies if not isinstance(r, Push)],
    )


async def _sender_owns_conversation(db: AsyncSession, event: Event, ctx: Context) -> bool:
    """A private conversation has one sender: the first seen in it (DingTalk's 1:1 cid)."""
    if event.is_group or not event.conversation_id:
        return True
    return await conversation_sender_matches(
        db,
        platform=str(event.platform),
        conversation_id=event.conversation_id,
        sender=event.sender,
        now=ctx.clock.now(),
    )


async def _route(event: Event, user: User | None, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    if user is None:
        raise NotRegistered()
    structlog.contextvars.bind_contextvars(user_id=user.id)
    if not user.active:
        raise UserError("你的账号已停用，客户和任务已移交。如有疑问请联系主管")
    if event.kind == EventKind.ENTER:
        return []
    if event.kind in ATTACHMENT_ROUTES:
        return await _run(ATTACHMENT_ROUTES[event.kind], Command(event, user, "", ""), db, ctx)
    if event.kind not in (EventKind.TEXT, EventKind.CARD_ACTION):
        return [Reply(UNSUPPORTED)]
    check_note_length(event.text, ctx.max_note_chars)
    if event.media_id and event.kind == EventKind.TEXT:  # words with a picture (richText, mixed)
        await attachments.keep(db, event, user, kind="image")
    matched = match_word(event.text, ROUTES.keys(), ALIASES)
    if matched is None:
        if event.is_group:
            return [Reply(freetext.not_understood(event.text, private=False))]
        # Any private note is a follow-up: no command word needed.
        return await _run(freetext.handle, Command(event, user, "", event.text.strip()), db, ctx)
    word, rest = matched
    route = ROUTES[word]
    if ROLE_RANK[Role(user.role)] < ROLE_RANK[route.needs]:
        raise NotAllowed(f"「{word}」只有{_role_label(route.needs)}可以使用")
    return await _run(route.handler, Command(event, user, word, rest), db, ctx)


async def _run(handler: Handler, cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    # A refused command leaves no rows behind: its writes live in a savepoint.
    savepoint = await db.begin_nested()
    try:
        replies = await handler(cmd, db, ctx)
    except BaseException:
        if savepoint.is_active:
            await savepoint.rollback()
        raise
    await savepoint.commit()
    return replies


async def find_sender(db: AsyncSession, event: Event) -> User | None:
    column = {
        Platform.WECOM: User.wecom_userid,
        Platform.WECOM_BOT: User.wecom_userid,
        Platform.DINGTALK: User.dingtalk_userid,
        Platform.SHELL: User.name,
    }[event.platform]
    return (await db.execute(select(User).where(column == event.sender))).scalar_one_or_none()


def _role_label(role: Role) -> str:
    return {Role.REP: "销售", Role.MANAGER: "主管", Role.DIRECTOR: "总监", Role.ADMIN: "管理员"}[
        role
    ]
