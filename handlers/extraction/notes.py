"""The rule engine: one follow-up note → a structured log (customer, contact, next step and its
due time, promise, stage hint, amount), each field with the span of text it came from."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from handlers.extraction.amounts import find_amount
from handlers.extraction.clauses import (
    Clause,
    action_in,
    next_step_clause,
    promise_in,
    split_clauses,
)
from handlers.extraction.contacts import find_contact
from handlers.extraction.customers import find_customer
from handlers.extraction.dates import find_times, is_upcoming, to_due
from handlers.extraction.hits import TimeHit
from handlers.extraction.model import (
    DEFAULT_STAGES,
    CustomerRef,
    Due,
    Extraction,
    Found,
)
from handlers.extraction.normalize import normalise_note, strip_fillers
from handlers.extraction.stages import find_stage

_TOLD_RE = re.compile(r"了|过|已|没|\b(?:met|visited|called)\b", re.IGNORECASE)


def _clause_of(clauses: Sequence[Clause], position: int) -> int | None:
    return next((i for i, c in enumerate(clauses) if c.start <= position < c.end), None)


def _is_told_today(hit: TimeHit, clauses: Sequence[Clause], today: date) -> bool:
    """Today's date in a clause telling what happened (今天拜访了…), not what comes next."""
    if hit.on != today or hit.at is not None:
        return False
    index = _clause_of(clauses, hit.start)
    return index is not None and bool(_TOLD_RE.search(clauses[index].text))


def _choose_due(
    hits: Sequence[TimeHit], clauses: Sequence[Clause], promise: int | None, now_local: datetime
) -> TimeHit | None:
    """The last upcoming time said (notes tell what happened, then what comes next); the
    promise's own time when the rep promised something."""
    upcoming = [
        h
        for h in hits
        if is_upcoming(h, now_local) and not _is_told_today(h, clauses, now_local.date())
    ]
    if promise is not None:
        promised = [h for h in upcoming if _clause_of(clauses, h.start) == promise]
        if promised:
            return promised[-1]
    return upcoming[-1] if upcoming else None


def _find_promise(
    clauses: Sequence[Clause], time_spans: Sequence[tuple[int, int]]
) -> tuple[int, str] | None:
    for index, clause in enumerate(clauses):
        what = promise_in(clause, time_spans)
        if what:
            return index, what
    return None


def extract_note(
    text: str,
    *,
    now: datetime,
    tz: ZoneInfo,
    customers: Sequence[CustomerRef],
    stages: Sequence[str] = DEFAULT_STAGES,
) -> Extraction:
    names = [name for customer in customers for name in (customer.name, *customer.aliases)]
    normalised = normalise_note(text, protect=names)
    now_local = now.astimezone(tz).replace(tzinfo=None)
    link = find_customer(normalised, customers)
    customer_span = link.best.span if link.best else None
    hits = find_times(normalised, now_local, skip=[customer_span] if customer_span else [])
    time_spans = [(hit.start, hit.end) for hit in hits]
    clauses = split_clauses(normalised)

    promise = _find_promise(clauses, time_spans)
    promise_index = promise[0] if promise else None
    due_hit = _choose_due(hits, clauses, promise_index, now_local)
    due: Found[Due] | None = None
    if due_hit is not None:
        due = Found(to_due(due_hit, tz), (due_hit.start, due_hit.end))
        action_index = _clause_of(clauses, due_hit.start)
    else:
        action_index = promise_index if promise else next_step_clause(clauses)

    next_action: Found[str] | None = None
    if action_index is not None:
        removed = time_spans + ([customer_span] if customer_span else [])
        due_end = due_hit.end if due_hit else None
        action = action_in(clauses, action_index, removed, due_end=due_end)
        clause = clauses[action_index]
        if action:
            next_action = Found(action, (clause.start, clause.end))
    commitment: Found[str] | None = None
    if promise is not None:
        clause = clauses[promise[0]]
        commitment = Found(promise[1], (clause.start, clause.end))

    return Extraction(
        text=normalised,
        customer=link.best,
        customer_candidates=link.candidates,
        contact=find_contact(normalised, avoid=customer_span),
        summary=strip_fillers(normalised),
        next_action=next_action,
        due=due,
        commitment=commitment,
        stage=find_stage(normalised, stages),
        amount_yuan=find_amount(normalised),
        engine="rules",
    )
