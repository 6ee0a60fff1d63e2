"""CSV of each board table at its page's path + .csv, audited like `salesbot export`."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.web.auth import Viewer, board_page
from bot.web.deps import BOARD
from bot.web.pages import MAX_PAGE, query_int, warroom_scope
from handlers.board import csv_tables as tables
from handlers.board import funnel, lights, overdue, registry, report, reps
from handlers.board.customer import customer_page
from handlers.board.periods import parse_period, windows_for
from handlers.board.rep import rep_page
from handlers.board.scope import ensure_customer_readable, ensure_rep_readable, narrow
from storage import audit

WARROOM_TABLES = ("reps", "lights", "funnel", "report", "overdue", "receivables")


def _csv(
    request: web.Request,
    viewer: Viewer,
    db: AsyncSession,
    name: str,
    table: tuple[list[str], list[list[object]]],
) -> web.Response:
    deps = request.app[BOARD]
    headers, rows = table
    audit.record(
        db,
        at=deps.clock.now(),
        actor_id=viewer.user.id,
        action="board_export",
        entity="board",
        entity_id=None,
        note=f"{request.path_qs} ({len(rows)} rows)",
    )
    body = tables.to_csv(headers, rows, deps.tz)
    filename = quote(f"{name}.csv")
    return web.Response(
        body=body,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f"attachment; filename*=UTF-8''{filename}",
        },
    )


@board_page()
async def warroom_csv(request: web.Request, db: AsyncSession, viewer: Viewer) -> web.Response:
    """/board.csv?table=reps|lights|funnel|report|overdue|receivables (the 作战室's tables)."""
    deps = request.app[BOARD]
    now, tz = deps.clock.now(), deps.tz
    which = request.query.get("table", "reps")
    if which not in WARROOM_TABLES:
        raise web.HTTPBadRequest(
            text=f"table 应为 {'、'.join(WARROOM_TABLES)} 之一，例如 table=reps"
        )
    scope = await warroom_scope(request, db, viewer)
    if which == "reps":
        window = windows_for(parse_period(request.query.get("period")), now=now, tz=tz).current
        lit = await lights.lights(db, scope, deps.rules, now=now, tz=tz)
        rows = await reps.rep_rows(db, scope, window, now=now, lit_by_owner=lit.by_owner)
        table = tables.reps_table(rows)
    elif which == "lights":
        lit = await lights.lit_customers(db, scope, deps.rules, now=now, tz=tz)
        table = tables.lights_table(lit)
    elif which == "funnel":
        table = tables.funnel_table(await funnel.funnel(db, scope, deps.rules, now=now))
    elif which == "report":
        table = tables.report_table(await report.live_report(db, scope, now=now, tz=tz))
    elif which == "overdue":
        _n, rows = await overdue.overdue_commitments(db, scope, now=now, limit=100_000)
        table = tables.overdue_table(rows)
    else:
        _n, due = await overdue.overdue_receivables(db, scope, now=now, limit=100_000)
        table = tables.receivables_table(due)
    return _csv(request, viewer, db, f"作战室-{which}", table)


@board_page()
async def customer_csv(request: web.Request, db: AsyncSession, viewer: Viewer) -> web.Response:
    deps = request.app[BOARD]
    row = await ensure_customer_readable(db, viewer.user, int(request.match_info["id"]))
    page = await customer_page(db, row, tz=deps.tz)
    return _csv(request, viewer, db, f"客户-{page.name}", tables.timeline_table(page))


@board_page()
async def rep_csv(request: web.Request, db: AsyncSession, viewer: Viewer) -> web.Response:
    """The rep's open commitments (the page's main table)."""
    deps = request.app[BOARD]
    person = await ensure_rep_readable(db, viewer.user, int(request.match_info["id"]))
    scope = await narrow(db, viewer.user, team_id=None, rep_id=person.id)
    page = await rep_page(db, scope, person, deps.rules, now=deps.clock.now(), tz=deps.tz)
    return _csv(
        request, viewer, db, f"销售-{person.name}", tables.commitments_table(page.open_commitments)
    )


@board_page()
async def commitments_csv(request: web.Request, db: AsyncSession, viewer: Viewer) -> web.Response:
    deps = request.app[BOARD]
    scope = await warroom_scope(request, db, viewer)
    state = registry.parse_filter(request.query.get("state"))
    query_int(request, "page", maximum=MAX_PAGE)  # accepted and ignored: the file has every row
    _total, rows = await registry.commitments(
        db, scope, state=state, now=deps.clock.now(), page_size=None
    )
    return _csv(request, viewer, db, "承诺登记表", tables.commitments_table(rows))
