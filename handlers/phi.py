"""The process-health index (PHI) per rep and per team, counted in SQL (docs/PHI.md)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    Commitment,
    CommitmentStatus,
    Followup,
    Lead,
    Receivable,
    Role,
    Team,
    User,
)

WAITING_RUN = 5  # the flag: this many latest next steps all wait on the customer
# 等客户回复 and the ways reps say it: the customer owes the next move, not the rep.
WAITING = re.compile(
    r"(等|等待|等着|待|听|看)(客户|对方|甲方|他们|他|她)?的?(回复|回音|回话|反馈|答复|消息|通知|确认|决定|决策|考虑|审批|回电)"
    r"|(客户|对方|甲方|他们)(考虑|商量|研究|内部讨论|内部评估|评估|审批|走流程|回复|反馈|答复)"
    r"|再说|等通知|没回复|未回复|暂无回复|保持联系|有需要再联系"
)


@dataclass(frozen=True, slots=True)
class RepPhi:
    user_id: int
    name: str
    team_id: int | None
    lead_activation: float | None
    action_closure: float | None
    penetration: float | None  # contacts per active customer, not a share
    commitment_closure: float | None
    collection_rate: float | None
    followups: int
    waiting_flag: bool


@dataclass(frozen=True, slots=True)
class TeamPhi:
    team_id: int
    name: str
    lead_activation: float | None
    action_closure: float | None
    penetration: float | None
    commitment_closure: float | None
    collection_rate: float | None
    followups: int
    waiting_flag: bool  # any rep of the team is flagged
    waiting_reps: int = 0
    reps: int = 0


def is_waiting_on_customer(next_step: str | None) -> bool:
    """等客户回复, 等对方反馈, 客户内部讨论 …: nothing for the rep to do."""
    return bool(next_step) and WAITING.search(next_step or "") is not None


@dataclass
class _Counts:
    """Numerators and denominators of one rep, so teams add them up before dividing."""

    parts: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)

    def add(self, key: str, done: Decimal | int, total: Decimal | int) -> None:
        old_done, old_total = self.parts.get(key, (Decimal(0), Decimal(0)))
        self.parts[key] = (old_done + Decimal(done), old_total + Decimal(total))

    def number(self, key: str) -> Decimal:
        return self.parts.get(key, (Decimal(0), Decimal(0)))[0]

    def ratio(self, key: str) -> float | None:
        done, total = self.parts.get(key, (Decimal(0), Decimal(0)))
        return float(done / total) if total else None


async def _reps(db: AsyncSession, team_ids: Sequence[int] | None) -> list[User]:
    stmt = select(User).where(User.role == Role.REP, User.active.is_(True)).order_by(User.id)
    if team_ids is not None:
        stmt = stmt.where(User.team_id.in_(list(team_ids)))
    return list((await db.execute(stmt)).scalars())


async def _grouped(db: AsyncSession, stmt: Any) -> dict[int, tuple[Any, ...]]:
    return {row[0]: tuple(row[1:]) for row in (await db.execute(stmt)).all()}


def _within(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


async def _counts(
    db: AsyncSession, rep_ids: list[int], *, start: datetime, end: datetime, tz: tzinfo
) -> dict[int, _Counts]:
    counts: dict[int, _Counts] = {rep: _Counts() for rep in rep_ids}
    if not rep_ids:
        return counts
    deadline = func.coalesce(Lead.touch_due_at, Lead.assigned_at)
    activated = and_(Lead.first_touched_at.is_not(None), Lead.first_touched_at <= deadline)
    leads = (
        select(
            Lead.assigned_to_id,
            func.count(),
            func.sum(case((activated, 1), else_=0)),
        )
        .where(Lead.assigned_to_id.in_(rep_ids), _within(Lead.assigned_at, start, end))
        .group_by(Lead.assigned_to_id)
    )
    for rep, (total, done) in (await _grouped(db, leads)).items():
        counts[rep].add("lead_activation", done or 0, total)

    later = aliased(Followup)
    acted = exists().where(
        later.customer_id == Followup.customer_id,
        later.created_at > Followup.created_at,
        later.created_at <= Followup.next_action_due_at,
    )
    steps = (
        select(Followup.author_id, func.count(), func.sum(case((acted, 1), else_=0)))
        .where(
            Followup.author_id.in_(rep_ids),
            _within(Followup.next_action_due_at, start, end),
        )
        .group_by(Followup.author_id)
    )
    for rep, (total, done) in (await _grouped(db, steps)).items():
        counts[rep].add("action_closure", done or 0, total)

    reach = (
        select(
            Followup.author_id,
            func.count(),
            func.count(distinct(Followup.customer_id)),
        )
        .where(Followup.author_id.in_(rep_ids), _within(Followup.created_at, start, end))
        .group_by(Followup.author_id)
    )
    for rep, (notes, customers) in (await _grouped(db, reach)).items():
        counts[rep].add("followups", notes, 1)
        counts[rep].add("active_customers", customers, 1)
    # Contacts are counted per customer: the same 李主任 at two customers is two people.
    pairs = (
        select(Followup.author_id, Followup.customer_id, Followup.contact_id)
        .where(
            Followup.author_id.in_(rep_ids),
            _within(Followup.created_at, start, end),
            Followup.contact_id.is_not(None),
        )
        .distinct()
        .subquery()
    )
    contacts = select(pairs.c.author_id, func.count()).group_by(pairs.c.author_id)
    contact_counts = {row[0]: row[1] for row in (await db.execute(contacts)).all()}
    for rep in rep_ids:
        active = counts[rep].number("active_customers")
        counts[rep].add("penetration", contact_counts.get(rep, 0), active)

    kept = and_(Commitment.kept_at.is_not(None), Commitment.kept_at <= Commitment.due_at)
    promises = (
        select(Commitment.owner_id, func.count(), func.sum(case((kept, 1), else_=0)))
        .where(
            Commitment.owner_id.in_(rep_ids),
            Commitment.status != CommitmentStatus.CANCELLED,
            _within(Commitment.due_at, start, end),
        )
        .group_by(Commitment.owner_id)
    )
    for rep, (total, done) in (await _grouped(db, promises)).items():
        counts[rep].add("commitment_closure", done or 0, total)

    money = (
        select(
            Receivable.owner_id, func.sum(Receivable.amount_yuan), func.sum(Receivable.paid_yuan)
        )
        .where(
            Receivable.owner_id.in_(rep_ids),
            Receivable.due_on >= start.astimezone(tz).date(),
            Receivable.due_on < end.astimezone(tz).date(),
        )
        .group_by(Receivable.owner_id)
    )
    for rep, (due, paid) in (await _grouped(db, money)).items():
        counts[rep].add("collection_rate", paid or 0, due or 0)
    return counts


async def _waiting_flags(db: AsyncSession, rep_ids: list[int], *, end: datetime) -> set[int]:
    """Reps whose latest WAITING_RUN next steps (as of `end`) all wait on the customer."""
    if not rep_ids:
        return set()
    rank = (
        func.row_number()
        .over(
            partition_by=Followup.author_id,
            order_by=(Followup.created_at.desc(), Followup.id.desc()),
        )
        .label("rank")
    )
    latest = (
        select(Followup.author_id, Followup.next_action, rank)
        .where(
            Followup.author_id.in_(rep_ids),
            Followup.next_action.is_not(None),
            Followup.next_action != "",
            Followup.created_at < end,
        )
        .subquery()
    )
    rows = await db.execute(
        select(latest.c.author_id, latest.c.next_action).where(latest.c.rank <= WAITING_RUN)
    )
    steps: dict[int, list[str]] = defaultdict(list)
    for rep, action in rows.all():
        steps[rep].append(action)
    return {
        rep
        for rep, actions in steps.items()
        if len(actions) == WAITING_RUN and all(is_waiting_on_customer(a) for a in actions)
    }


def _phi_fields(counts: _Counts) -> dict[str, float | None]:
    return {
        "lead_activation": counts.ratio("lead_activation"),
        "action_closure": counts.ratio("action_closure"),
        "penetration": counts.ratio("penetration"),
        "commitment_closure": counts.ratio("commitment_closure"),
        "collection_rate": counts.ratio("collection_rate"),
    }


async def rep_phi(
    db: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    team_ids: Sequence[int] | None = None,
    tz: tzinfo = UTC,
) -> list[RepPhi]:
    """Each active rep's PHI over [start, end), in user id order; `tz` dates the payments."""
    reps = await _reps(db, team_ids)
    ids = [r.id for r in reps]
    counts = await _counts(db, ids, start=start, end=end, tz=tz)
    flagged = await _waiting_flags(db, ids, end=end)
    return [
        RepPhi(
            user_id=rep.id,
            name=rep.name,
            team_id=rep.team_id,
            followups=int(counts[rep.id].number("followups")),
            waiting_flag=rep.id in flagged,
            **_phi_fields(counts[rep.id]),
        )
        for rep in reps
    ]


