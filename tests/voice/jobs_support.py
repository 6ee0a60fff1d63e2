"""Voice job test helpers: a fake OpenAI-compatible transcription server, the app on it, rows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.asr import Transcriber
from bot.serve import transcriber_from_settings
from config.rules import Rules
from config.settings import Settings
from handlers.clock import FrozenClock
from storage.queue_models import ItemStatus, VoiceJob
from tests.fakes.wecom import FakeWeCom
from tests.wecom.support import Instance, salesbot

# What a crashed inference server tends to put in its 500 body: none of it is for the rep.
SERVER_CRASH = (
    'Traceback (most recent call last):\n  File "/srv/asr/server.py", line 88, in transcribe\n'
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 MiB"
)


@dataclass(frozen=True)
class Upload:
    """One request as the server parsed it: the form's text fields, the file part, the headers."""

    fields: dict[str, str]
    filename: str
    content_type: str | None
    audio: bytes
    authorization: str | None


@dataclass
class FakeTranscriptionApi:
    """POST /v1/audio/transcriptions on localhost, reading the real multipart form.

    Answers {"text": text}, or HTTP `status` with SERVER_CRASH; with `hold` set, a request is
    kept open until `release()` (a transcription the worker is still waiting for).
    """

    text: str = ""
    status: int = 200
    hold: bool = False
    uploads: list[Upload] = field(default_factory=list)
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    _server: TestServer | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/audio/transcriptions", self._transcribe)
        self._server = TestServer(app, host="127.0.0.1", port=0)
        await self._server.start_server()

    async def close(self) -> None:
        self.release()
        if self._server is not None:
            await self._server.close()

    def release(self) -> None:
        self.hold = False
        self._released.set()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return str(self._server.make_url("")).rstrip("/")

    async def _transcribe(self, request: web.Request) -> web.Response:
        fields: dict[str, str] = {}
        file: tuple[str, str | None, bytes] = ("", None, b"")
        async for part in await request.multipart():
            assert isinstance(part, aiohttp.BodyPartReader)
            if part.name == "file":
                file = (
                    part.filename or "",
                    part.headers.get("Content-Type"),
                    bytes(await part.read()),
                )
            else:
                fields[part.name or ""] = await part.text()
        self.uploads.append(Upload(fields, *file, request.headers.get("Authorization")))
        if self.hold:
            await self._released.wait()
        if self.status != 200:
            return web.Response(status=self.status, text=SERVER_CRASH)
        return web.json_response({"text": self.text})


def asr_settings(api: FakeTranscriptionApi) -> dict[str, object]:
    return {
        "asr_engine": "openai-api",
        "asr_base_url": api.base_url,
        "asr_api_key": "sk-test-voice-jobs",
        "asr_model": "whisper-1",
        "asr_language": "zh",
    }


@dataclass
class VoiceBot:
    instance: Instance
    transcriber: Transcriber


@asynccontextmanager
async def voice_bot(
    db_url: str,
    fake: FakeWeCom,
    api: FakeTranscriptionApi,
    clock: FrozenClock,
    rules: Rules,
    **settings: object,
) -> AsyncIterator[VoiceBot]:
    """One `salesbot serve` instance whose voice workers use the openai-api engine on `api`."""
    asr = asr_settings(api)
    transcriber = transcriber_from_settings(Settings(**asr))  # type: ignore[arg-type]
    await transcriber.start()
    try:
        async with salesbot(
            db_url,
            fake,
            clock,
            rules,
            transcriber=transcriber,
            on_stop=[transcriber.close],  # as in `salesbot serve`: the app closes it at shutdown
            **(asr | settings),  # type: ignore[arg-type]
        ) as instance:
            yield VoiceBot(instance, transcriber)
    finally:
        await transcriber.close()


async def add_jobs(
    sessions: async_sessionmaker[AsyncSession], count: int, *, now: datetime
) -> list[int]:
    """`count` new voice jobs from wecom, as the voice intake stores them."""
    async with sessions() as db, db.begin():
        jobs = [
            VoiceJob(
                platform="wecom",
                message_id=f"msg-{n}",
                sender="wanglei",
                media_id=f"media-{n}",
                media_format="amr",
                received_at=now - timedelta(seconds=count - n),
                status=ItemStatus.NEW,
                attempts=0,
            )
            for n in range(count)
        ]
        db.add_all(jobs)
        await db.flush()
        return [job.id for job in jobs]


async def job_row(sessions: async_sessionmaker[AsyncSession], job_id: int) -> VoiceJob:
    async with sessions() as db:
        return await db.get_one(VoiceJob, job_id)
