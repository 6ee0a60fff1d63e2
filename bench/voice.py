"""Bench the whole voice path: audio → transcript (default engine) → structured follow-up log.

Usage: python bench/voice.py [PATH] [--beam N] [--compute-type T] [--engine E] [--full-window]
                             [--snr DB ...] [--no-noise] [--seed N]
PATH is a set in the format of voice_dev.json (default: $SALESBOT_SHARED_DIR/data/voice/
voice_dev.json, else ../shared/data/voice/voice_dev.json beside the repo); its clips are read
from the same folder. The engine, model, language, beam and precision are the production
settings (SALESBOT_ASR_*), so this measures what `salesbot serve` would do; the flags override.

Each transcript is repaired by sound (handlers/extraction/repair.py) before it is read, as the
voice path does. Then the same clips are run again mixed with road-like noise at each --snr
(default 10 and 5 dB; bench/noise.py, seeded): the noisy twin.

Per clip it prints what was heard, the repair and the fields. The last line is one JSON object:
the share of clips with each field right (`overall`: all of them), `cer` (Chinese clips:
character error rate of the repaired transcript, both texts made simplified and stripped of
punctuation and spaces), `cer_raw` (the transcript as heard), `rtf` (transcription wall time
over audio duration), `asr_s` (median seconds per clip), and per SNR `noisy_<N>db` with the
same figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from noise import clip_seed, mix_at_snr, wav_bytes  # noqa: E402
from rapidfuzz.distance import Levenshtein  # noqa: E402
from scoring import TZ, describe, scores, shared_data  # noqa: E402

from bot.asr import Transcriber  # noqa: E402
from bot.asr.audio import decode_to_pcm16k  # noqa: E402
from bot.asr.prompt import to_simplified  # noqa: E402
from bot.serve import transcriber_from_settings  # noqa: E402
from config.rules import load_rules  # noqa: E402
from config.settings import Settings  # noqa: E402
from handlers.extraction import CustomerRef, extract_note, warm_up  # noqa: E402
from handlers.extraction.repair import customer_words, repair_transcript  # noqa: E402

FIELDS = ("customer", "due_date", "action", "commitment", "stage", "amount")
DEFAULT_SNRS = (10.0, 5.0)
NOISE_SEED = 20
SHOWN_ONLY = ("due_time", "contact")  # printed per clip, not in the summary line
_NOT_CER = re.compile(r"[\W_]+", re.UNICODE)  # punctuation, spaces and symbols
_CJK = re.compile(r"[\u4e00-\u9fff]")


def cer_text(text: str) -> str:
    return _NOT_CER.sub("", to_simplified(text)).casefold()


def is_chinese(item: dict[str, Any]) -> bool:
    lang = item.get("lang")
    return lang == "zh" if lang else bool(_CJK.search(item["text"]))


def media_format(path: Path) -> str | None:
    """What the platform would say: WeCom voice is AMR; other files name their container."""
    return path.suffix.lstrip(".").lower() or None


Clip = tuple[bytes, str | None]  # audio, format


def clean_clips(items: list[dict[str, Any]], folder: Path) -> list[Clip]:
    return [((folder / it["file"]).read_bytes(), media_format(folder / it["file"])) for it in items]


def noisy_clips(
    clips: list[Clip], items: list[dict[str, Any]], snr: float, seed: int
) -> list[Clip]:
    """The noisy twin: each clip decoded, mixed with its own seeded road noise, as WAV."""
    twin = []
    for (audio, fmt), item in zip(clips, items, strict=True):
        pcm = decode_to_pcm16k(audio, max_s=600, fmt=fmt)
        twin.append((wav_bytes(mix_at_snr(pcm, snr, seed=clip_seed(seed, item["id"], snr))), "wav"))
    return twin


async def transcribe_all(
    transcriber: Transcriber, clips: list[Clip], words: list[str]
) -> list[tuple[str, float]]:
    """(transcript, wall seconds) per clip, one at a time as a single voice worker takes them."""
    results = []
    for audio, fmt in clips:
        started = time.perf_counter()
        transcript = await transcriber.transcribe(audio, fmt=fmt, prompt_words=words)
        results.append((transcript.text, time.perf_counter() - started))
    return results


async def run_asr(
    settings: Settings, runs: list[list[Clip]], words: list[str]
) -> tuple[list[list[tuple[str, float]]], float]:
    transcriber = transcriber_from_settings(settings)
    started = time.perf_counter()
    await transcriber.start()
    start_s = time.perf_counter() - started
    try:
        await transcribe_all(transcriber, runs[0][:1], words)  # warm-up, not timed
        return [await transcribe_all(transcriber, clips, words) for clips in runs], start_s
    finally:
        await transcriber.close()


def score_run(
    label: str,
    items: list[dict[str, Any]],
    transcripts: list[tuple[str, float]],
    customers: list[CustomerRef],
    stages: tuple[str, ...],
    lexicon: tuple[str, ...],
) -> dict[str, float]:
    trusted = customer_words(customers)
    right, asked = dict.fromkeys(FIELDS, 0), dict.fromkeys(FIELDS, 0)
    all_right = edits = raw_edits = ref_chars = 0
    wall = audio_s = 0.0
    times = []
    print(f"--- {label}")
    for item, (heard, seconds) in zip(items, transcripts, strict=True):
        text = repair_transcript(heard, lexicon, trusted=trusted).text
        extraction = extract_note(
            text,
            now=datetime.fromisoformat(item["now"]),
            tz=TZ,
            customers=customers,
            stages=stages,
        )
        marks = scores(extraction, item["expect"])
        for field in FIELDS:
            if field in marks:
                asked[field] += 1
                right[field] += marks[field]
        all_right += all(marks.get(field, True) for field in FIELDS)
        wall, audio_s = wall + seconds, audio_s + item["duration_s"]
        times.append(seconds)
        line = f"{item['id']} {item['duration_s']:.1f} s audio, {seconds:.2f} s"
        if is_chinese(item):
            ref = cer_text(item["text"])
            clip_edits = Levenshtein.distance(ref, cer_text(text))
            raw_edits += Levenshtein.distance(ref, cer_text(heard))
            edits, ref_chars = edits + clip_edits, ref_chars + len(ref)
            line += f", CER {clip_edits / max(1, len(ref)):.3f}"
        misses = [f for f in (*FIELDS, *SHOWN_ONLY) if f in marks and not marks[f]]
        print(line + (f", wrong: {','.join(misses)}" if misses else ", all fields right"))
        print(f"    said  {item['text']}")
        print(f"    heard {heard}")
        if text != heard:
            print(f"    fixed {text}")
        print(f"    got   {describe(extraction)}")
    result: dict[str, float] = {
        f: round(right[f] / asked[f], 4) if asked[f] else 1.0 for f in FIELDS
    }
    result["overall"] = round(all_right / len(items), 4)
    result["cer"] = round(edits / ref_chars, 4) if ref_chars else 0.0
    result["cer_raw"] = round(raw_edits / ref_chars, 4) if ref_chars else 0.0
    result["rtf"] = round(wall / audio_s, 4) if audio_s else 0.0
    result["asr_s"] = round(statistics.median(times), 3)
    print(f"{label}: {len(items)} clips, {audio_s:.1f} s of audio in {wall:.1f} s")
    for field in FIELDS:
        print(f"  {field:<11} {right[field]:>3}/{asked[field]:<3} {result[field]:.1%}")
    print(f"  {'overall':<11} {all_right:>3}/{len(items):<3} {result['overall']:.1%}")
    print(f"  CER {result['cer']:.4f} repaired, {result['cer_raw']:.4f} as heard")
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=shared_data("voice/voice_dev.json"))
    parser.add_argument("--beam", type=int, help="beam size (1 = greedy); default: settings")
    parser.add_argument("--compute-type", help="int8 or float32; default: settings")
    parser.add_argument("--engine", help="ASR engine; default: settings (faster-whisper)")
    parser.add_argument("--full-window", action="store_true", help="30 s encoder window always")
    parser.add_argument("--snr", type=float, action="append", help="noisy twin SNR in dB")
    parser.add_argument("--no-noise", action="store_true", help="skip the noisy twin")
    parser.add_argument("--seed", type=int, default=NOISE_SEED, help="the noise's seed")
    args = parser.parse_args(argv[1:])

    overrides: dict[str, Any] = {"asr_workers": 1}
    for key, value in (
        ("asr_beam_size", args.beam),
        ("asr_compute_type", args.compute_type),
        ("asr_engine", args.engine),
        ("asr_short_window", False if args.full_window else None),
    ):
        if value is not None:
            overrides[key] = value
    settings = Settings(**overrides)
    rules = load_rules()
    data = json.loads(args.path.read_text(encoding="utf-8"))
    items: list[dict[str, Any]] = data["items"]
    customers = [
        CustomerRef(i + 1, c["name"], tuple(c.get("aliases", ())))
        for i, c in enumerate(data["customers"])
    ]
    # What the voice worker prompts with: the sender's customers and aliases, then the stages.
    words = [w for c in customers for w in (c.name, *c.aliases)] + list(rules.stage_names)
    snrs = () if args.no_noise else tuple(args.snr or DEFAULT_SNRS)
    clips = clean_clips(items, args.path.parent)
    runs = [clips] + [noisy_clips(clips, items, snr, args.seed) for snr in snrs]

    warm_up()
    transcripts, start_s = asyncio.run(run_asr(settings, runs, words))
    print(
        f"engine {settings.asr_engine}, model {settings.asr_model}, "
        f"{settings.asr_compute_type}, beam {settings.asr_beam_size}, "
        f"language {settings.asr_language}, short window {settings.asr_short_window}; "
        f"start-up (model load) {start_s:.2f} s"
    )
    score = {"stages": rules.stage_names, "lexicon": rules.lexicon_words}
    result: dict[str, Any] = score_run(
        str(args.path), items, transcripts[0], customers, score["stages"], score["lexicon"]
    )
    for snr, heard in zip(snrs, transcripts[1:], strict=True):
        label = f"noisy twin, road noise at {snr:g} dB SNR (seed {args.seed})"
        noisy = score_run(label, items, heard, customers, score["stages"], score["lexicon"])
        result[f"noisy_{snr:g}db"] = noisy
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
