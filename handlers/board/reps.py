"""The rep table: process-health figures per rep, coloured against their targets.

The figures are #17's PHI (`handlers.phi.rep_phi`) when it is installed; until then the board
shows what the existing rows give: follow-ups in the period and commitments kept on time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.board.lights import StageLights
from handlers.board.periods import Window
from handlers.board.scope import Scope, readable_reps
from storage.models import Commitment, CommitmentStatus, Customer, Followup, Role, Team, User

try:  # #17's process-health index; the board falls back to its own figures without it
    from handlers import phi as _phi  # type: ignore[attr-defined,unused-ignore]
except ImportError:  # pragma: no cover - depends on what is merged
    _phi = None

# Targets a figure is coloured against (green at or above, yellow within 80 %, red below).
TARGETS: dict[str, float] = {
    "lead_activation": 0.9,
    "action_closure": 0.8,
    "penetration": 2.0,
    "commitment_closure": 0.9,
    "followups": 10.0,  # per week
}
FIGURE_LABELS = {
    "lead_activation": "线索激活率",
    "action_closure": "动作闭环率",
    "penetration": "客户穿透率",
    "commitment_closure": "承诺闭环率",
    "followups": "本期跟进",
}


@dataclass(frozen=True, slots=True)
class RepRow:
    user_id: int
    name: str
    team: str
    customers: int
    followups: int
    commitments_due: int
    commitments_kept_on_time: int
    overdue_commitments: int
    red_customers: int = 0
    yellow_customers: int = 0
    lead_activation: float | None = None
    action_closure: float | None = None
    penetration: float | None = None
    phi_commitment_closure: float | None = None

    @property
    def commitment_closure(self) -> float | None:
        if self.phi_commitment_closure is not None:
            return self.phi_commitment_closure
        return (
            self.commitments_kept_on_time / self.commitments_due if self.commitments_due else None
        )


def grade(figure: str, value: float | None, *, weeks: float = 1.0) -> str:
    """green / yellow / red against the figure's target ('' when there is nothing to count)."""
    if value is None:
        return ""
    target = TARGETS[figure] * (weeks if figure == "followups" else 1.0)
    if value >= target:
        return "green"
    return "yellow" if value >= 0.8 * target else "red"


async def rep_rows(
    db: AsyncSession,
    scope: Scope,
    window: Window,
    *,
    now: datetime,
    lit_by_owner: dict[int, StageLights] | None = None,
) -> list[RepRow]:
    """One row per readable active rep; `lit_by_owner` (the lights query's per-rep counts)
    spares a count of the customers and adds the red and yellow ones."""
    reps_stmt = (
        select(User.id, User.name, Team.name)
        .outerjoin(Team, Team.id == User.team_id)
        .where(readable_reps(scope.viewer), User.role == Role.REP, User.active.is_(True))
        .order_by(Team.name, User.name)
    )
    if scope.rep_id is not None:
        reps_stmt = reps_stmt.where(User.id == scope.rep_id)
    if scope.team_id is not None:
        reps_stmt = reps_stmt.where(User.team_id == scope.team_id)
    reps = (await db.execute(reps_stmt)).all()
    ids = [r[0] for r in reps]
    if not ids:
        return []
    if lit_by_owner is None:
        customers = await _grouped(
            db, select(Customer.owner_id, func.count()).where(Customer.owner_id.in_(ids))
        )
        lit_by_owner = {}
    else:
        customers = {owner: s.total for owner, s in lit_by_owner.items()}
    followups = await _grouped(
        db,
        select(Followup.author_id, func.count()).where(
            Followup.author_id.in_(ids),
            Followup.created_at >= window.start,
            Followup.created_at < window.end,
        ),
    )
    due_end = min(window.end, now)
    on_time = and_(Commitment.kept_at.is_not(None), Commitment.kept_at <= Commitment.due_at)
    kept_stmt = (
        select(
            Commitment.owner_id,
            func.count(),
            func.coalesce(func.sum(case((on_time, 1), else_=0)), 0),
        )
        .where(
            Commitment.owner_id.in_(ids),
            Commitment.due_at >= window.start,
            Commitment.due_at < due_end,
            Commitment.status != CommitmentStatus.CANCELLED,
        )
        .group_by(Commitment.owner_id)
    )
    kept = {owner: (int(n), int(k)) for owner, n, k in (await db.execute(kept_stmt)).all()}
    overdue = await _grouped(
        db,
        select(Commitment.owner_id, func.count()).where(
            Commitment.owner_id.in_(ids),
            Commitment.status == CommitmentStatus.OPEN,
            Commitment.due_at < now,
        ),
    )
    phi = await _phi_by_rep(db, window, ids)
    rows = []
    for user_id, name, team in reps:
        figures = phi.get(user_id)
        rows.append(
            RepRow(
                user_id=user_id,
                name=name,
                team=team or "",
                customers=customers.get(user_id, 0),
                followups=followups.get(user_id, 0),
                commitments_due=kept.get(user_id, (0, 0))[0],
                commitments_kept_on_time=kept.get(user_id, (0, 0))[1],
                overdue_commitments=overdue.get(user_id, 0),
                red_customers=lit_by_owner[user_id].red if user_id in lit_by_owner else 0,
                yellow_customers=lit_by_owner[user_id].yellow if user_id in lit_by_owner else 0,
                lead_activation=getattr(figures, "lead_activation", None),
                action_closure=getattr(figures, "action_closure", None),
                penetration=getattr(figures, "penetration", None),
                phi_commitment_closure=getattr(figures, "commitment_closure", None),
            )
        )
    return rows


def phi_available() -> bool:
    return _phi is not None


async def _phi_by_rep(db: AsyncSession, window: Window, ids: list[int]) -> dict[int, Any]:
    if _phi is None:
        return {}
    figures = await _phi.rep_phi(db, start=window.start, end=window.end)
    return {f.user_id: f for f in figures if f.user_id in ids}


async def _grouped(db: AsyncSession, stmt: Any) -> dict[int, int]:
    key = stmt.selected_columns[0]
    return {k: int(n) for k, n in (await db.execute(stmt.group_by(key))).all()}
