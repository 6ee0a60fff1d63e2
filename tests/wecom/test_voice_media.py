"""GET /media/voice/<id>: a kept recording played back in a browser format, to whoever may see
its customer, through a signed link; purged after its retention time, the transcript kept."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.asr.audio import decode_to_pcm16k
from bot.asr.playback import PLAYBACK_TYPE, to_playback
from bot.jobs import run_job
from bot.media import voice_link
from bot.web.auth import SESSION_COOKIE
from config.rules import Rules
from handlers.chat import Card, Event, Platform, message_as_text
from handlers.clock import FrozenClock
from handlers.context import Context
from handlers.router import dispatch
from handlers.voice import Recording, log_voice_note
from handlers.voice_media import purge_recordings
from storage.board_auth import open_session
from storage.models import Customer, Followup, Role, Team, User, VoiceRecording
from storage.voice_recordings import keep_recording, recording_of
from tests.fakes.wecom import FakeWeCom
from tests.wecom.support import Instance, salesbot

REPO = Path(__file__).resolve().parents[2]
CLIP = Path(os.environ.get("SALESBOT_SHARED_DIR", REPO.parent / "shared")) / "data/voice/v08.amr"
TRANSCRIPT = "宏达回款八万已经到账。"


@dataclass
class Seeded:
    users: dict[str, int]
    recording_id: int
    followup_id: int


async def seed(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> Seeded:
    """华东 (陈静 managing 王磊), 华南 (周敏), director 赵强, 离职 (inactive, was 华东);
    王磊's customer 佛山宏达建材 with one voice follow-up and its recording."""
    now = clock.now()
    users: dict[str, int] = {}
    audio = CLIP.read_bytes()
    async with sessions() as db, db.begin():
        east, south = Team(name="华东", created_at=now), Team(name="华南", created_at=now)
        db.add_all([east, south])
        await db.flush()
        people = [
            ("赵强", Role.DIRECTOR, None, None, True),
            ("陈静", Role.MANAGER, east.id, None, True),
            ("王磊", Role.REP, east.id, "陈静", True),
            ("周敏", Role.REP, south.id, None, True),
            ("离职", Role.MANAGER, east.id, None, False),
        ]
        for name, role, team_id, manager, active in people:
            user = User(
                name=name,
                role=role,
                team_id=team_id,
                manager_id=users.get(manager or ""),
                wecom_userid=f"wx_{len(users)}",
                active=active,
                created_at=now,
            )
            db.add(user)
            await db.flush()
            users[name] = user.id
        customer = Customer(
            name="佛山宏达建材",
            aliases=["宏达"],
            owner_id=users["王磊"],
            stage="谈判",
            stage_entered_at=now,
            created_at=now,
        )
        db.add(customer)
        await db.flush()
        followup = Followup(
            customer_id=customer.id,
            author_id=users["王磊"],
            created_at=now,
            source="voice",
            raw_text=TRANSCRIPT,
            transcript=TRANSCRIPT,
        )
        db.add(followup)
        await db.flush()
        recording = await keep_recording(
            db,
            followup,
            audio=audio,
            media_format="amr",
            playback=to_playback(audio, fmt="amr", max_s=60),
            playback_type=PLAYBACK_TYPE,
            duration_s=2.29,
            now=now,
        )
        return Seeded(users, recording.id, followup.id)


@pytest.fixture
async def bot(
    db_url: str, fake_wecom: FakeWeCom, clock: FrozenClock, rules: Rules
) -> AsyncIterator[Instance]:
    async with salesbot(db_url, fake_wecom, clock, rules, workers=False) as instance:
        yield instance


async def get(bot: Instance, path: str) -> tuple[int, str, bytes]:
    async with bot.client.get(path) as resp:
        return resp.status, resp.content_type, await resp.read()


