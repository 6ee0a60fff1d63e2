"""openai-whisper on real weights: the bundled CTranslate2 base model, converted by our converter.

Its official checkpoints cannot be downloaded here, so these tests convert model.bin (CTranslate2,
float16) into an openai-whisper checkpoint and run the engine's real load and decode path on it.
"""

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import whisper

from bot.asr.ct2_to_openai import ensure_openai_checkpoint
from bot.asr.local import LocalTranscriber

pytestmark = pytest.mark.slow  # converts and loads a Whisper model

BASE_DIMS = {
    "n_mels": 80,
    "n_audio_ctx": 1500,
    "n_audio_state": 512,
    "n_audio_head": 8,
    "n_audio_layer": 6,
    "n_vocab": 51865,
    "n_text_ctx": 448,
    "n_text_state": 512,
    "n_text_head": 8,
    "n_text_layer": 6,
}


def test_bundled_weights_convert_to_a_checkpoint_whisper_load_model_accepts(
    asr_cache_dir: Path,
) -> None:
    checkpoint = ensure_openai_checkpoint(asr_cache_dir)
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
    assert saved["dims"] == BASE_DIMS
    reference = whisper.model.Whisper(whisper.model.ModelDimensions(**BASE_DIMS)).state_dict()
    assert {name: tuple(t.shape) for name, t in saved["model_state_dict"].items()} == {
        name: tuple(t.shape) for name, t in reference.items()
    }
    model = whisper.load_model(str(checkpoint), device="cpu")
    assert model.is_multilingual


async def test_openai_whisper_engine_transcribes_english_on_the_converted_weights(
    asr_cache_dir: Path, speak_english: Callable[[str], bytes]
) -> None:
    clip = speak_english("We agreed to send the contract draft on Friday. Call me next Tuesday.")
    transcriber = LocalTranscriber(
        "openai-whisper",
        model="base",
        language="en",
        max_audio_s=60,
        beam_size=1,  # greedy keeps the suite quick; the bench measures beam 5 too
        cache_dir=asr_cache_dir,
    )
    await transcriber.start()
    try:
        transcript = await transcriber.transcribe(clip, fmt="wav", prompt_words=[])
    finally:
        await transcriber.close()
    words = transcript.text.lower()
    assert transcript.engine == "openai-whisper"
    assert {"contract", "friday", "tuesday"} <= set(words.replace(".", " ").split())
