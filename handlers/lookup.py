"""Find the customer a rep means: exact name, alias, substring, fuzzy — among those they may see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.errors import AmbiguousCustomer, NotAllowed, UnknownCustomer
from handlers.extraction import CustomerRef
from handlers.permissions import Access, customers_where, is_manager_or_above
from storage.models import Customer, User

FUZZY_ACCEPT = 80.0  # a fuzzy score this high, clearly ahead of the next, is taken
FUZZY_LEAD = 8.0
FUZZY_GUESS = 50.0


@dataclass(frozen=True, slots=True)
class Candidate:
    id: int
    name: str
    aliases: tuple[str, ...]

    def ref(self) -> CustomerRef:
        return CustomerRef(self.id, self.name, self.aliases)


async def visible_candidates(
    db: AsyncSession, user: User, access: Access = Access.ACT
) -> list[Candidate]:
    """The customers `user` may name for this access (by default: their own work)."""
    stmt = (
        select(Customer.id, Customer.name, Customer.aliases)
        .where(customers_where(user, access))
        .order_by(Customer.id)
    )
    return [Candidate(i, n, tuple(a or ())) for i, n, a in (await db.execute(stmt)).all()]


def pick(
    name: str, candidates: Sequence[Candidate], *, fuzzy: bool = True
) -> tuple[Candidate | None, list[Candidate]]:
    """The one candidate `name` means, or (None, the ones it might mean); fuzzy=False: only a
    name, an alias or a part of one counts."""
    wanted = name.strip().casefold()
    for stage in (_exact, _alias, _substring):
        found = stage(wanted, candidates)
        if len(found) == 1:
            return found[0], []
        if found:
            return None, found
    return _fuzzy(wanted, candidates) if fuzzy else (None, [])


def _exact(wanted: str, candidates: Sequence[Candidate]) -> list[Candidate]:
    return [c for c in candidates if c.name.casefold() == wanted]


def _alias(wanted: str, candidates: Sequence[Candidate]) -> list[Candidate]:
    return [c for c in candidates if wanted in (a.casefold() for a in c.aliases)]


def _substring(wanted: str, candidates: Sequence[Candidate]) -> list[Candidate]:
    if len(wanted) < 2:
        return []
    return [
        c
        for c in candidates
        if wanted in c.name.casefold() or any(wanted in a.casefold() for a in c.aliases)
    ]


def _fuzzy(
    wanted: str, candidates: Sequence[Candidate]
) -> tuple[Candidate | None, list[Candidate]]:
    choices = {
        (i, text): text.casefold()
        for i, c in enumerate(candidates)
        for text in (c.name, *c.aliases)
    }
    scored = process.extract(wanted, choices, scorer=fuzz.WRatio, limit=10)
    best: dict[int, float] = {}
    for _text, score, (index, _orig) in scored:
        best[index] = max(best.get(index, 0.0), score)
    ranked = sorted(best.items(), key=lambda item: item[1], reverse=True)
    if not ranked:
        return None, []
    top_index, top_score = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    if top_score >= FUZZY_ACCEPT and top_score - runner_up >= FUZZY_LEAD:
        return candidates[top_index], []
    if top_score >= FUZZY_ACCEPT:
        return None, [candidates[i] for i, s in ranked if s >= FUZZY_ACCEPT]
    return None, [candidates[i] for i, s in ranked[:3] if s >= FUZZY_GUESS]


async def find_customer(
    db: AsyncSession, name: str, *, user: User, example: str, access: Access = Access.ACT
) -> Customer:
    """Resolve `name` among the customers `user` may read/supervise/act on (handlers.permissions);
    refuse clearly if it is there but out of reach."""
    candidates = await visible_candidates(db, user, access)
    chosen, others = pick(name, candidates)
    if chosen is not None:
        return await db.get_one(Customer, chosen.id)
    exact_elsewhere = (
        await db.execute(select(Customer).where(Customer.name == name.strip()))
    ).scalar_one_or_none()
    if exact_elsewhere is not None or (not others and await _alias_elsewhere(db, name)):
        raise NotAllowed(_refusal(name, user, access))
    if len(others) > 1 and all(_score(name, c) >= FUZZY_ACCEPT for c in others):
        raise AmbiguousCustomer(name, [c.name for c in others], example=example)
    raise UnknownCustomer(name, [c.name for c in others], example=example)


def _refusal(name: str, user: User, access: Access) -> str:
    if not is_manager_or_above(user):
        return f"客户「{name}」不是你负责的客户，你不能操作它。如需协助请联系主管"
    if access == Access.ACT:
        return (
            f"客户「{name}」不是你负责的客户：跟进、兑现承诺和任务卡只能由负责的销售本人操作。"
            f"你可以查看（客户 {name}），调整阶段或改派负责人"
        )
    return f"客户「{name}」不是你团队的客户：你可以查看（客户 {name}），但不能修改"


def _score(name: str, candidate: Candidate) -> float:
    return max(
        fuzz.WRatio(name.casefold(), t.casefold()) for t in (candidate.name, *candidate.aliases)
    )


async def _alias_elsewhere(db: AsyncSession, name: str) -> bool:
    wanted = name.strip().casefold()
    stmt = select(Customer.name, Customer.aliases)
    for customer_name, aliases in (await db.execute(stmt)).all():
        if wanted == customer_name.casefold() or wanted in (a.casefold() for a in aliases or ()):
            return True
    return False
