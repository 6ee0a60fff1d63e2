"""POST /leads: web forms and other systems hand in a lead, authenticated by a per-source token."""

from __future__ import annotations

import hmac
import json
from typing import Any

import structlog
from aiohttp import web
from sqlalchemy.exc import IntegrityError

from bot.runtime import Runtime
from handlers.leads.intake import (
    DuplicateLead,
    LeadFieldError,
    check_lead,
    create_lead,
    existing_by_external_id,
)
from storage.models import User

log = structlog.get_logger()

MAX_BODY_BYTES = 16 * 1024
ALLOWED = {"name", "source", "region", "contact", "phone", "budget", "urgency", "note"}
ALLOWED |= {"external_id"}


def _error(status: int, message: str, field: str | None = None) -> web.Response:
    body: dict[str, Any] = {"error": message}
    if field is not None:
        body["field"] = field
    return web.json_response(body, status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False))


def source_for(runtime: Runtime, header: str | None) -> str | None:
    """The source a bearer token fixes; None for a missing or unknown token."""
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    found = None
    for known, source in runtime.settings.lead_token_sources.items():
        # every token compared, in constant time: no early exit to time
        if hmac.compare_digest(known.encode(), token.strip().encode()):
            found = source
    return found


def leads_routes(runtime: Runtime) -> list[web.RouteDef]:
    async def post_lead(request: web.Request) -> web.Response:
        source = source_for(runtime, request.headers.get("Authorization"))
        if source is None:
            return _error(401, "missing or unknown bearer token (Authorization: Bearer <token>)")
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return _error(413, f"body over {MAX_BODY_BYTES} bytes")
        raw = await request.read()
        if len(raw) > MAX_BODY_BYTES:
            return _error(413, f"body over {MAX_BODY_BYTES} bytes")
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _error(400, "body is not UTF-8 JSON", "body")
        if not isinstance(body, dict):
            return _error(400, "body must be a JSON object", "body")
        unknown = sorted(set(body) - ALLOWED)
        if unknown:
            return _error(400, f"unknown field {unknown[0]}", unknown[0])
        if body.get("source") not in (None, "", source):
            return _error(400, f"this token posts leads of source {source} only", "source")
        try:
            data = check_lead({**body, "source": source}, runtime.rules)
        except LeadFieldError as err:
            return _error(400, err.problem, err.field)
        return await _store(runtime, data)

    return [web.post("/leads", post_lead)]


async def _store(runtime: Runtime, data: Any) -> web.Response:
    now = runtime.clock.now()
    try:
        async with runtime.sessions() as db, db.begin():
            again = await existing_by_external_id(db, data.source, data.external_id)
            if again is not None:
                return await _answer(db, again.id, again.assigned_to_id)
            result = await create_lead(db, runtime.ctx, data, now=now)
            await runtime.outbox_writer.enqueue(db, result.pushes, now=now, source="leads")
            rep = result.assigned_to
            answer = {"id": result.lead.id, "assigned_to": rep.name if rep else None}
    except DuplicateLead as dup:
        return _error(409, f"customer {dup.name} already exists", "name")
    except IntegrityError:
        # the same external_id posted twice at once: the second insert lost the race
        async with runtime.sessions() as db:
            again = await existing_by_external_id(db, data.source, data.external_id)
            if again is None:
                raise
            return await _answer(db, again.id, again.assigned_to_id)
    log.info("lead_received", lead_id=answer["id"], source=data.source)
    return web.json_response(answer, status=201, dumps=lambda v: json.dumps(v, ensure_ascii=False))


async def _answer(db: Any, lead_id: int, rep_id: int | None) -> web.Response:
    """The same external_id again: the first answer again, marked as a replay (nothing new)."""
    rep = await db.get(User, rep_id) if rep_id is not None else None
    answer = {"id": lead_id, "assigned_to": rep.name if rep else None}
    return web.json_response(
        answer,
        status=201,
        headers={"Idempotent-Replayed": "true"},
        dumps=lambda v: json.dumps(v, ensure_ascii=False),
    )
