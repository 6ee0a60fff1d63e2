"""Who hears of a warning: the owner, the owner's team group (or manager), the director."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.alerting.findings import Level
from handlers.chat import RecipientKind
from storage.models import Role, Team, User

MAX_CHAIN = 6  # manager chains are short; a loop in bad data must not hang the scan


@dataclass(frozen=True, slots=True)
class Target:
    kind: RecipientKind
    id: int
    label: str  # for the job's report: 王磊, 华东一组群


@dataclass
class Directory:
    """Users and teams, loaded once per job run (hundreds of rows, not customers)."""

    users: dict[int, User]
    teams: dict[int, Team]

    @classmethod
    async def load(cls, db: AsyncSession) -> Directory:
        users = (await db.execute(select(User))).scalars().all()
        teams = (await db.execute(select(Team))).scalars().all()
        return cls({u.id: u for u in users}, {t.id: t for t in teams})

    def active(self, user_id: int | None) -> User | None:
        user = self.users.get(user_id) if user_id is not None else None
        return user if user is not None and user.active else None

    def manager_of(self, user: User) -> User | None:
        return self.active(user.manager_id)

    def director_for(self, user: User) -> User | None:
        """Up the manager chain to a director; else the company's first active director."""
        seen, current = 0, user
        while current.manager_id is not None and seen < MAX_CHAIN:
            boss = self.users.get(current.manager_id)
            if boss is None:
                break
            if boss.active and boss.role == Role.DIRECTOR:
                return boss
            current, seen = boss, seen + 1
        directors = sorted(
            (u for u in self.users.values() if u.active and u.role == Role.DIRECTOR),
            key=lambda u: u.id,
        )
        return directors[0] if directors else None

    def team_group(self, user: User) -> Target | None:
        """The owner's team group chat; without a team, the manager privately."""
        team = self.teams.get(user.team_id) if user.team_id is not None else None
        if team is not None:
            return Target(RecipientKind.TEAM, team.id, f"{team.name}群")
        manager = self.manager_of(user)
        if manager is not None:
            return Target(RecipientKind.USER, manager.id, manager.name)
        return None

    def targets(self, level: Level, owner: User) -> list[Target]:
        """Where a warning of this level about `owner`'s work goes (empty: nobody to tell)."""
        me = Target(RecipientKind.USER, owner.id, owner.name)
        if level == Level.RED:
            group = self.team_group(owner)
            return [group] if group is not None else []
        if level == Level.DIRECTOR:
            director = self.director_for(owner)
            return [Target(RecipientKind.USER, director.id, director.name)] if director else []
        if level == Level.OVERDUE:
            group = self.team_group(owner)
            return [me, group] if group is not None else [me]
        return [me]
