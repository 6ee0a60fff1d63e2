"""Voice jobs: leases and retakes in storage, then the voice worker on the `openai-api` engine
against a fake transcription server and the fake WeCom: a restart after a killed worker, bad
audio, expired media, a failing server and silence, each answered in plain Chinese."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import WORKER_TASKS
from bot.serve import voice_steps
from bot.voice_worker import APOLOGY
from config.rules import Rules
from handlers.clock import FrozenClock
from storage.queue_models import ItemStatus, OutboxItem, VoiceJob
from storage.voice_jobs import LEASE, fail_job, finish_job, take_job
from tests.fakes.wecom import FakeWeCom
from tests.fakes.wecom_client import WeComCallbacks
from tests.polling import eventually, settled
from tests.voice.jobs_support import (
    SERVER_CRASH,
    FakeTranscriptionApi,
    VoiceBot,
    add_jobs,
    job_row,
    voice_bot,
)
from tests.voice.support import REP, followups, voice_clip, voice_jobs
from tests.wecom.support import post_callback

NOTE = "华东医疗张总说预算批了，明天下午三点电话确认采购数量。"  # v02, as a server would hear it
CUSTOMER = "华东医疗器械有限公司"
OTHER_NOTE, OTHER_CUSTOMER = "智联科技约了后天上午十点上门演示。", "杭州智联科技"  # v03
CORRUPT = "这条语音无法解码，可能已损坏，请重新发送"
EXPIRED = "这条语音已过期，请重新发送"
NOT_HEARD = "没听清，请再说一遍或直接打字"
# Nothing of the server's error, the exception or the traceback may reach the rep.
LEAKS = ("Traceback", "Error", "HTTP", "500", "CUDA", "server.py", "http://", "127.0.0.1")


# --- storage: take, lease, retake, fail, finish ---------------------------------------------------


async def take(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, worker: str
) -> VoiceJob | None:
    """One take in its own committed transaction, as VoiceWorker.step does."""
    async with sessions() as db, db.begin():
        return await take_job(db, now=clock.now(), worker=worker, platforms=["wecom"])


async def test_a_new_job_is_taken_once_and_a_live_lease_keeps_other_workers_off(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    (job_id,) = await add_jobs(sessions, 1, now=clock.now())
    async with sessions() as db, db.begin():
        other_platform = await take_job(
            db, now=clock.now(), worker="w-dingtalk", platforms=["dingtalk"]
        )
    taken = await take(sessions, clock, "host-a:voice:1")
    assert other_platform is None
    assert taken is not None
    assert (taken.id, taken.status, taken.attempts, taken.taken_by, taken.taken_until) == (
        job_id,
        ItemStatus.TAKEN,
        1,
        "host-a:voice:1",
        clock.now() + LEASE,
    )
    assert await take(sessions, clock, "host-b:voice:1") is None
    clock.advance(seconds=LEASE.total_seconds())  # the lease's last instant: still held
    assert await take(sessions, clock, "host-b:voice:1") is None
    row = await job_row(sessions, job_id)
    assert (row.status, row.attempts, row.taken_by) == (ItemStatus.TAKEN, 1, "host-a:voice:1")


async def test_the_job_of_a_killed_worker_is_taken_again_once_its_lease_has_expired(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    (job_id,) = await add_jobs(sessions, 1, now=clock.now())
    assert await take(sessions, clock, "host-a:voice:1") is not None
    # host-a dies here: no finish, no fail, the row keeps its lease until it runs out
    clock.advance(seconds=LEASE.total_seconds() + 1)
    retaken = await take(sessions, clock, "host-b:voice:1")
    assert retaken is not None
    assert (retaken.id, retaken.status, retaken.attempts, retaken.taken_by) == (
        job_id,
        ItemStatus.TAKEN,
        2,
        "host-b:voice:1",
    )
    assert retaken.taken_until == clock.now() + LEASE
    assert await take(sessions, clock, "host-c:voice:1") is None


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_two_takers_inside_open_transactions_get_different_jobs(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    """SKIP LOCKED: the second taker passes over the row the first has locked, without waiting."""
    ids = await add_jobs(sessions, 3, now=clock.now())
    async with sessions() as first, first.begin(), sessions() as second, second.begin():
        a = await take_job(first, now=clock.now(), worker="a", platforms=["wecom"])
        async with asyncio.timeout(5):  # blocking on a's row lock instead would fail here
            b = await take_job(second, now=clock.now(), worker="b", platforms=["wecom"])
        assert a is not None
        assert b is not None
        assert (a.id, b.id) == (ids[0], ids[1])
    rows = {job_id: await job_row(sessions, job_id) for job_id in ids}
    assert [(r.status, r.taken_by, r.attempts) for r in rows.values()] == [
        (ItemStatus.TAKEN, "a", 1),
        (ItemStatus.TAKEN, "b", 1),
        (ItemStatus.NEW, None, 0),
    ]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_eight_concurrent_takers_never_share_a_job(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    ids = await add_jobs(sessions, 8, now=clock.now())
    all_inside = asyncio.Barrier(8)

    async def worker(n: int) -> int | None:
        async with sessions() as db, db.begin():
            job = await take_job(db, now=clock.now(), worker=f"w{n}", platforms=["wecom"])
            await all_inside.wait()  # nobody commits until every taker holds its row
            return job.id if job is not None else None

    async with asyncio.timeout(10):
        taken = await asyncio.gather(*(worker(n) for n in range(8)))
    assert sorted(t for t in taken if t is not None) == ids
    async with sessions() as db:
        attempts = list((await db.execute(select(VoiceJob.attempts))).scalars())
    assert attempts == [1] * 8


async def test_a_failed_job_is_retried_only_after_retry_at_and_a_dead_one_never(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    retry_id, dead_id = await add_jobs(sessions, 2, now=clock.now())
    first = await take(sessions, clock, "w")
    second = await take(sessions, clock, "w")
    assert (first and first.id, second and second.id) == (retry_id, dead_id)
    retry_at = clock.now() + timedelta(seconds=30)
    async with sessions() as db, db.begin():
        await fail_job(db, retry_id, error="x" * 3000, dead=False, retry_at=retry_at)
        await fail_job(db, dead_id, error="boom", dead=True, retry_at=retry_at)
    retry, dead = await job_row(sessions, retry_id), await job_row(sessions, dead_id)
    assert (retry.status, retry.taken_until, len(retry.last_error or "")) == (
        ItemStatus.TAKEN,
        retry_at,
        2000,
    )
    assert (dead.status, dead.taken_until, dead.last_error) == (ItemStatus.DEAD, None, "boom")
    clock.advance(seconds=30)  # exactly retry_at: not yet
    assert await take(sessions, clock, "w2") is None
    clock.advance(seconds=1)
    again = await take(sessions, clock, "w2")
    assert again is not None
    assert (again.id, again.attempts, again.taken_by) == (retry_id, 2, "w2")
    clock.advance(days=30)  # w2's lease has run out as well: only that job comes back
    later = await take(sessions, clock, "w3")
    assert (later and later.id, later and later.attempts) == (retry_id, 3)
    assert await take(sessions, clock, "w4") is None
    assert (await job_row(sessions, dead_id)).status == ItemStatus.DEAD


async def test_finish_job_records_the_transcript_and_how_it_was_made(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    (job_id,) = await add_jobs(sessions, 1, now=clock.now())
    assert await take(sessions, clock, "w") is not None
    clock.advance(seconds=4)
    timings = {"decode_s": 0.12, "transcribe_s": 2.5}
    async with sessions() as db, db.begin():
        await finish_job(
            db,
            job_id,
            now=clock.now(),
            transcript=NOTE,
            duration_s=5.81,
            engine="openai-api",
            model="whisper-1",
            timings=timings,
        )
    row = await job_row(sessions, job_id)
    assert (row.status, row.finished_at, row.taken_until, row.last_error) == (
        ItemStatus.DONE,
        clock.now(),
        None,
        None,
    )
    assert (row.transcript, row.duration_s, row.engine, row.model, row.timings) == (
        NOTE,
        5.81,
        "openai-api",
        "whisper-1",
        timings,
    )
    clock.advance(days=1)
    assert await take(sessions, clock, "w2") is None


# --- the voice worker on the openai-api engine, through the real app ------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def asr_api() -> AsyncIterator[FakeTranscriptionApi]:
    api = FakeTranscriptionApi(text=NOTE)
    await api.start()
    yield api
    await api.close()


def texts_to(fake: FakeWeCom, userid: str) -> list[str]:
    return [
        m["text"]["content"]
        for m in fake.delivered
        if m.get("msgtype") == "text" and m["touser"] == userid
    ]


async def voice_note(bot: VoiceBot, wecom: WeComCallbacks, media_id: str, msg_id: int) -> None:
    callback = wecom.post(wecom.voice(REP, media_id, msg_id=msg_id))
    assert await post_callback(bot.instance.client, callback) == (200, "")


async def ready(bot: VoiceBot) -> dict[str, Any]:
    """/readyz: the voice worker's task is still running (a crash would show as stopped)."""
    async with bot.instance.client.get("/readyz") as resp:
        body: dict[str, Any] = await resp.json()
        return body | {"status": resp.status}


