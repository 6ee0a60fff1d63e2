"""The web board (/board): the 作战室 and its pages, served by `salesbot serve` itself."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.web.deps import BOARD, BoardDeps

STATIC_DIR = Path(__file__).parent / "static"


def setup_board(app: web.Application, deps: BoardDeps) -> None:
    """Mount /board on the app (the caller checks SALESBOT_BOARD_ENABLED)."""
    from bot.web import auth, csv_views, oauth, pages

    app[BOARD] = deps

    async def close_cache(_app: web.Application) -> None:
        await deps.funnel_cache.close()

    app.on_cleanup.append(close_cache)
    app.router.add_get("/board", pages.warroom)
    app.router.add_get("/board.csv", csv_views.warroom_csv)
    app.router.add_get(r"/board/customers/{id:\d+}", pages.customer)
    app.router.add_get(r"/board/customers/{id:\d+}.csv", csv_views.customer_csv)
    app.router.add_get(r"/board/reps/{id:\d+}", pages.rep)
    app.router.add_get(r"/board/reps/{id:\d+}.csv", csv_views.rep_csv)
    app.router.add_get("/board/commitments", pages.commitments)
    app.router.add_get("/board/commitments.csv", csv_views.commitments_csv)
    app.router.add_get("/board/login", auth.login)
    app.router.add_get("/board/logout", auth.logout_page)
    app.router.add_post("/board/logout", auth.logout)
    app.router.add_get("/board/screen", auth.screen_login)
    app.router.add_get("/board/login/wecom", oauth.wecom_start)
    app.router.add_get("/board/login/wecom/callback", oauth.wecom_callback)
    app.router.add_get("/board/login/dingtalk", oauth.dingtalk_start)
    app.router.add_get("/board/login/dingtalk/callback", oauth.dingtalk_callback)
    app.router.add_static("/board/static", STATIC_DIR, append_version=False)


__all__ = ["BOARD", "BoardDeps", "setup_board"]
