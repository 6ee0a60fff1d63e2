"""Who sees what on the board: the chat's permissions, applied once per request, plus filters."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.permissions import Access, customers_where, is_manager_or_above
from storage.models import Customer, Role, Team, User


class Forbidden(Exception):
    """The viewer may not see this customer, rep or team: the web layer answers 403."""


@dataclass(frozen=True, slots=True)
class Scope:
    """What one request may read: the viewer's visibility narrowed by the page's filters."""

    viewer: User
    team_id: int | None = None
    rep_id: int | None = None

    def customers(self) -> ColumnElement[bool]:
        """A WHERE clause on Customer."""
        clauses: list[ColumnElement[bool]] = [readable_customers(self.viewer)]
        if self.rep_id is not None:
            clauses.append(Customer.owner_id == self.rep_id)
        if self.team_id is not None:
            clauses.append(
                Customer.owner_id.in_(select(User.id).where(User.team_id == self.team_id))
            )
        return and_(*clauses)

    @property
    def sees_everything(self) -> bool:
        return sees_all(self.viewer) and self.team_id is None and self.rep_id is None


def sees_all(user: User) -> bool:
    return user.active and Role(user.role) in (Role.DIRECTOR, Role.ADMIN)


def readable_customers(user: User) -> ColumnElement[bool]:
    """The chat's READ rule (handlers/permissions.py): a rep their own customers, managers and
    directors every team's (the board only reads)."""
    return customers_where(user, Access.READ)


def readable_reps(user: User) -> ColumnElement[bool]:
    """A WHERE clause on User: the reps whose figures `user` may read."""
    if not user.active:
        return User.id == -1
    if is_manager_or_above(user):  # managers read every team, as in chat (区域经理可跨组查阅)
        return true()
    return User.id == user.id


async def narrow(
    db: AsyncSession, viewer: User, *, team_id: int | None, rep_id: int | None
) -> Scope:
    """The viewer's scope with the page's filters; a filter outside it is Forbidden."""
    if rep_id is not None:
        await ensure_rep_readable(db, viewer, rep_id)
    if team_id is not None:
        await ensure_team_readable(db, viewer, team_id)
    return Scope(viewer, team_id=team_id, rep_id=rep_id)


async def ensure_rep_readable(db: AsyncSession, viewer: User, rep_id: int) -> User:
    stmt = select(User).where(User.id == rep_id, readable_reps(viewer))
    rep = (await db.execute(stmt)).scalar_one_or_none()
    if rep is None:
        raise Forbidden(f"rep {rep_id}")
    return rep


async def ensure_team_readable(db: AsyncSession, viewer: User, team_id: int) -> Team:
    team = await db.get(Team, team_id)
    if team is None or not (is_manager_or_above(viewer) or viewer.team_id == team_id):
        raise Forbidden(f"team {team_id}")
    return team


async def ensure_customer_readable(db: AsyncSession, viewer: User, customer_id: int) -> Customer:
    stmt = select(Customer).where(Customer.id == customer_id, readable_customers(viewer))
    customer = (await db.execute(stmt)).scalar_one_or_none()
    if customer is None:
        raise Forbidden(f"customer {customer_id}")
    return customer


async def filter_options(db: AsyncSession, viewer: User) -> tuple[list[Team], list[User]]:
    """The teams and reps the viewer may pick in the filters."""
    reps_stmt = (
        select(User)
        .where(readable_reps(viewer), User.active.is_(True), User.role == Role.REP)
        .order_by(User.team_id, User.name)
    )
    reps = list((await db.execute(reps_stmt)).scalars())
    if is_manager_or_above(viewer):
        teams = list((await db.execute(select(Team).order_by(Team.name))).scalars())
    elif viewer.team_id is not None:
        teams = [t for t in [await db.get(Team, viewer.team_id)] if t is not None]
    else:
        teams = []
    return teams, reps
