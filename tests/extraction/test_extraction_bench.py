"""The extraction bench on the shared dev set: its targets, and a last line of JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

import extraction as bench  # noqa: E402
from scoring import shared_data  # noqa: E402


@pytest.fixture
def dev_set() -> Path:
    path = shared_data("extraction_dev.json")
    if not path.exists():
        pytest.fail(f"the shared dev set is not at {path} (set SALESBOT_SHARED_DIR)")
    return path


def test_the_bench_meets_its_targets_on_the_dev_set(
    dev_set: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench.main(["extraction.py", str(dev_set)]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(result) == {*bench.FIELDS, "overall", "median_ms"}
    assert result["customer"] == 1.0
    assert result["due_date"] >= 0.95
    assert all(result[f] >= 0.9 for f in bench.FIELDS)
    assert result["median_ms"] < 5.0


def test_the_bench_reads_any_set_in_the_same_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small = {
        "customers": [{"name": "杭州启明科技有限公司", "aliases": ["启明"]}],
        "items": [
            {
                "id": "t1",
                "now": "2026-03-05T18:30:00+08:00",
                "text": "启明下周三前给反馈",
                "expect": {
                    "customer": "杭州启明科技有限公司",
                    "next_due_date": "2026-03-11",
                    "next_action_contains": "反馈",
                    "commitment": False,
                },
            }
        ],
    }
    path = tmp_path / "small.json"
    path.write_text(json.dumps(small, ensure_ascii=False), encoding="utf-8")
    assert bench.main(["extraction.py", str(path)]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["overall"] == 1.0


def test_the_bench_meets_the_same_targets_on_notes_written_for_the_tests(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = Path(__file__).with_name("extra_notes.json")
    assert bench.main(["extraction.py", str(path)]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["customer"] == 1.0
    assert result["due_date"] >= 0.95
    assert all(result[f] >= 0.9 for f in bench.FIELDS)
