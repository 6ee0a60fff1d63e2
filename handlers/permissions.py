"""Row visibility: a rep sees their own customers, a manager their team's, a director all."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Customer, Role, User


def customers_visible_to(user: User) -> ColumnElement[bool]:
    """A WHERE clause on Customer for what `user` may act on."""
    if not user.active:
        return false()
    role = Role(user.role)
    if role in (Role.DIRECTOR, Role.ADMIN):
        return true()
    if role == Role.MANAGER:
        team_members = select(User.id).where(
            or_(User.manager_id == user.id, User.team_id == user.team_id)
            if user.team_id is not None
            else User.manager_id == user.id
        )
        return or_(Customer.owner_id == user.id, Customer.owner_id.in_(team_members))
    return Customer.owner_id == user.id


async def can_act_on(db: AsyncSession, user: User, customer: Customer) -> bool:
    stmt = select(Customer.id).where(Customer.id == customer.id, customers_visible_to(user))
    return (await db.execute(stmt)).first() is not None


def is_manager_or_above(user: User) -> bool:
    return Role(user.role) in (Role.MANAGER, Role.DIRECTOR, Role.ADMIN)
