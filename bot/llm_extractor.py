"""The LLM extraction engine (off by default): asks an OpenAI-compatible chat-completions endpoint
for the fields as JSON, and falls back to the rule engine on any error, timeout or bad answer."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import aiohttp
import structlog

from handlers.extraction import (
    DEFAULT_STAGES,
    CustomerRef,
    Due,
    Extraction,
    Extractor,
    Found,
    RuleExtractor,
    find_customer,
    parse_due,
)
from handlers.extraction.llm import LlmNote, build_messages, parse_answer, parse_iso_local
from handlers.extraction.model import DATE_ONLY_HOUR
from handlers.extraction.normalize import normalise_note, strip_fillers

log = structlog.get_logger()

# What can go wrong between us and the model; anything else is a bug and should surface.
_FALLBACK_ERRORS = (aiohttp.ClientError, TimeoutError, ValueError, KeyError, IndexError, TypeError)


def _found_in(text: str, value: str | None) -> Found[str] | None:
    if not value:
        return None
    start = text.find(value)
    return Found(value, (start, start + len(value)) if start >= 0 else None)


def _due(note: LlmNote, *, now: datetime, tz: ZoneInfo) -> Due | None:
    if note.due_phrase:
        due = parse_due(note.due_phrase, now=now, tz=tz)
        if due is not None:
            return due
    if note.due_at is None:
        return None
    day, clock = parse_iso_local(note.due_at)
    local = datetime.combine(day, time(*clock) if clock else time(DATE_ONLY_HOUR), tzinfo=tz)
    return Due(local.astimezone(UTC), clock is not None, note.due_phrase or note.due_at)


def to_extraction(
    note: LlmNote,
    text: str,
    *,
    now: datetime,
    tz: ZoneInfo,
    customers: Sequence[CustomerRef],
    stages: Sequence[str],
) -> Extraction:
    """The model's fields, mapped onto the sender's customers, our due rules and our stages."""
    names = [name for customer in customers for name in (customer.name, *customer.aliases)]
    normalised = normalise_note(text, protect=names)
    link = find_customer(note.customer or normalised, customers)
    due = _due(note, now=now, tz=tz)
    phrase = _found_in(normalised, note.due_phrase)
    amount = note.amount_yuan
    return Extraction(
        text=normalised,
        customer=link.best,
        customer_candidates=link.candidates,
        contact=_found_in(normalised, note.contact),
        summary=note.summary or strip_fillers(normalised),
        next_action=_found_in(normalised, note.next_action),
        due=Found(due, phrase.span if phrase else None) if due else None,
        commitment=_found_in(normalised, note.commitment),
        stage=Found(note.stage, None) if note.stage and note.stage in stages else None,
        amount_yuan=Found(Decimal(amount), None) if amount is not None else None,
        engine="llm",
    )


class LlmExtractor:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        timeout_s: float = 8.0,
        session: aiohttp.ClientSession | None = None,
        fallback: Extractor | None = None,
        stages: Sequence[str] = DEFAULT_STAGES,
    ) -> None:
        self.url = f"{base_url.rstrip('/')}/chat/completions"
        self.model = model
        self.timeout_s = timeout_s
        self.stages = tuple(stages)
        self.fallback = fallback or RuleExtractor(stages)
        self._api_key = api_key
        self._session = session
        self._owns_session = session is None

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] = os.environ, **kwargs: object
    ) -> LlmExtractor | None:
        """The engine when SALESBOT_LLM_BASE_URL/_API_KEY/_MODEL are all set, else None (off)."""
        keys = ("SALESBOT_LLM_BASE_URL", "SALESBOT_LLM_API_KEY", "SALESBOT_LLM_MODEL")
        if not all(environ.get(key) for key in keys):
            return None
        base_url, api_key, model = (environ[key] for key in keys)
        return cls(base_url=base_url, api_key=api_key, model=model, **kwargs)  # type: ignore[arg-type]

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _session_for_call(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def _ask(self, messages: list[dict[str, str]]) -> LlmNote:
        payload = {
            "model": self.model,
            "messages": messages,
            "response_format": {"type": "json_object"},
            "temperature": 0,
        }
        headers = {"Authorization": f"Bearer {self._api_key}"}
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        async with asyncio.timeout(self.timeout_s):
            session = self._session_for_call()
            async with session.post(
                self.url, json=payload, headers=headers, timeout=timeout
            ) as resp:
                resp.raise_for_status()
                body = await resp.json(content_type=None)
        return parse_answer(body["choices"][0]["message"]["content"])

    async def extract(
        self, text: str, *, now: datetime, tz: ZoneInfo, customers: Sequence[CustomerRef]
    ) -> Extraction:
        messages = build_messages(text, now=now, tz=tz, customers=customers, stages=self.stages)
        try:
            note = await self._ask(messages)
            extraction = to_extraction(
                note, text, now=now, tz=tz, customers=customers, stages=self.stages
            )
        except _FALLBACK_ERRORS as err:
            log.warning("extraction_engine", engine="rules", llm_error=type(err).__name__)
            return await self.fallback.extract(text, now=now, tz=tz, customers=customers)
        log.info("extraction_engine", engine="llm", model=self.model)
        return extraction
