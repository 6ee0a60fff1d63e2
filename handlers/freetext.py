"""A private message without a command word: a follow-up note when it names one of the sender's
customers; a question with their recent customers as choices when it names none (the pending
note waits in the database); help for small talk and questions."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.chat import Button, Card, CardUpdate, Outgoing, Platform, Reply
from handlers.commands import Command
from handlers.context import Context
from handlers.errors import NotAllowed
from handlers.extraction import Extraction, Found
from handlers.followups import LOW_CONFIDENCE, extract_for, record_note
from handlers.lookup import Candidate, pick, visible_candidates
from handlers.permissions import Access, customers_where
from storage.models import Customer, Followup, PendingNote, User

PENDING_TTL = timedelta(minutes=30)
VOICE_MARK = "voice:"  # a pending note that came from a voice message: logged as voice
MAX_CHOICES = 5
NOTE_EXAMPLE = "启明那边刚打完电话，刘总说预算十二万五，下周二前要看到方案"
HELP_ANSWER = (
    "你好！直接把跟进情况发给我就行，不用命令词，例如：{example}。"
    "我会记成跟进，找出下一步和时间。发「帮助」查看全部命令"
)
_HAN = re.compile(r"[\u4e00-\u9fff]")
_SMALL_TALK = re.compile(
    r"^(?:你好|您好|嗨|哈喽|hello|hi|hey|在吗|在不在|早|早上好|下午好|晚上好|谢谢|多谢|好的|好|嗯|"
    r"ok|收到|辛苦了|拜拜|再见)[啊呀呢吧！!。.~～\s]*$",
    re.IGNORECASE,
)
_QUESTION = re.compile(
    r"^(?:请问|怎么|如何|什么|为什么|能不能|可不可以|可以|能否|你能|你会|你是|你叫|有什么|有哪些|帮我)"
    r"|(?:吗|么|呢|怎么用|怎么办|是什么)[？?]?$|[？?]$"
)
# Without one of these (or a contact, amount, promise, stage) a line is chat, not a note.
_WORK_WORDS = re.compile(
    r"电话|拜访|见面|见了|面谈|沟通|聊|谈|约|报价|方案|合同|样品|演示|试用|采购|预算|签|发给|"
    r"回复|反馈|需求|客户|对方|老板|经理|总监|招标|投标|付款|回款|发票|订单|下单|价格|折扣|产品|"
    r"项目|会议|开会|微信|邮件|资料|demo|call|meeting|quote|proposal|contract|visit",
    re.IGNORECASE,
)
QUESTION_MAX_CHARS = 20  # a longer line ending in ？ is a note telling the customer's question
MIN_NOTE_HAN = 6  # fewer characters than 给他打了电话 say nothing worth logging


async def handle(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    text = cmd.rest.strip()
    if not text:
        return [Reply(not_understood(text))]
    now = ctx.clock.now()
    pending = await db.get(PendingNote, cmd.user.id)
    if pending is not None and pending.expires_at <= now:
        await db.delete(pending)
        pending = None
        if _looks_like_choice(text):
            return [Reply("那条待选客户的跟进已过期，没有记录。请把跟进内容重新发一遍")]
    candidates = await visible_candidates(db, cmd.user)
    if pending is not None:
        chosen = _answer_to(text, pending, candidates)
        if chosen is not None:
            return await _complete(cmd, db, ctx, pending, chosen)
        if _looks_like_choice(text):
            return [Reply(f"请回复 1–{len(pending.choices)} 之间的数字，或客户名称")]
    if _is_small_talk(text):
        return [Reply(HELP_ANSWER.format(example=NOTE_EXAMPLE))]
    extraction = await extract_for(ctx, text, candidates)
    found = extraction.customer
    if found is not None and found.confidence >= LOW_CONFIDENCE:
        if pending is not None:
            await db.delete(pending)
        customer = await db.get_one(Customer, found.value.id)
        return await _log(cmd, db, ctx, text, extraction, customer, cmd.event.message_id)
    if not _reads_like_a_note(text, extraction):
        return [Reply(not_understood(text))]
    others = await _named_elsewhere(db, text, candidates)
    if others:
        raise NotAllowed(f"客户「{others}」不是你负责的客户，这条跟进没有记录。如需协助请联系主管")
    return await ask_for_customer(
        db,
        ctx,
        cmd.user,
        text=text,
        message_id=cmd.event.message_id,
        extraction=extraction,
        candidates=candidates,
        as_text=cmd.event.platform == Platform.SHELL,
    )


async def _named_elsewhere(db: AsyncSession, text: str, mine: list[Candidate]) -> str | None:
    """A customer of someone else's written in the note (name or alias of 3+ characters)."""
    own = {c.id for c in mine}
    rows = await db.execute(select(Customer.id, Customer.name, Customer.aliases))
    for customer_id, name, aliases in rows.all():
        if customer_id in own:
            continue
        for said in (name, *(aliases or ())):
            if len(said) >= 3 and said in text:
                return str(said)
    return None


def _is_small_talk(text: str) -> bool:
    if _SMALL_TALK.match(text):
        return True
    return len(text) <= QUESTION_MAX_CHARS and bool(_QUESTION.search(text))


def _reads_like_a_note(text: str, ex: Extraction) -> bool:
    if len(_HAN.findall(text)) < MIN_NOTE_HAN and not text.isascii():
        return False
    signals = (ex.contact, ex.amount_yuan, ex.commitment, ex.stage)
    return any(signals) or bool(_WORK_WORDS.search(text))


