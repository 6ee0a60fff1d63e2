"""Engine choice: the OpenAI-compatible endpoint, the platform's text, and voice switched off."""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import ValidationError

from bot.asr import AsrUnavailable, AudioError, Transcript, build_transcriber
from bot.asr.decoding import EngineSpec, beam_for
from bot.asr.local import LocalTranscriber
from bot.asr.openai_api import OpenAIApiTranscriber, transcriptions_url
from bot.asr.platform_text import PlatformTranscriber
from bot.serve import transcriber_from_settings
from config.settings import Settings
from tests.asr.conftest import voice_clip


@dataclass
class FakeWhisperServer:
    """An OpenAI-compatible /v1/audio/transcriptions on localhost that records each form."""

    answer_text: str = "華東醫療張總說預算批了,明天下午三點電話確認採購數量。"
    status: int = 200
    forms: list[dict[str, str]] = field(default_factory=list)  # the text fields
    files: list[tuple[str, str | None, bytes]] = field(default_factory=list)  # name, type, body
    headers: list[dict[str, str]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        form: dict[str, str] = {}
        async for part in await request.multipart():
            assert isinstance(part, aiohttp.BodyPartReader)
            if part.name == "file":
                body = bytes(await part.read())
                self.files.append((part.filename or "", part.headers.get("Content-Type"), body))
            else:
                form[part.name or ""] = await part.text()
        self.forms.append(form)
        self.headers.append(dict(request.headers))
        if self.status != 200:
            return web.json_response({"error": {"message": "model overloaded"}}, status=500)
        return web.json_response({"text": self.answer_text})


@pytest.fixture
async def fake_server() -> AsyncIterator[tuple[FakeWhisperServer, str]]:
    fake = FakeWhisperServer()
    app = web.Application()
    app.router.add_post("/v1/audio/transcriptions", fake.handle)
    async with TestServer(app, host="127.0.0.1", port=0) as server:
        yield fake, str(server.make_url("")).rstrip("/")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def api_transcriber(
    base_url: str, http: aiohttp.ClientSession, **kwargs: object
) -> OpenAIApiTranscriber:
    transcriber = build_transcriber(
        "openai-api",
        model=str(kwargs.get("model", "base")),
        language=str(kwargs.get("language", "zh")),
        max_audio_s=60,
        base_url=base_url,
        api_key="sk-test-123",
        http=http,
    )
    assert isinstance(transcriber, OpenAIApiTranscriber)
    return transcriber


async def test_openai_api_engine_posts_wav_model_language_and_prompt_as_a_form(
    fake_server: tuple[FakeWhisperServer, str], http: aiohttp.ClientSession
) -> None:
    fake, base_url = fake_server
    transcriber = api_transcriber(base_url, http)
    await transcriber.start()
    transcript = await transcriber.transcribe(
        voice_clip("v02.amr"), fmt="amr", prompt_words=["华东医疗器械有限公司", "华东医疗"]
    )
    await transcriber.close()
    [form] = fake.forms
    [(filename, content_type, wav)] = fake.files
    assert (filename, content_type, wav[:4]) == ("voice.wav", "audio/wav", b"RIFF")
    assert (form["model"], form["language"]) == ("whisper-1", "zh")
    assert "华东医疗器械有限公司、华东医疗" in form["prompt"]
    assert fake.headers[0]["Authorization"] == "Bearer sk-test-123"
    assert transcript.text == "华东医疗张总说预算批了，明天下午三点电话确认采购数量。"
    assert (transcript.engine, transcript.model) == ("openai-api", "whisper-1")
    assert transcript.duration_s == pytest.approx(5.81, abs=0.1)


async def test_auto_language_is_left_for_the_server_to_detect(
    fake_server: tuple[FakeWhisperServer, str], http: aiohttp.ClientSession
) -> None:
    fake, base_url = fake_server
    transcriber = api_transcriber(base_url + "/v1", http, language="auto", model="sensevoice")
    await transcriber.transcribe(voice_clip("v15.amr"), fmt="amr", prompt_words=[])
    assert "language" not in fake.forms[0]
    assert fake.forms[0]["model"] == "sensevoice"


async def test_a_failing_endpoint_is_asr_unavailable(
    fake_server: tuple[FakeWhisperServer, str], http: aiohttp.ClientSession
) -> None:
    fake, base_url = fake_server
    fake.status = 500
    with pytest.raises(AsrUnavailable, match="HTTP 500"):
        await api_transcriber(base_url, http).transcribe(
            voice_clip("v03.amr"), fmt="amr", prompt_words=[]
        )


async def test_corrupt_audio_is_refused_before_anything_is_uploaded(
    fake_server: tuple[FakeWhisperServer, str], http: aiohttp.ClientSession
) -> None:
    fake, base_url = fake_server
    with pytest.raises(AudioError):
        await api_transcriber(base_url, http).transcribe(b"junk" * 99, fmt="amr", prompt_words=[])
    assert fake.forms == []
    assert fake.files == []


def test_base_urls_are_accepted_with_or_without_v1() -> None:
    expected = "http://asr.internal:8000/v1/audio/transcriptions"
    assert transcriptions_url("http://asr.internal:8000") == expected
    assert transcriptions_url("http://asr.internal:8000/v1/") == expected
    assert transcriptions_url(expected) == expected


def test_openai_api_without_a_base_url_is_a_start_up_error() -> None:
    with pytest.raises(AsrUnavailable, match="SALESBOT_ASR_BASE_URL"):
        build_transcriber(
            "openai-api", model="base", language="zh", max_audio_s=60, base_url=None, api_key=None
        )


@dataclass
class RecordingTranscriber:
    """A stand-in local engine that answers a fixed text and remembers it was asked."""

    calls: list[bytes] = field(default_factory=list)
    started: bool = False

    async def start(self) -> None:
        self.started = True

    async def transcribe(
        self,
        audio: bytes,
        *,
        fmt: str | None,
        prompt_words: Sequence[str],
        recognition: str | None = None,
    ) -> Transcript:
        self.calls.append(audio)
        return Transcript("本地识别", "zh", 1.0, "faster-whisper", "base")

    async def close(self) -> None:
        self.started = False


async def test_platform_engine_uses_the_recognition_text_the_platform_sent() -> None:
    local = RecordingTranscriber()
    transcriber = PlatformTranscriber(local)
    await transcriber.start()
    transcript = await transcriber.transcribe(
        voice_clip("v07.amr"), fmt="amr", prompt_words=[], recognition="雲圖教育簽了合同"
    )
    assert (transcript.text, transcript.engine) == ("云图教育签了合同", "platform")
    assert transcript.duration_s == pytest.approx(5.71, abs=0.3)
    assert local.started
    assert local.calls == []


@pytest.mark.parametrize("recognition", [None, "", "  "])
async def test_platform_engine_falls_back_to_the_local_engine_without_text(
    recognition: str | None,
) -> None:
    local = RecordingTranscriber()
    transcript = await PlatformTranscriber(local).transcribe(
        b"audio", fmt="amr", prompt_words=[], recognition=recognition
    )
    assert transcript.text == "本地识别"
    assert local.calls == [b"audio"]


async def test_none_engine_answers_that_voice_is_off() -> None:
    transcriber = build_transcriber(
        "none", model="", language="zh", max_audio_s=300, base_url=None, api_key=None
    )
    await transcriber.start()
    with pytest.raises(AsrUnavailable) as caught:
        await transcriber.transcribe(voice_clip("v01.amr"), fmt="amr", prompt_words=[])
    assert "语音识别没有开启" in caught.value.problem
    await transcriber.close()


@pytest.mark.parametrize("engine", ["faster-whisper", "openai-whisper", "platform"])
def test_local_engines_are_built_without_loading_anything_yet(engine: str) -> None:
    transcriber = build_transcriber(
        engine, model="base", language="zh", max_audio_s=300, base_url=None, api_key=None
    )
    assert callable(transcriber.start)


def test_an_unknown_engine_name_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="faster-whisper, openai-whisper, openai-api"):
        build_transcriber(
            "whisper.cpp", model="", language="zh", max_audio_s=300, base_url=None, api_key=None
        )