async def outbox_sources(sessions: async_sessionmaker[AsyncSession]) -> list[str | None]:
    async with sessions() as db:
        return list((await db.execute(select(OutboxItem.source).order_by(OutboxItem.id))).scalars())


async def test_a_shutdown_leaves_queued_notes_for_the_next_start_unanswered(
    db_url: str,
    fake_wecom: FakeWeCom,
    asr_api: FakeTranscriptionApi,
    wecom: WeComCallbacks,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
    book: dict[str, int],
) -> None:
    """SIGTERM while one note is being transcribed and two wait: the workers stop before the
    transcriber closes, so the waiting notes are neither taken nor answered 'unavailable'."""
    for msg_id in (7301, 7302, 7303):
        fake_wecom.add_media(f"media-{msg_id}", voice_clip("v02.amr"))
    asr_api.hold = True
    async with voice_bot(db_url, fake_wecom, asr_api, clock, rules, shutdown_grace_s=0.05) as bot:
        for msg_id in (7301, 7302, 7303):
            await voice_note(bot, wecom, f"media-{msg_id}", msg_id)
        await eventually(lambda: asr_api.uploads)
        await eventually(lambda: _all_queued(sessions, 3))
    asr_api.release()
    busy, *waiting = await voice_jobs(sessions)
    assert (busy.status, busy.attempts) == (ItemStatus.TAKEN, 1)  # taken again after its lease
    assert [(job.status, job.attempts) for job in waiting] == [(ItemStatus.NEW, 0)] * 2
    assert await outbox_sources(sessions) == []
    assert fake_wecom.delivered == []