def not_understood(text: str, *, private: bool = True) -> str:
    """In a group chat notes are not logged without 跟进: the answer must not promise it."""
    shown = text.strip()[:30] or "（空消息）"
    habit = (
        "（私聊我时不写「跟进」直接发也行）"
        if private
        else "（在群里请写「跟进」，或私聊我直接发）"
    )
    return (
        f"没看懂「{shown}」。记录跟进请这样写：跟进 启明科技 电话确认了试用安排，下周三前给反馈"
        f"{habit}。发「帮助」查看全部命令"
    )


def _looks_like_choice(text: str) -> bool:
    return text.isdigit() and len(text) <= 2


def _answer_to(text: str, pending: PendingNote, candidates: list[Candidate]) -> int | None:
    """The customer id the answer picks: its number in the list, or a name of one of them."""
    if _looks_like_choice(text):
        index = int(text) - 1
        return pending.choices[index] if 0 <= index < len(pending.choices) else None
    if len(text) > 30 or len(_HAN.findall(text)) > 20:
        return None  # a new note, not an answer
    chosen, _ = pick(text, candidates, fuzzy=False)
    return chosen.id if chosen is not None and text.strip() else None


async def _complete(
    cmd: Command, db: AsyncSession, ctx: Context, pending: PendingNote, customer_id: int
) -> list[Outgoing]:
    visible = await db.execute(
        select(Customer).where(Customer.id == customer_id, customers_where(cmd.user, Access.ACT))
    )
    customer = visible.scalar_one_or_none()
    if customer is None:
        return [Reply("这个客户已不在你名下，跟进未记录。请重新发送并写上客户名称")]
    candidates = await visible_candidates(db, cmd.user)
    extraction = await extract_for(ctx, pending.text, candidates)
    ref = next(c.ref() for c in candidates if c.id == customer.id)
    extraction = dataclasses.replace(extraction, customer=Found(ref, None))
    text, message_id = pending.text, pending.message_id
    await db.delete(pending)
    out = await _log(cmd, db, ctx, text, extraction, customer, message_id)
    action = cmd.event.action
    if action is not None:  # a button of the question card: it shows the choice in place
        label = f"已记入 {customer.name[:20]} ✓"
        return [CardUpdate(action.card_id, label, action.response_code), *out]
    return out


async def _log(
    cmd: Command,
    db: AsyncSession,
    ctx: Context,
    text: str,
    extraction: Extraction,
    customer: Customer,
    message_id: str,
) -> list[Outgoing]:
    voice = message_id.startswith(VOICE_MARK)
    lines, _ = await record_note(
        db,
        ctx,
        user=cmd.user,
        text=text,
        extraction=extraction,
        customer=customer,
        source="voice" if voice else "text",
        message_id=message_id.removeprefix(VOICE_MARK),
        transcript=text if voice else None,
    )
    return [Reply("\n".join(lines))]


async def ask_for_customer(
    db: AsyncSession,
    ctx: Context,
    user: User,
    *,
    text: str,
    message_id: str,
    extraction: Extraction,
    candidates: list[Candidate],
    as_text: bool,
    voice: bool = False,
) -> list[Outgoing]:
    """Keep the note as the user's pending one and ask which customer it is about (numbers in
    the shell, buttons elsewhere); the answer, on any instance, completes it."""
    if not candidates:
        return [
            Reply(
                "你名下还没有客户，这条跟进没法记录。先创建客户：新客户 杭州启明科技有限公司 A，"
                "再把跟进发给我"
            )
        ]
    choices = await _choices(db, user, extraction, candidates)
    now = ctx.clock.now()
    pending = await db.get(PendingNote, user.id)
    if pending is None:
        pending = PendingNote(user_id=user.id)
        db.add(pending)
    pending.text = text
    pending.message_id = f"{VOICE_MARK}{message_id}" if voice else message_id
    pending.choices = choices
    pending.created_at = now
    pending.expires_at = now + PENDING_TTL
    names = {c.id: c.name for c in candidates}
    minutes = int(PENDING_TTL.total_seconds() // 60)
    title = "这条跟进是哪个客户的？"
    heard = [f"我听到的是：「{_preview(text)}」"] if voice else []
    if as_text:
        lines = [*heard, title, *(f"{i}. {names[c]}" for i, c in enumerate(choices, 1))]
        lines.append(f"回复数字（或客户名称）即可记录；{minutes} 分钟内有效")
        return [Reply("\n".join(lines))]
    return [
        Card(
            card_id=f"pick-{user.id}-{message_id}"[:64],
            title=title,
            lines=(
                *(heard or [f"「{_preview(text)}」"]),
                f"点选客户，或回复客户名称；{minutes} 分钟内有效",
            ),
            buttons=tuple(
                Button(str(i), names[c][:20], 1 if i == 1 else 2) for i, c in enumerate(choices, 1)
            ),
        )
    ]


async def _choices(
    db: AsyncSession, user: User, extraction: Extraction, candidates: list[Candidate]
) -> list[int]:
    """What the extractor half-matched first, then the customers the sender wrote about last."""
    visible = {c.id for c in candidates}
    ordered = [c.id for c in extraction.customer_candidates if c.id in visible]
    if extraction.customer is not None and extraction.customer.value.id in visible:
        ordered.insert(0, extraction.customer.value.id)
    recent = await db.execute(
        select(Followup.customer_id)
        .where(Followup.author_id == user.id)
        .order_by(Followup.created_at.desc(), Followup.id.desc())
        .limit(50)
    )
    ordered += [i for i in recent.scalars() if i in visible]
    latest = await db.execute(
        select(Customer.id)
        .where(customers_where(user, Access.ACT))
        .order_by(Customer.last_evidence_at.desc().nulls_last(), Customer.id.desc())
        .limit(MAX_CHOICES * 2)
    )
    ordered += list(latest.scalars())
    return list(dict.fromkeys(ordered))[:MAX_CHOICES]


def _preview(text: str) -> str:
    return text if len(text) <= 40 else text[:39] + "…"