def test_long_notes_are_decoded_greedily_and_short_ones_with_the_beam() -> None:
    spec = EngineSpec("faster-whisper", "base", beam_size=5, greedy_over_s=15.0)
    assert beam_for(spec, 8 * 16_000) == 5  # a typical voice note keeps the beam
    assert beam_for(spec, 15 * 16_000) == 5
    assert beam_for(spec, 30 * 16_000) == 1  # a long one is answered within ~3 s
    never = EngineSpec("faster-whisper", "base", beam_size=5, greedy_over_s=None)
    assert beam_for(never, 300 * 16_000) == 5
    always = EngineSpec("faster-whisper", "base", beam_size=5, greedy_over_s=0.0)
    assert beam_for(always, 16_000) == 1


def test_decoding_settings_reach_the_local_engine() -> None:
    settings = Settings(
        asr_beam_size=3, asr_greedy_over_s=40, asr_compute_type="float32", cache_dir="/srv/asr"
    )
    transcriber = transcriber_from_settings(settings)
    assert isinstance(transcriber, LocalTranscriber)
    assert (transcriber.beam_size, transcriber.greedy_over_s) == (3, 40)
    assert (transcriber.compute_type, str(transcriber.cache_dir)) == ("float32", "/srv/asr")


def test_a_beam_outside_one_to_ten_is_a_settings_error() -> None:
    with pytest.raises(ValidationError, match="asr_beam_size"):
        Settings(asr_beam_size=0)
