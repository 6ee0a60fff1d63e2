"""Voice worker: voice job → download → transcribe (process pool) → structured log card."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Mapping
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapter import Adapter, MediaError
from bot.asr import AsrUnavailable, AudioError, Transcriber, Transcript
from bot.asr.platform_text import from_recognition
from bot.asr.playback import PLAYBACK_TYPE, to_playback
from bot.metrics import ASR_SECONDS
from bot.outbox_writer import OutboxWriter
from config.settings import Settings
from handlers.chat import Event, EventKind, Outgoing, Platform, Reply
from handlers.context import Context
from handlers.lookup import visible_candidates
from handlers.voice import Recording, log_voice_note
from storage import voice_jobs
from storage.models import User
from storage.queue_models import VoiceJob

log = structlog.get_logger()

MAX_MEDIA_BYTES = 10 * 1024 * 1024
APOLOGY = "抱歉，这条语音没能处理（参考编号 VJ-{ref}），请打字发送跟进内容。"


class VoiceWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        adapters: Mapping[Platform, Adapter],
        ctx: Context,
        outbox_writer: OutboxWriter,
        transcriber: Transcriber,
        settings: Settings,
        *,
        max_attempts: int = 3,
    ) -> None:
        self.sessions = sessions
        self.adapters = adapters
        self.ctx = ctx
        self.outbox_writer = outbox_writer
        self.transcriber = transcriber
        self.settings = settings
        self.max_attempts = max_attempts
        self.name = f"{socket.gethostname()}:voice:{id(self):x}"

    async def step(self) -> bool:
        async with self.sessions() as db, db.begin():
            job = await voice_jobs.take_job(
                db,
                now=self.ctx.clock.now(),
                worker=self.name,
                platforms=[str(p) for p in self.adapters],
            )
        if job is None:
            return False
        structlog.contextvars.bind_contextvars(voice_job=job.id, platform=job.platform)
        try:
            await self.handle(job)
        except Exception as err:
            log.exception("voice_job_failed", attempts=job.attempts)
            await self._failed(job, err)
        finally:
            structlog.contextvars.unbind_contextvars("voice_job")
        return True

    async def handle(self, job: VoiceJob) -> None:
        started = time.perf_counter()
        event = _event_of(job)
        async with self.sessions() as db:
            user = await db.get(User, job.user_id) if job.user_id is not None else None
            words = await self._prompt_words(db, user)
        audio = b""  # none with the platform's own recognition text
        try:
            if not job.media_id and (job.recognition or "").strip():
                transcript = await from_recognition(job.recognition or "")  # text, no audio
            else:
                audio = await self._audio(event)
                transcript = await self.transcriber.transcribe(
                    audio, fmt=job.media_format, prompt_words=words, recognition=job.recognition
                )
        except AsrUnavailable as err:
            if err.transient:
                raise  # step() tries the job again later; the rep hears only if it never works
            await self._reject(job, event, err.problem, str(err))
            return
        except (AudioError, MediaError) as err:
            await self._reject(job, event, err.problem, str(err))
            return
        ASR_SECONDS.labels(engine=transcript.engine).observe(time.perf_counter() - started)
        recording = await self._recording(audio, job.media_format, transcript)
        await self._answer(job, event, user, transcript, recording)

    async def _recording(
        self, audio: bytes, media_format: str | None, transcript: Transcript
    ) -> Recording | None:
        """What is kept with the follow-up: the audio as received (up to the size limit) and
        an Ogg/Opus copy for browsers, transcoded once here, off the event loop."""
        if not audio or not transcript.text or len(audio) > self.settings.voice_keep_max_bytes:
            return None
        playback = transcript.playback  # local engines make it in their worker process
        if playback is None:
            try:
                playback = await asyncio.to_thread(
                    to_playback, audio, fmt=media_format, max_s=self.settings.asr_max_audio_s
                )
            except AudioError:
                log.warning("voice_playback_not_made", media_format=media_format)
        return Recording(
            audio=audio,
            media_format=media_format,
            playback=playback,
            playback_type=PLAYBACK_TYPE if playback else None,
            duration_s=transcript.duration_s,
        )

    async def _prompt_words(self, db: AsyncSession, user: User | None) -> list[str]:
        """The sender's customer names and aliases and the stage names, so names come out right."""
        words: list[str] = []
        if user is not None:
            for candidate in await visible_candidates(db, user):
                words += [candidate.name, *candidate.aliases]
        return words + list(self.ctx.rules.stage_names)

    async def _audio(self, event: Event) -> bytes:
        # With the platform's own recognition text there is nothing to download.
        if self.settings.asr_engine == "platform" and (event.recognition or "").strip():
            return b""
        return await self.adapters[event.platform].download_media(event, max_bytes=MAX_MEDIA_BYTES)

    async def _answer(
        self,
        job: VoiceJob,
        event: Event,
        user: User | None,
        transcript: Transcript,
        recording: Recording | None = None,
    ) -> None:
        asr = {
            "duration_s": transcript.duration_s,
            "engine": transcript.engine,
            "model": transcript.model,
            "language": transcript.language,
            "timings": transcript.timings,
        }
        now = self.ctx.clock.now()
        async with self.sessions() as db, db.begin():
            if user is None or not user.active:
                outgoing: list[Outgoing] = [Reply("你的账号不可用，请联系主管。")]
            else:
                user = await db.get_one(User, user.id)
                outgoing = await log_voice_note(
                    db,
                    self.ctx,
                    user=user,
                    transcript=transcript.text,
                    message_id=job.message_id,
                    asr=asr,
                    recording=recording,
                )
            await self.outbox_writer.enqueue(
                db, outgoing, now=now, event=event, source=f"voice:{job.id}"
            )
            await voice_jobs.finish_job(
                db,
                job.id,
                now=now,
                transcript=transcript.text,
                duration_s=transcript.duration_s,
                engine=transcript.engine,
                model=transcript.model,
                timings=transcript.timings,
            )

    async def _reject(self, job: VoiceJob, event: Event, problem: str, error: str) -> None:
        log.info("voice_rejected", problem=problem)
        await self._finish(job, event, [Reply(problem)], error=error)

    async def _finish(
        self, job: VoiceJob, event: Event, outgoing: list[Outgoing], *, error: str
    ) -> None:
        now = self.ctx.clock.now()
        async with self.sessions() as db, db.begin():
            await self.outbox_writer.enqueue(
                db, outgoing, now=now, event=event, source=f"voice:{job.id}"
            )
            await voice_jobs.finish_job(db, job.id, now=now, last_error=error[:2000])

    async def _failed(self, job: VoiceJob, err: Exception) -> None:
        dead = job.attempts >= self.max_attempts
        now = self.ctx.clock.now()
        async with self.sessions() as db, db.begin():
            await voice_jobs.fail_job(
                db,
                job.id,
                error=repr(err),
                dead=dead,
                retry_at=now + timedelta(seconds=30 * job.attempts),
            )
            if dead:
                await self.outbox_writer.enqueue(
                    db,
                    [Reply(APOLOGY.format(ref=job.id))],
                    now=now,
                    event=_event_of(job),
                    source=f"voice:{job.id}:dead",
                )


def _event_of(job: VoiceJob) -> Event:
    return Event(
        platform=Platform(job.platform),
        message_id=job.message_id,
        sender=job.sender,
        received_at=job.received_at,
        kind=EventKind.VOICE,
        media_id=job.media_id,
        media_format=job.media_format,
        recognition=job.recognition,
    )
