"""改派 <客户> <销售>: a supervisor hands one customer (and its open promises) to another rep of
the team (directors: anyone); audited, both reps told."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.chat import Outgoing, Push, RecipientKind, Reply
from handlers.commands import Command, split_args
from handlers.context import Context
from handlers.errors import NotAllowed, UserError
from handlers.lookup import find_customer
from handlers.permissions import Access, sees_every_team, team_members_of
from storage import audit
from storage.models import Commitment, CommitmentStatus, User

REASSIGN_EXAMPLE = "改派 启明科技 李娜"


async def reassign(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """改派 <客户> <销售>: a supervisor hands a customer (and its open promises) to another rep."""
    args = split_args(cmd.rest)
    if len(args) < 2:
        raise UserError("请写上客户和新的负责人", example=REASSIGN_EXAMPLE)
    customer = await find_customer(
        db, " ".join(args[:-1]), user=cmd.user, example=REASSIGN_EXAMPLE, access=Access.SUPERVISE
    )
    to = (
        await db.execute(select(User).where(User.name == args[-1], User.active.is_(True)))
    ).scalar_one_or_none()
    if to is None:
        raise UserError(f"没有在职的同事「{args[-1]}」", example=REASSIGN_EXAMPLE)
    scope = await db.execute(
        select(User.id).where(User.id == to.id, User.id.in_(team_members_of(cmd.user)))
    )
    if not sees_every_team(cmd.user) and to.id != cmd.user.id and scope.first() is None:
        raise NotAllowed(f"「{to.name}」不在你的团队，不能把客户改派给他/她")
    if customer.owner_id == to.id:
        return [Reply(f"「{customer.name}」的负责人已经是 {to.name}")]
    now = ctx.clock.now()
    before = customer.owner_id
    customer.owner_id = to.id
    moved = (
        (
            await db.execute(
                select(Commitment).where(
                    Commitment.customer_id == customer.id,
                    Commitment.status == CommitmentStatus.OPEN,
                )
            )
        )
        .scalars()
        .all()
    )
    for commitment in moved:
        commitment.owner_id = to.id
    audit.record(
        db,
        at=now,
        actor_id=cmd.user.id,
        action="customer_reassigned",
        entity="customer",
        entity_id=customer.id,
        before={"owner_id": before},
        after={"owner_id": to.id, "commitments": [c.code for c in moved]},
    )
    text = f"{cmd.user.name} 把「{customer.name}」改派给 {to.name}"
    out: list[Outgoing] = [
        Reply(f"已把「{customer.name}」改派给 {to.name}，未兑现承诺 {len(moved)} 条随之移交")
    ]
    for user_id in {before, to.id} - {None, cmd.user.id}:
        out.append(Push(RecipientKind.USER, int(user_id or 0), Reply(text)))
    return out
