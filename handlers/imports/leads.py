"""Import leads: each row checked like a posted lead, then stored and assigned by the rules."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.clock import FrozenClock
from handlers.context import Context as HandlerContext
from handlers.imports.csvfile import Batch, Context
from handlers.leads.intake import (
    LeadFieldError,
    LeadInput,
    check_lead,
    create_lead,
    duplicate_index,
    find_duplicate,
)


async def import_leads(db: AsyncSession, batch: Batch, ctx: Context) -> None:
    checked: list[LeadInput] = []
    index = await duplicate_index(db)
    for row in batch.rows:
        try:
            data = check_lead(dict(row.cells), ctx.rules)
        except LeadFieldError as err:
            batch.fail(row, f"{err.problem} (bad {err.field})")
            continue
        duplicate = await find_duplicate(db, data.name, index)
        if duplicate is not None:
            batch.fail(
                row,
                f"客户「{duplicate.name}」已经存在，线索不再新建 (duplicate of customer "
                f"{duplicate.name})",
            )
            continue
        checked.append(data)
    if batch.errors:
        return
    handler_ctx = HandlerContext(clock=FrozenClock(ctx.now), rules=ctx.rules, tz=ctx.tz)
    for data in checked:
        result = await create_lead(db, handler_ctx, data, now=ctx.now, checked=True)
        batch.created += 1
        batch.pushes += result.pushes
