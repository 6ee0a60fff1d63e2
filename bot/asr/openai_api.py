"""The openai-api engine: an OpenAI-compatible /v1/audio/transcriptions server on the network."""

import asyncio
import time
from collections.abc import Sequence

import aiohttp
import numpy as np
import numpy.typing as npt

from bot.asr.audio import decode_to_pcm16k, duration_s, to_wav_bytes
from bot.asr.errors import AsrUnavailable, ModelError
from bot.asr.model_files import BUNDLED_NAMES
from bot.asr.prompt import build_prompt, to_simplified
from bot.asr.transcript import Transcript

DEFAULT_API_MODEL = "whisper-1"  # what OpenAI-compatible servers answer to by default
TIMEOUT_BASE_S = 30.0


def transcriptions_url(base_url: str) -> str:
    """Accepts http://host:port, …/v1 or the full endpoint, as OpenAI clients do."""
    url = base_url.rstrip("/")
    if url.endswith("/audio/transcriptions"):
        return url
    if not url.endswith("/v1"):
        url += "/v1"
    return f"{url}/audio/transcriptions"


def _prepare(
    audio: bytes, fmt: str | None, max_s: float, words: Sequence[str]
) -> tuple[npt.NDArray[np.float32], bytes, str]:
    # Decoding here refuses bad audio before the upload, and WAV is a format every server reads.
    pcm = decode_to_pcm16k(audio, max_s=max_s, fmt=fmt)
    return pcm, to_wav_bytes(pcm), build_prompt(words, ())


class OpenAIApiTranscriber:
    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        model: str,
        language: str,
        max_audio_s: float,
        http: aiohttp.ClientSession | None = None,
    ) -> None:
        if not base_url:
            raise ModelError("SALESBOT_ASR_ENGINE=openai-api needs SALESBOT_ASR_BASE_URL")
        self.url, self.api_key = transcriptions_url(base_url), api_key
        self.model = DEFAULT_API_MODEL if model.strip().lower() in BUNDLED_NAMES else model.strip()
        self.language = None if language.strip().lower() in ("", "auto") else language.strip()
        self.max_audio_s = max_audio_s
        self._http, self._owns_http = http, http is None
        self._timeout = aiohttp.ClientTimeout(total=TIMEOUT_BASE_S + max_audio_s)

    async def start(self) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=self._timeout)

    async def transcribe(
        self,
        audio: bytes,
        *,
        fmt: str | None,
        prompt_words: Sequence[str],
        recognition: str | None = None,
    ) -> Transcript:
        if self._http is None:
            raise AsrUnavailable("openai-api transcriber is not started: call start() first")
        started = time.monotonic()
        pcm, wav, prompt = await asyncio.to_thread(
            _prepare, audio, fmt, self.max_audio_s, prompt_words
        )
        decoded = time.monotonic()
        form = aiohttp.FormData()
        form.add_field("file", wav, filename="voice.wav", content_type="audio/wav")
        form.add_field("model", self.model)
        form.add_field("response_format", "json")
        if self.language:
            form.add_field("language", self.language)
        if prompt:
            form.add_field("prompt", prompt)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            async with self._http.post(
                self.url, data=form, headers=headers, timeout=self._timeout
            ) as response:
                if response.status >= 400:
                    body = (await response.text())[:200]
                    raise AsrUnavailable(f"{self.url} answered HTTP {response.status}: {body}")
                payload = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise AsrUnavailable(f"{self.url} failed: {type(err).__name__}: {err}") from err
        if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
            raise AsrUnavailable(f"{self.url} answered without a text field: {payload!r:.200}")
        text = await asyncio.to_thread(to_simplified, payload["text"])
        return Transcript(
            text=text,
            language=str(payload.get("language") or self.language or ""),
            duration_s=round(duration_s(pcm), 3),
            engine="openai-api",
            model=self.model,
            timings={"decode_s": decoded - started, "transcribe_s": time.monotonic() - decoded},
            no_speech=not text,
        )

    async def close(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.close()
            self._http = None
