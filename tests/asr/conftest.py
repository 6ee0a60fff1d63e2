"""ASR fixtures: the voice dev set, an espeak-ng clip maker, one started model per session."""

import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
from pytest_asyncio import is_async_test

from bot.asr.audio import to_wav_bytes
from bot.asr.local import LocalTranscriber

REPO = Path(__file__).resolve().parents[2]
VOICE_DIR = Path(os.environ.get("SALESBOT_SHARED_DIR", REPO.parent / "shared")) / "data" / "voice"
TEST_MAX_AUDIO_S = 60.0
SESSION_LOOP_FIXTURES = {"faster_whisper"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests of the session's started model run on the session's event loop, where it lives."""
    for item in items:
        if is_async_test(item) and SESSION_LOOP_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.asyncio(loop_scope="session"), append=False)


@pytest.fixture(scope="session")
def voice_dev() -> dict[str, Any]:
    """shared/data/voice/voice_dev.json; missing data is a failure, never a skip."""
    index = VOICE_DIR / "voice_dev.json"
    if not index.is_file():
        pytest.fail(f"voice dev set not found at {index} (set SALESBOT_SHARED_DIR)")
    data: dict[str, Any] = json.loads(index.read_text(encoding="utf-8"))
    return data


def voice_clip(name: str) -> bytes:
    return (VOICE_DIR / name).read_bytes()


@pytest.fixture(scope="session")
def speak_english(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], bytes]:
    """Text → WAV bytes with espeak-ng, as the English dev clips were made."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.fail("espeak-ng is not installed: apt-get install -y espeak-ng")
    out_dir = tmp_path_factory.mktemp("espeak")

    def speak(text: str) -> bytes:
        wav = out_dir / f"clip{len(list(out_dir.iterdir()))}.wav"
        subprocess.run([espeak, "-v", "en-us", "-w", str(wav), text], check=True)
        return wav.read_bytes()

    return speak


def noise_wav(seconds: float, *, seed: int = 7, level: float = 0.1) -> bytes:
    rng = np.random.default_rng(seed)
    return to_wav_bytes((rng.standard_normal(int(seconds * 16_000)) * level).astype(np.float32))


@pytest.fixture(scope="session")
def asr_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the session: the bundled model is assembled once, as in production."""
    return tmp_path_factory.mktemp("asr-cache")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def faster_whisper(asr_cache_dir: Path) -> AsyncIterator[LocalTranscriber]:
    """The default engine, started once: its worker process loads the model a single time."""
    transcriber = LocalTranscriber(
        "faster-whisper",
        model="base",
        language="zh",
        max_audio_s=TEST_MAX_AUDIO_S,
        cache_dir=asr_cache_dir,
    )
    await transcriber.start()
    yield transcriber
    await transcriber.close()
