"""Jinja2 (autoescaped) for the board's pages, with filters for local times, money and rates."""

from __future__ import annotations

import functools
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.web.deps import BOARD

TEMPLATES = Path(__file__).parent / "templates"
# Everything the page loads comes from salesbot itself: no CDN, no external font.
CSP = (
    "default-src 'self'; img-src 'self' data:; media-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'"
)


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = money
    env.filters["pct"] = pct
    env.filters["num"] = num
    env.filters["signed"] = signed
    return env


def money(value: Decimal | float | int | None) -> str:
    if value is None:
        return "—"
    amount = Decimal(str(value))
    if abs(amount) >= 10_000:
        return f"¥{amount / 10_000:,.1f}万"
    return f"¥{amount:,.0f}"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def num(value: float | Decimal | int | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{float(value):,.{digits}f}"


def signed(value: Decimal | float | int) -> str:
    number = float(value)
    if number > 0:
        return f"+{number:,.0f}"
    return f"{number:,.0f}"


def render(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    deps = request.app[BOARD]
    tz = deps.tz

    def local(value: datetime | None, fmt: str = "%m-%d %H:%M") -> str:
        return "" if value is None else value.astimezone(tz).strftime(fmt)

    body = (
        environment()
        .get_template(template)
        .render(local=local, now=deps.clock.now(), request_path=request.path, **context)
    )
    response = web.Response(text=body, content_type="text/html", charset="utf-8", status=status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response