async def test_the_rep_their_manager_and_the_director_hear_it_another_team_does_not(
    bot: Instance, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    seeded = await seed(sessions, clock)
    for name in ("王磊", "陈静", "赵强"):
        status, content_type, body = await get(
            bot, voice_link(bot.runtime, seeded.recording_id, seeded.users[name])
        )
        assert (status, content_type) == (200, "audio/ogg"), name
        assert body[:4] == b"OggS"
        seconds = len(decode_to_pcm16k(body, max_s=60, fmt="ogg")) / 16_000
        assert seconds == pytest.approx(2.29, abs=0.1)  # the whole note, playable
    for name in ("周敏", "离职"):  # another team's rep; a manager who has left
        status, _, body = await get(
            bot, voice_link(bot.runtime, seeded.recording_id, seeded.users[name])
        )
        assert status == 403, name
        assert b"OggS" not in body


async def test_a_link_is_only_good_for_its_recording_its_user_and_its_time(
    bot: Instance, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    seeded = await seed(sessions, clock)
    link = voice_link(bot.runtime, seeded.recording_id, seeded.users["王磊"])
    path, query = urlsplit(link).path, parse_qs(urlsplit(link).query)
    u, exp, sig = query["u"][0], query["exp"][0], query["sig"][0]
    other = seeded.users["周敏"]
    forged = {
        "no signature": path,
        "another user": f"{path}?u={other}&exp={exp}&sig={sig}",
        "later expiry": f"{path}?u={u}&exp={int(exp) + 3600}&sig={sig}",
        "bad signature": f"{path}?u={u}&exp={exp}&sig={'0' * 64}",
        "another recording": f"/media/voice/{seeded.recording_id + 1}?u={u}&exp={exp}&sig={sig}",
    }
    for why, forged_path in forged.items():
        assert (await get(bot, forged_path))[0] == 403, why
    assert (await get(bot, link))[0] == 200
    clock.advance(seconds=bot.runtime.settings.media_link_ttl_s + 1)
    assert (await get(bot, link))[0] == 403  # expired
    fresh = voice_link(bot.runtime, seeded.recording_id + 99, seeded.users["王磊"])
    assert (await get(bot, fresh))[0] == 404  # signed, but no such recording
    assert (await get(bot, "/media/voice/abc"))[0] == 404


async def test_after_its_retention_the_recording_is_purged_and_the_transcript_stays(
    bot: Instance, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, rules: Rules
) -> None:
    seeded = await seed(sessions, clock)
    ctx = Context(clock=clock, rules=rules, tz=bot.runtime.settings.tz, voice_retention_days=180)

    async def enqueue(*_: object, **__: object) -> None:
        return None

    clock.advance(days=179)
    lines = await run_job(
        "voice_purge", sessions=sessions, ctx=ctx, now=clock.now(), enqueue=enqueue
    )
    assert lines == ["raised 0"]  # not yet
    assert (await get(bot, voice_link(bot.runtime, seeded.recording_id, seeded.users["王磊"])))[
        0
    ] == 200
    clock.advance(days=2)
    lines = await run_job(
        "voice_purge", sessions=sessions, ctx=ctx, now=clock.now(), enqueue=enqueue
    )
    assert lines == ["- | voice_purge | 1 recordings | purged", "raised 1"]
    status, _, body = await get(
        bot, voice_link(bot.runtime, seeded.recording_id, seeded.users["王磊"])
    )
    assert status == 410
    assert "已过保留期" in body.decode()
    async with sessions() as db:
        recording = await db.get_one(VoiceRecording, seeded.recording_id)
        followup = await db.get_one(Followup, seeded.followup_id)
    assert (recording.audio, recording.playback) == (None, None)
    assert recording.purged_at == clock.now()
    assert followup.transcript == TRANSCRIPT  # the words stay
    async with sessions() as db, db.begin():
        assert await purge_recordings(db, now=clock.now(), keep_days=1) == 0  # once only


async def test_retention_days_come_from_the_settings(
    db_url: str, fake_wecom: FakeWeCom, clock: FrozenClock, rules: Rules
) -> None:
    async with salesbot(
        db_url, fake_wecom, clock, rules, workers=False, voice_retention_days=30
    ) as instance:
        assert instance.runtime.ctx.voice_retention_days == 30
        seeded = await seed(instance.runtime.sessions, clock)
        clock.advance(days=31)

        async def enqueue(*_: object, **__: object) -> None:
            return None

        runtime = instance.runtime
        await run_job(
            "voice_purge",
            sessions=runtime.sessions,
            ctx=runtime.ctx,
            now=clock.now(),
            enqueue=enqueue,
        )
        async with runtime.sessions() as db:
            purged = await db.execute(
                select(VoiceRecording.purged_at).where(VoiceRecording.id == seeded.recording_id)
            )
        assert purged.scalar_one() == clock.now()


async def test_a_voice_note_taken_back_with_undo_takes_its_recording_with_it(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, rules: Rules
) -> None:
    """log_voice_note keeps the recording; 撤销 deletes the follow-up and the recording."""
    seeded = await seed(sessions, clock)
    ctx = Context(clock=clock, rules=rules, tz=ZoneInfo("Asia/Shanghai"))
    audio = CLIP.read_bytes()
    async with sessions() as db, db.begin():
        rep = await db.get_one(User, seeded.users["王磊"])
        (card,) = await log_voice_note(
            db,
            ctx,
            user=rep,
            transcript="宏达回款八万已经到帐",
            message_id="m-undo",
            asr={"engine": "test"},
            recording=Recording(audio, "amr", None, None, 2.29),
        )
    assert isinstance(card, Card)
    followup_id = int(card.card_id.removeprefix("voice-"))
    async with sessions() as db:
        kept = await recording_of(db, followup_id)
    assert kept is not None
    assert kept.audio == audio
    event = Event(
        platform=Platform.WECOM,
        message_id="m-undo-2",
        sender="wx_2",
        received_at=clock.now(),
        text="撤销",
    )
    async with sessions() as db, db.begin():
        answer = await dispatch(event, db, ctx)
    assert "撤销" in message_as_text(answer[0])
    async with sessions() as db:
        assert await db.get(Followup, followup_id) is None
        assert await recording_of(db, followup_id) is None
        assert await db.get(VoiceRecording, seeded.recording_id) is not None  # the other stays


async def test_a_board_session_opens_it_for_whoever_may_see_the_customer(
    bot: Instance, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    seeded = await seed(sessions, clock)
    async with sessions() as db, db.begin():
        manager = await open_session(db, seeded.users["陈静"], now=clock.now(), via="link")
        other = await open_session(db, seeded.users["周敏"], now=clock.now(), via="link")
    path = f"/media/voice/{seeded.recording_id}"
    for token, status in ((manager, 200), (other, 403), ("not-a-session", 403)):
        async with bot.client.get(path, cookies={SESSION_COOKIE: token}) as resp:
            assert resp.status == status, token
            if status == 200:
                assert resp.content_type == "audio/ogg"
