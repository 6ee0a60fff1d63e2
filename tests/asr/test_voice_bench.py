"""bench/voice.py: the whole voice → structured-log path on the dev set, and its last line."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.asr.conftest import VOICE_DIR

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

import voice as bench  # noqa: E402

pytestmark = pytest.mark.slow
SUMMARY_KEYS = {*bench.FIELDS, "overall", "cer", "cer_raw", "rtf", "asr_s"}
NOISY = ("noisy_10db", "noisy_5db")


@pytest.fixture(autouse=True)
def session_model_cache(asr_cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bench uses the production settings; point them at the session's assembled model."""
    monkeypatch.setenv("SALESBOT_CACHE_DIR", str(asr_cache_dir))
    for name in ("SALESBOT_ASR_ENGINE", "SALESBOT_ASR_BEAM_SIZE", "SALESBOT_ASR_LANGUAGE"):
        monkeypatch.delenv(name, raising=False)


def last_json(out: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def test_the_bench_meets_its_targets_on_the_voice_dev_set(
    voice_dev: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench.main(["voice.py", str(VOICE_DIR / "voice_dev.json")]) == 0
    out = capsys.readouterr().out
    result = last_json(out)
    assert set(result) == SUMMARY_KEYS | set(NOISY)
    assert result["customer"] == 1.0
    assert result["due_date"] >= 0.90
    assert result["action"] >= 0.80  # 0.57 before the sound-alike repair
    assert 0.0 < result["cer"] < result["cer_raw"] < 0.35  # the repair makes it better
    assert 0.0 < result["rtf"] < 1.0
    for key in NOISY:  # the noisy twin, same figures
        assert set(result[key]) == SUMMARY_KEYS
    assert result["noisy_10db"]["customer"] >= 0.90
    assert result["noisy_10db"]["due_date"] >= 0.80
    for item in voice_dev["items"]:  # every clip shows what was heard and what was read
        assert f"{item['id']} " in out
    assert out.count("    heard ") == 3 * len(voice_dev["items"])


def test_the_bench_reads_any_set_in_the_same_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(VOICE_DIR / "v08.amr", tmp_path / "paid.amr")
    small = {
        "customers": [{"name": "佛山宏达建材", "aliases": ["宏达建材", "宏达"]}],
        "items": [
            {
                "id": "paid",
                "now": "2026-03-05T18:30:00+08:00",
                "text": "宏达回款八万已经到账。",
                "expect": {"customer": "佛山宏达建材", "commitment": False, "amount": 80000},
                "file": "paid.amr",
                "duration_s": 2.29,
            }
        ],
    }
    path = tmp_path / "set.json"
    path.write_text(json.dumps(small, ensure_ascii=False), encoding="utf-8")
    assert bench.main(["voice.py", str(path), "--beam", "1", "--no-noise"]) == 0
    out = capsys.readouterr().out
    assert "beam 1" in out
    result = last_json(out)
    assert result["customer"] == 1.0
    assert result["amount"] == 1.0
    assert result["action"] == 1.0  # no next action labelled: nothing to get wrong
