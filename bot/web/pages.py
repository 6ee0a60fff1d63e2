"""The board's pages: 作战室, customer, rep, 承诺登记表 (data from handlers/board, HTML here)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.web.auth import Viewer, board_page
from bot.web.deps import BOARD
from bot.web.render import render
from bot.web.svg import health_points
from handlers.board import funnel, lights, overdue, registry, report, reps
from handlers.board.customer import customer_page
from handlers.board.periods import PERIOD_LABELS, parse_period, windows_for
from handlers.board.rep import rep_page
from handlers.board.scope import (
    Scope,
    ensure_customer_readable,
    ensure_rep_readable,
    filter_options,
    narrow,
    sees_all,
)
from storage.models import User

MAX_PAGE = 10_000


def query_int(request: web.Request, name: str, *, maximum: int = 2**31 - 1) -> int | None:
    """An optional positive integer parameter; anything else is a 400 that says what it wanted."""
    raw = request.query.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) <= maximum:
        raise web.HTTPBadRequest(text=f"参数 {name} 应为正整数，例如 {name}=3")
    return int(raw)


async def warroom_scope(request: web.Request, db: AsyncSession, viewer: Viewer) -> Scope:
    return await narrow(
        db, viewer.user, team_id=query_int(request, "team"), rep_id=query_int(request, "rep")
    )


@board_page(screen_ok=True)
async def warroom(request: web.Request, db: AsyncSession, viewer: Viewer) -> web.Response:
    """GET /board: the 作战室 (?tv=1 the meeting-room screen, ?fragment=1 its refresh)."""
    deps = request.app[BOARD]
    now, tz = deps.clock.now(), deps.tz
    scope = await warroom_scope(request, db, viewer)
    period = parse_period(request.query.get("period"))
    window = windows_for(period, now=now, tz=tz).current
    teams, rep_options = await filter_options(db, viewer.user)
    overdue_total, overdue_rows = await overdue.overdue_commitments(db, scope, now=now)
    receivable_total, receivable_rows = await overdue.overdue_receivables(db, scope, now=now)
    weeks = max(1.0, (min(window.end, now) - window.start).total_seconds() / (7 * 86400))
    lit = await lights.lights(db, scope, deps.rules, now=now, tz=tz)
    per_stage = {s.stage: s.total for s in lit.by_stage}
    context: dict[str, Any] = {
        "viewer": viewer,
        "tv": request.query.get("tv") == "1" or viewer.is_screen,
        "scope": scope,
        "period": period,
        "period_labels": PERIOD_LABELS,
        "teams": teams,
        "rep_options": rep_options,
        "report": await report.live_report(db, scope, now=now, tz=tz),
        "funnel": await funnel.funnel(
            db,
            scope,
            deps.rules,
            now=now,
            history=await funnel_history(request, db, scope),
            counts=per_stage,
        ),
        "lights": lit,
        "reps": await reps.rep_rows(db, scope, window, now=now, lit_by_owner=lit.by_owner),
        "grade": reps.grade,
        "weeks": weeks if period != "today" else 1 / 7,
        "labels": reps.FIGURE_LABELS,
        "phi": reps.phi_available(),
        "overdue_total": overdue_total,
        "overdue": overdue_rows,
        "receivable_total": receivable_total,
        "receivables": receivable_rows,
        "query": request.query_string,
    }
    template = "_warroom_main.html" if request.query.get("fragment") else "warroom.html"
    return render(request, template, context)


async def funnel_history(
    request: web.Request, db: AsyncSession, scope: Scope
) -> funnel.FunnelHistory:
    """The scope's 90-day funnel figures, at most a minute old (bot.web.cache)."""
    deps = request.app[BOARD]
    viewer_id, team_id, rep_id = scope.viewer.id, scope.team_id, scope.rep_id
    key = ("all" if sees_all(scope.viewer) else viewer_id, team_id, rep_id)

    async def compute() -> funnel.FunnelHistory:  # the first time: in the request's session
        return await funnel.funnel_history(db, scope, deps.rules, now=deps.clock.now())

    async def refresh() -> funnel.FunnelHistory:  # later, in the background: its own session
        async with deps.sessions() as own:
            viewer = await own.get_one(User, viewer_id)
            fresh = Scope(viewer, team_id=team_id, rep_id=rep_id)
            return await funnel.funnel_history(own, fresh, deps.rules, now=deps.clock.now())

    return await deps.funnel_cache.get(key, compute, refresh)


@board_page()
async def customer(request: web.Request, db: AsyncSession, viewer: Viewer) -> web.Response:
    deps = request.app[BOARD]
    row = await ensure_customer_readable(db, viewer.user, int(request.match_info["id"]))
    page = await customer_page(db, row, tz=deps.tz)
    return render(
        request,
        "customer.html",
        {"viewer": viewer, "c": page, "health_svg": health_points(page.health_history)},
    )


@board_page()
async def rep(request: web.Request, db: AsyncSession, viewer: Viewer) -> web.Response:
    deps = request.app[BOARD]
    person = await ensure_rep_readable(db, viewer.user, int(request.match_info["id"]))
    scope = await narrow(db, viewer.user, team_id=None, rep_id=person.id)
    page = await rep_page(db, scope, person, deps.rules, now=deps.clock.now(), tz=deps.tz)
    return render(
        request,
        "rep.html",
        {
            "viewer": viewer,
            "p": page,
            "grade": reps.grade,
            "labels": reps.FIGURE_LABELS,
            "phi": reps.phi_available(),
        },
    )


@board_page()
async def commitments(request: web.Request, db: AsyncSession, viewer: Viewer) -> web.Response:
    deps = request.app[BOARD]
    scope = await warroom_scope(request, db, viewer)
    state = registry.parse_filter(request.query.get("state"))
    page = query_int(request, "page", maximum=MAX_PAGE) or 1
    total, rows = await registry.commitments(
        db, scope, state=state, now=deps.clock.now(), page=page
    )
    teams, rep_options = await filter_options(db, viewer.user)
    return render(
        request,
        "commitments.html",
        {
            "viewer": viewer,
            "scope": scope,
            "state": state,
            "states": registry.STATE_LABELS,
            "total": total,
            "rows": rows,
            "page": page,
            "pages": max(1, -(-total // registry.PAGE_SIZE)),
            "teams": teams,
            "rep_options": rep_options,
            "query": request.query_string,
        },
    )
