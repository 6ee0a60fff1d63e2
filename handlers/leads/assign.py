"""Assignment by rule: a covering team's rep with the fewest open untouched leads, under the cap."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Subquery, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from config.rules import Rules
from storage.locks import lock_id
from storage.models import Customer, Lead, Role, Team, User
from storage.upsert import dialect_name

ASSIGN_LOCK = "lead_assign"


@dataclass(frozen=True, slots=True)
class Choice:
    rep: User | None  # None: nobody under the cap, a manager must assign
    managers: list[User]  # whom to ask then (the covering teams' managers)
    teams: list[Team]


async def serialize_assignments(db: AsyncSession) -> None:
    """Hold the assignment lock to the end of the transaction: two instances never both see
    a rep under the cap and both give them a lead (SQLite has one writer anyway)."""
    if dialect_name(db) == "postgresql":
        await db.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id(ASSIGN_LOCK)})


def covers(team: Team, region: str | None) -> bool:
    regions = [r.casefold() for r in team.regions or []]
    return region.strip().casefold() in regions if region else not regions


async def covering_teams(db: AsyncSession, region: str | None) -> list[Team]:
    teams = (await db.execute(select(Team).order_by(Team.id))).scalars()
    return [t for t in teams if covers(t, region)]


def open_leads_of(rules: Rules) -> Subquery:
    """Open untouched leads per rep: assigned, never touched, still in the first stage."""
    return (
        select(Lead.assigned_to_id.label("rep_id"), func.count().label("open"))
        .join(Customer, Customer.id == Lead.customer_id)
        .where(
            Lead.assigned_to_id.is_not(None),
            Lead.first_touched_at.is_(None),
            Customer.stage == rules.first_stage,
        )
        .group_by(Lead.assigned_to_id)
        .subquery()
    )


async def open_lead_count(db: AsyncSession, rules: Rules, rep_id: int) -> int:
    stmt = (
        select(func.count())
        .select_from(Lead)
        .join(Customer, Customer.id == Lead.customer_id)
        .where(
            Lead.assigned_to_id == rep_id,
            Lead.first_touched_at.is_(None),
            Customer.stage == rules.first_stage,
        )
    )
    return int((await db.execute(stmt)).scalar_one())


async def choose_rep(db: AsyncSession, rules: Rules, region: str | None) -> Choice:
    """The rep to get a new lead of `region` (call under serialize_assignments)."""
    teams = await covering_teams(db, region)
    team_ids = [t.id for t in teams]
    if not team_ids:
        return Choice(None, await _fallback_managers(db), [])
    opened = open_leads_of(rules)
    last_given = (
        select(Lead.assigned_to_id.label("rep_id"), func.max(Lead.assigned_at).label("last_at"))
        .where(Lead.assigned_to_id.is_not(None))
        .group_by(Lead.assigned_to_id)
        .subquery()
    )
    load = func.coalesce(opened.c.open, 0)
    stmt = (
        select(User)
        .outerjoin(opened, opened.c.rep_id == User.id)
        .outerjoin(last_given, last_given.c.rep_id == User.id)
        .where(
            User.team_id.in_(team_ids),
            User.role == Role.REP,
            User.active.is_(True),
            load < rules.leads.open_cap,
        )
        # Fewest open leads first; on a tie, whoever was given one longest ago (round-robin).
        .order_by(load, last_given.c.last_at.is_not(None), last_given.c.last_at, User.id)
        .limit(1)
    )
    rep = (await db.execute(stmt)).scalars().first()
    managers = await _managers_of(db, team_ids)
    return Choice(rep, managers, teams)


async def _managers_of(db: AsyncSession, team_ids: list[int]) -> list[User]:
    stmt = (
        select(User)
        .where(
            User.team_id.in_(team_ids),
            User.role == Role.MANAGER,
            User.active.is_(True),
        )
        .order_by(User.id)
    )
    managers = list((await db.execute(stmt)).scalars())
    return managers or await _fallback_managers(db)


async def _fallback_managers(db: AsyncSession) -> list[User]:
    """No team covers the region: the directors decide (else any manager)."""
    for role in (Role.DIRECTOR, Role.MANAGER):
        stmt = select(User).where(User.role == role, User.active.is_(True)).order_by(User.id)
        found = list((await db.execute(stmt)).scalars())
        if found:
            return found
    return []
