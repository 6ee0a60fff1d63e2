"""CSV export of customers, follow-ups, commitments, tasks and the audit log, for Excel and WPS."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.models import AuditEntry, Commitment, Customer, Followup, Task, Team, User

ExportKind = Literal["customers", "followups", "commitments", "tasks", "audit"]
BOM = "\ufeff"
# Excel and WPS run a cell that starts with one of these as a formula; chat text must stay text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Names:
    """Ids to names, so the file says 王磊 and 杭州启明科技有限公司 rather than 3 and 17."""

    users: dict[int, str]
    customers: dict[int, str]
    teams: dict[int, str]

    def user(self, user_id: int | None) -> str:
        return self.users.get(user_id, str(user_id)) if user_id is not None else ""

    def customer(self, customer_id: int | None) -> str:
        return self.customers.get(customer_id, str(customer_id)) if customer_id else ""


Cell = Callable[[Any, Names], object]


@dataclass(frozen=True, slots=True)
class Table:
    model: type[Any]
    since_column: InstrumentedAttribute[datetime]  # what `since` filters on
    columns: Sequence[tuple[str, Cell]]  # header, value


def _attr(name: str) -> Cell:
    return lambda row, _names: getattr(row, name)


TABLES: dict[str, Table] = {
    "customers": Table(
        Customer,
        Customer.created_at,
        [
            ("name", _attr("name")),
            ("aliases", lambda c, _: "|".join(c.aliases)),
            ("owner", lambda c, n: n.user(c.owner_id)),
            ("stage", _attr("stage")),
            ("stage_entered_at", _attr("stage_entered_at")),
            ("level", _attr("level")),
            ("health_score", _attr("health_score")),
            ("last_evidence_at", _attr("last_evidence_at")),
            ("next_step_due_at", _attr("next_step_due_at")),
            ("created_at", _attr("created_at")),
        ],
    ),
    "followups": Table(
        Followup,
        Followup.created_at,
        [
            ("created_at", _attr("created_at")),
            ("customer", lambda f, n: n.customer(f.customer_id)),
            ("author", lambda f, n: n.user(f.author_id)),
            ("source", _attr("source")),
            ("summary", _attr("summary")),
            ("contact", _attr("contact")),
            ("next_action", _attr("next_action")),
            ("next_action_due_at", _attr("next_action_due_at")),
            ("amount_yuan", _attr("amount_yuan")),
            ("text", lambda f, _: f.transcript or f.raw_text),
        ],
    ),
    "commitments": Table(
        Commitment,
        Commitment.created_at,
        [
            ("code", _attr("code")),
            ("customer", lambda c, n: n.customer(c.customer_id)),
            ("owner", lambda c, n: n.user(c.owner_id)),
            ("what", _attr("what")),
            ("due_at", _attr("due_at")),
            ("status", _attr("status")),
            ("evidence", _attr("evidence")),
            ("created_at", _attr("created_at")),
            ("kept_at", _attr("kept_at")),
        ],
    ),
    "tasks": Table(
        Task,
        Task.created_at,
        [
            ("id", _attr("id")),
            ("title", _attr("title")),
            ("template", _attr("template_key")),
            ("customer", lambda t, n: n.customer(t.customer_id)),
            ("assignee", lambda t, n: n.user(t.assignee_id)),
            ("status", _attr("status")),
            ("push_at", _attr("push_at")),
            ("accept_by", _attr("accept_by")),
            ("due_at", _attr("due_at")),
            ("accepted_at", _attr("accepted_at")),
            ("done_at", _attr("done_at")),
            ("evidence", _attr("evidence")),
            ("created_at", _attr("created_at")),
        ],
    ),
    "audit": Table(
        AuditEntry,
        AuditEntry.at,
        [
            ("at", _attr("at")),
            ("actor", lambda a, n: n.user(a.actor_id)),
            ("action", _attr("action")),
            ("entity", _attr("entity")),
            ("entity_id", _attr("entity_id")),
            ("entity_name", lambda a, n: _entity_name(a, n)),
            ("before", _attr("before")),
            ("after", _attr("after")),
            ("note", _attr("note")),
        ],
    ),
}


async def export_csv(
    db: AsyncSession, kind: ExportKind, *, since: datetime | None, tz: ZoneInfo
) -> bytes:
    """UTF-8 with a BOM (so Excel and WPS read Chinese right), local ISO times, names not ids."""
    if kind not in get_args(ExportKind):
        raise ValueError(f"unknown export kind {kind!r}")
    if since is not None and since.tzinfo is None:
        raise ValueError("since must be an aware datetime")
    table = TABLES[kind]
    query = select(table.model).order_by(table.since_column, table.model.id)
    if since is not None:
        query = query.where(table.since_column >= since)
    rows = (await db.execute(query)).scalars().all()
    names = await _load_names(db)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header for header, _ in table.columns])
    for row in rows:
        writer.writerow([format_cell(value(row, names), tz) for _, value in table.columns])
    return (BOM + out.getvalue()).encode("utf-8")


def format_cell(value: object, tz: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(tz).isoformat(timespec="seconds")
    if isinstance(value, bool | int | Decimal):
        return str(value)
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


async def _load_names(db: AsyncSession) -> Names:
    users = dict((await db.execute(select(User.id, User.name))).all())
    customers = dict((await db.execute(select(Customer.id, Customer.name))).all())
    teams = dict((await db.execute(select(Team.id, Team.name))).all())
    return Names(users, customers, teams)


def _entity_name(entry: AuditEntry, names: Names) -> str:
    if entry.entity_id is None:
        return ""
    lookup = {"customer": names.customers, "user": names.users, "team": names.teams}
    return lookup.get(entry.entity, {}).get(entry.entity_id, "")
