"""Bulk import of teams, users and customers from CSV: all rows valid, or nothing is written."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import get_args

from sqlalchemy.ext.asyncio import AsyncSession

from config.rules import Rules
from handlers.imports.csvfile import (
    Batch,
    Context,
    ImportKind,
    ImportReport,
    RowError,
    check_cells,
    check_duplicate_names,
    read_rows,
)
from handlers.imports.customers import import_customers
from handlers.imports.teams import import_teams, webhook_key
from handlers.imports.users import import_users

__all__ = ["ImportKind", "ImportReport", "RowError", "import_csv", "webhook_key"]

_IMPORTERS: dict[str, Callable[[AsyncSession, Batch, Context], Awaitable[None]]] = {
    "teams": import_teams,
    "users": import_users,
    "customers": import_customers,
}


async def import_csv(
    db: AsyncSession,
    kind: ImportKind,
    data: bytes,
    *,
    now: datetime,
    rules: Rules,
    actor_id: int | None = None,
    update: bool = False,
) -> ImportReport:
    """Check every row first; write (and audit) only when the whole file is valid."""
    if kind not in get_args(ImportKind):
        raise ValueError(f"unknown import kind {kind!r}")
    rows, errors = read_rows(kind, data)
    batch = Batch(kind, rows, errors)
    if errors:
        return batch.report()
    check_cells(batch)
    check_duplicate_names(batch)
    importer = _IMPORTERS[kind]
    await importer(db, batch, Context(now=now, rules=rules, actor_id=actor_id, update=update))
    return batch.report()
