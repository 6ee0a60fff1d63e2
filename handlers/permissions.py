"""Who may read or change which customer's records, in one place (others call these).

Three kinds of access:
- READ: look (客户, 为什么, 团队 <组>, 我的): a rep their own customers; managers, directors and
  admins every team's (区域经理可跨组查阅);
- SUPERVISE: what supervising needs (stage corrections, reassignment, reopen): a rep their own,
  a manager their team's, a director or admin everybody's; audited, the owner is told;
- ACT: the owner's own work (follow-ups, 兑现, task cards, deals): the owner only. Nobody logs a
  follow-up, keeps a commitment or completes a task on a rep's behalf.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Customer, Role, Team, User


class Access(StrEnum):
    READ = "read"
    SUPERVISE = "supervise"
    ACT = "act"


def is_manager_or_above(user: User) -> bool:
    return Role(user.role) in (Role.MANAGER, Role.DIRECTOR, Role.ADMIN)


def sees_every_team(user: User) -> bool:
    return Role(user.role) in (Role.DIRECTOR, Role.ADMIN)


def team_members_of(user: User) -> Select[int]:
    """The ids of the people a manager supervises: their team and their direct reports."""
    if user.team_id is not None:
        return select(User.id).where(or_(User.manager_id == user.id, User.team_id == user.team_id))
    return select(User.id).where(User.manager_id == user.id)


def customers_where(user: User, access: Access) -> ColumnElement[bool]:
    """A WHERE clause on Customer: the customers `user` may read, supervise or act on."""
    if not user.active:
        return false()
    role = Role(user.role)
    if access == Access.ACT or role == Role.REP:
        return Customer.owner_id == user.id
    if access == Access.READ or sees_every_team(user):
        return true()
    return or_(Customer.owner_id == user.id, Customer.owner_id.in_(team_members_of(user)))


def customers_visible_to(user: User) -> ColumnElement[bool]:
    """The customers a user supervises (a rep: their own; a manager: the team's; a director: all).
    Kept for callers that predate Access; new code says which access it needs."""
    return customers_where(user, Access.SUPERVISE)


async def may(db: AsyncSession, user: User, customer: Customer, access: Access) -> bool:
    stmt = select(Customer.id).where(Customer.id == customer.id, customers_where(user, access))
    return (await db.execute(stmt)).first() is not None


async def can_act_on(db: AsyncSession, user: User, customer: Customer) -> bool:
    """Supervising rights on one customer (kept for older callers)."""
    return await may(db, user, customer, Access.SUPERVISE)


def owns(user: User, owner_id: int | None) -> bool:
    """The owner's own work (a commitment, a task card): only the owner may do it."""
    return user.active and owner_id is not None and owner_id == user.id


async def teams_readable_by(db: AsyncSession, user: User) -> Sequence[Team]:
    """Teams whose figures a manager or director may read: every team."""
    if not is_manager_or_above(user):
        return []
    return (await db.execute(select(Team).order_by(Team.id))).scalars().all()


def refusal_for(access: Access, what: str) -> str:
    """Why not, in the words of the person refused."""
    if access == Access.ACT:
        return f"{what}只能由负责的销售本人操作，主管可以查看、调整阶段或改派负责人"
    return f"{what}不归你管，你可以查看，但不能修改"