async def _all_queued(sessions: async_sessionmaker[AsyncSession], count: int) -> bool:
    return len(await voice_jobs(sessions)) == count


async def test_a_job_left_taken_by_a_killed_worker_is_answered_once_after_a_restart(
    db_url: str,
    fake_wecom: FakeWeCom,
    asr_api: FakeTranscriptionApi,
    wecom: WeComCallbacks,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
    book: dict[str, int],
) -> None:
    fake_wecom.add_media("media-7101", voice_clip("v02.amr"))
    fake_wecom.add_media("media-7102", voice_clip("v03.amr"))
    asr_api.hold = True  # the first instance dies while the server is still transcribing
    async with voice_bot(db_url, fake_wecom, asr_api, clock, rules, shutdown_grace_s=0.05) as first:
        tasks = first.instance.client.app[WORKER_TASKS]
        await voice_note(first, wecom, "media-7101", 7101)
        await eventually(lambda: asr_api.uploads)
    (voice_task,) = [task for task in tasks if task.get_name() == "voice-0"]
    await eventually(voice_task.done)
    assert voice_task.cancelled()  # killed mid-job: no finish_job, no fail_job
    (stale,) = await voice_jobs(sessions)
    assert (stale.status, stale.attempts, stale.taken_until) == (
        ItemStatus.TAKEN,
        1,
        clock.now() + LEASE,
    )
    assert fake_wecom.delivered == []
    asr_api.release()

    async with voice_bot(db_url, fake_wecom, asr_api, clock, rules) as second:
        # A note sent after the restart is answered while the stale lease still runs: the new
        # worker passes over the older job instead of doing it twice at once.
        asr_api.text = OTHER_NOTE
        await voice_note(second, wecom, "media-7102", 7102)
        await eventually(fake_wecom.sent_cards)
        asr_api.text = NOTE
        held = await job_row(sessions, stale.id)
        assert (held.status, held.attempts, held.taken_by) == (
            ItemStatus.TAKEN,
            1,
            stale.taken_by,
        )
        clock.advance(seconds=LEASE.total_seconds() + 1)
        await eventually(lambda: len(fake_wecom.sent_cards()) == 2)
        await eventually(lambda: settled(sessions))
    first_job, second_job = await voice_jobs(sessions)
    assert (first_job.status, first_job.attempts, first_job.transcript) == (
        ItemStatus.DONE,
        2,
        NOTE,
    )
    assert (first_job.engine, first_job.model) == ("openai-api", "whisper-1")
    assert (second_job.status, second_job.attempts, second_job.transcript) == (
        ItemStatus.DONE,
        1,
        OTHER_NOTE,
    )
    notes = await followups(sessions)
    assert sorted(str(f.source_message_id) for f in notes) == [
        f"voice:{first_job.message_id}",
        f"voice:{second_job.message_id}",
    ]
    (note,) = [f for f in notes if f.source_message_id == f"voice:{first_job.message_id}"]
    assert (note.customer_id, note.author_id, note.transcript) == (
        book[CUSTOMER],
        book["rep"],
        NOTE,
    )
    assert sorted(map(str, await outbox_sources(sessions))) == [
        f"voice:{first_job.id}",
        f"voice:{second_job.id}",
    ]
    assert [card["main_title"]["title"] for card in fake_wecom.sent_cards()] == [
        f"语音已记录跟进（{OTHER_CUSTOMER}），请确认",
        f"语音已记录跟进（{CUSTOMER}），请确认",  # once: the killed attempt sent nothing
    ]
    assert fake_wecom.sent_cards()[1]["button_list"][0]["key"] == f"确认 {note.id}"
    assert fake_wecom.sent_texts() == []
    # The wire: the held upload and its retry, each a WAV in the OpenAI form.
    upload = asr_api.uploads[0]
    assert (upload.filename, upload.content_type, upload.audio[:4]) == (
        "voice.wav",
        "audio/wav",
        b"RIFF",
    )
    assert (upload.fields["model"], upload.fields["language"]) == ("whisper-1", "zh")
    assert upload.authorization == "Bearer sk-test-voice-jobs"
    assert len(asr_api.uploads) == 3  # 7101 held, 7102, 7101 again