async def team_phi(
    db: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    team_ids: Sequence[int] | None = None,
    tz: tzinfo = UTC,
) -> list[TeamPhi]:
    """Each team's PHI: its reps' counts added up, then divided (not an average of rates)."""
    reps = await _reps(db, team_ids)
    ids = [r.id for r in reps]
    counts = await _counts(db, ids, start=start, end=end, tz=tz)
    flagged = await _waiting_flags(db, ids, end=end)
    stmt = select(Team).order_by(Team.id)
    if team_ids is not None:
        stmt = stmt.where(Team.id.in_(list(team_ids)))
    teams = list((await db.execute(stmt)).scalars())
    result = []
    for team in teams:
        members = [r for r in reps if r.team_id == team.id]
        total = _Counts()
        for rep in members:
            for key, (done, whole) in counts[rep.id].parts.items():
                total.add(key, done, whole)
        waiting = sum(1 for r in members if r.id in flagged)
        result.append(
            TeamPhi(
                team_id=team.id,
                name=team.name,
                followups=int(total.number("followups")),
                waiting_flag=waiting > 0,
                waiting_reps=waiting,
                reps=len(members),
                **_phi_fields(total),
            )
        )
    return result


def format_rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def phi_lines(phi: RepPhi | TeamPhi) -> str:
    """One line for chat: 激活 95% · 闭环 88% · 穿透 2.5 · 承诺 90% · 回款 70%."""
    penetration = "—" if phi.penetration is None else f"{phi.penetration:.1f}"
    line = (
        f"线索激活 {format_rate(phi.lead_activation)} · 动作闭环 {format_rate(phi.action_closure)}"
        f" · 穿透 {penetration} · 承诺闭环 {format_rate(phi.commitment_closure)}"
        f" · 回款达成 {format_rate(phi.collection_rate)}"
    )
    return line + (" · ⚠等客户" if phi.waiting_flag else "")


async def phi_digest_lines(
    db: AsyncSession, *, team_id: int, now: datetime, days: int, tz: tzinfo
) -> list[str]:
    """The digest's and 团队's PHI block: the team's figures, then each rep's (flag first)."""
    start = now - timedelta(days=days)
    window = {"start": start, "end": now, "team_ids": [team_id], "tz": tz}
    teams = await team_phi(db, **window)  # type: ignore[arg-type]
    if not teams or not teams[0].reps:
        return []
    reps = await rep_phi(db, **window)  # type: ignore[arg-type]
    lines = [
        f"🧭 过程健康指数 PHI（近 {days} 天，定义见 docs/PHI.md）",
        f"· 团队：{phi_lines(teams[0])}",
    ]
    for rep in sorted(reps, key=lambda r: (not r.waiting_flag, r.user_id)):
        lines.append(f"· {rep.name}：{phi_lines(rep)}")
    return lines