async def test_corrupt_audio_gets_a_clear_answer_and_the_worker_serves_the_next_note(
    db_url: str,
    fake_wecom: FakeWeCom,
    asr_api: FakeTranscriptionApi,
    wecom: WeComCallbacks,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
    book: dict[str, int],
) -> None:
    fake_wecom.add_media("media-7201", b"junk" * 99, "audio/amr")
    fake_wecom.add_media("media-7202", voice_clip("v02.amr"))
    async with voice_bot(db_url, fake_wecom, asr_api, clock, rules) as bot:
        await voice_note(bot, wecom, "media-7201", 7201)
        await voice_note(bot, wecom, "media-7202", 7202)
        await eventually(fake_wecom.sent_cards)
        await eventually(lambda: settled(sessions))
        readiness = await ready(bot)
    assert texts_to(fake_wecom, REP) == [CORRUPT]
    bad, good = await voice_jobs(sessions)
    assert (bad.status, bad.attempts, bad.transcript) == (ItemStatus.DONE, 1, None)
    assert bad.last_error is not None
    assert bad.last_error.startswith("corrupt:")
    assert (good.status, good.transcript) == (ItemStatus.DONE, NOTE)
    (note,) = await followups(sessions)
    assert note.source_message_id == f"voice:{good.message_id}"
    assert len(asr_api.uploads) == 1  # the junk was refused before any upload
    assert (readiness["status"], readiness["checks"]["workers"]) == (200, "ok")


async def test_an_expired_media_id_gets_a_clear_answer_not_a_crash(
    db_url: str,
    fake_wecom: FakeWeCom,
    asr_api: FakeTranscriptionApi,
    wecom: WeComCallbacks,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
    book: dict[str, int],
) -> None:
    """The media id was never added to the fake: media/get answers 40007, as after 3 days."""
    async with voice_bot(db_url, fake_wecom, asr_api, clock, rules) as bot:
        await voice_note(bot, wecom, "media-gone", 7301)
        await eventually(fake_wecom.sent_texts)
        await eventually(lambda: settled(sessions))
        readiness = await ready(bot)
    assert texts_to(fake_wecom, REP) == [EXPIRED]
    assert [call.query["media_id"] for call in fake_wecom.calls("media/get")] == ["media-gone"]
    (job,) = await voice_jobs(sessions)
    assert (job.status, job.attempts, job.last_error) == (ItemStatus.DONE, 1, EXPIRED)
    assert await followups(sessions) == []
    assert asr_api.uploads == []
    assert (readiness["status"], readiness["checks"]["workers"]) == (200, "ok")


async def test_silence_gets_the_not_heard_answer_and_no_followup(
    db_url: str,
    fake_wecom: FakeWeCom,
    asr_api: FakeTranscriptionApi,
    wecom: WeComCallbacks,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
    book: dict[str, int],
) -> None:
    asr_api.text = ""
    fake_wecom.add_media("media-7401", voice_clip("v02.amr"))
    async with voice_bot(db_url, fake_wecom, asr_api, clock, rules) as bot:
        await voice_note(bot, wecom, "media-7401", 7401)
        await eventually(fake_wecom.sent_texts)
        await eventually(lambda: settled(sessions))
    assert texts_to(fake_wecom, REP) == [NOT_HEARD]
    assert fake_wecom.sent_cards() == []
    (job,) = await voice_jobs(sessions)
    assert (job.status, job.transcript, job.engine, job.last_error) == (
        ItemStatus.DONE,
        "",
        "openai-api",
        None,
    )
    assert job.duration_s == pytest.approx(5.81, abs=0.1)
    assert await followups(sessions) == []
    assert len(asr_api.uploads) == 1


# A failing server, stepped by hand: each attempt, lease and retry time is checked exactly.


async def step_until_stored(bot: VoiceBot) -> None:
    while await bot.instance.runtime.inbox_worker.step():
        pass


async def job_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as db:
        return int(await db.scalar(select(func.count()).select_from(VoiceJob)) or 0)


async def test_a_failing_server_never_shows_the_rep_its_error(
    db_url: str,
    fake_wecom: FakeWeCom,
    asr_api: FakeTranscriptionApi,
    wecom: WeComCallbacks,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
    book: dict[str, int],
) -> None:
    """Whether the job is answered at once or retried until dead, the rep gets one plain answer
    and the operator finds the server's error on the row."""
    asr_api.status = 500
    fake_wecom.add_media("media-7501", voice_clip("v02.amr"))
    async with voice_bot(db_url, fake_wecom, asr_api, clock, rules, workers=False) as bot:
        (voice_step,) = voice_steps(bot.instance.runtime, bot.transcriber).values()
        await voice_note(bot, wecom, "media-7501", 7501)
        await step_until_stored(bot)
        assert await job_count(sessions) == 1
        for _ in range(5):  # max_attempts is 3: the job ends well within 5 rounds
            assert await voice_step()
            (job,) = await voice_jobs(sessions)
            if job.status != ItemStatus.TAKEN:
                break
            clock.advance(minutes=5)
        await bot.instance.runtime.outbox_sender.send_due()
    assert job.status in (ItemStatus.DONE, ItemStatus.DEAD)
    assert job.last_error is not None
    assert "HTTP 500" in job.last_error
    (answer,) = texts_to(fake_wecom, REP)
    assert [leak for leak in LEAKS if leak in answer] == []
    assert SERVER_CRASH not in answer
    assert await followups(sessions) == []


async def test_a_failing_server_is_retried_then_dead_with_an_apology_and_a_reference(
    db_url: str,
    fake_wecom: FakeWeCom,
    asr_api: FakeTranscriptionApi,
    wecom: WeComCallbacks,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
    book: dict[str, int],
) -> None:
    asr_api.status = 500
    fake_wecom.add_media("media-7601", voice_clip("v02.amr"))
    async with voice_bot(db_url, fake_wecom, asr_api, clock, rules, workers=False) as bot:
        (voice_step,) = voice_steps(bot.instance.runtime, bot.transcriber).values()
        sender = bot.instance.runtime.outbox_sender
        await voice_note(bot, wecom, "media-7601", 7601)
        await step_until_stored(bot)
        for attempt in (1, 2):
            assert await voice_step()
            (job,) = await voice_jobs(sessions)
            retry_at = clock.now() + timedelta(seconds=30 * attempt)
            assert (job.status, job.attempts, job.taken_until) == (
                ItemStatus.TAKEN,
                attempt,
                retry_at,
            )
            assert "HTTP 500" in (job.last_error or "")
            await sender.send_due()
            assert fake_wecom.delivered == []  # nothing for the rep while it is being retried
            assert not await voice_step()  # not before retry_at
            clock.current = retry_at + timedelta(seconds=1)
        assert await voice_step()
        await sender.send_due()
    (job,) = await voice_jobs(sessions)
    assert (job.status, job.attempts, job.taken_until) == (ItemStatus.DEAD, 3, None)
    assert texts_to(fake_wecom, REP) == [APOLOGY.format(ref=job.id)]
    assert f"VJ-{job.id}" in APOLOGY.format(ref=job.id)
    assert len(asr_api.uploads) == 3
    assert await followups(sessions) == []
