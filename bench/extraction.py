"""Bench the note extractor on a labelled set: accuracy per field and median time per note.

Usage: python bench/extraction.py [PATH]   (default: $SALESBOT_SHARED_DIR/data/extraction_dev.json,
else ../shared/data/extraction_dev.json beside the repo). The last line printed is one JSON object.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from handlers.extraction import CustomerRef, Extraction, extract_note, warm_up  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
FIELDS = ("customer", "due_date", "due_time", "action", "commitment", "stage", "amount", "contact")
TIMED_ROUNDS = 20


def default_path() -> Path:
    shared = os.environ.get("SALESBOT_SHARED_DIR")
    base = Path(shared) if shared else REPO.parent / "shared"
    return base / "data" / "extraction_dev.json"


def _scores(ex: Extraction, expect: dict[str, Any]) -> dict[str, bool]:
    """Whether each field is right; a field the item does not label for is left out."""
    due_local = ex.due.value.at.astimezone(TZ) if ex.due else None
    got_date = due_local.date().isoformat() if due_local else None
    got_time = (
        due_local.strftime("%H:%M") if due_local and ex.due and ex.due.value.has_time else None
    )
    amount = expect.get("amount")
    scores = {
        "customer": (ex.customer.value.name if ex.customer else None) == expect.get("customer"),
        "due_date": got_date == expect.get("next_due_date"),
        "due_time": got_time == expect.get("next_due_time"),
        "commitment": (ex.commitment is not None) == bool(expect.get("commitment", False)),
        "stage": (ex.stage.value if ex.stage else None) == expect.get("stage"),
        "amount": (ex.amount_yuan.value if ex.amount_yuan else None)
        == (Decimal(str(amount)) if amount is not None else None),
    }
    if "next_action_contains" in expect:
        action = ex.next_action.value if ex.next_action else ""
        scores["action"] = expect["next_action_contains"].casefold() in action.casefold()
    if "contact_contains" in expect:
        scores["contact"] = expect["contact_contains"] in (ex.contact.value if ex.contact else "")
    return scores


def _describe(ex: Extraction) -> str:
    due = ex.due.value.at.astimezone(TZ).isoformat(timespec="minutes") if ex.due else None
    return json.dumps(
        {
            "customer": ex.customer.value.name if ex.customer else None,
            "due": due if ex.due and ex.due.value.has_time else (due or "")[:10] or None,
            "action": ex.next_action.value if ex.next_action else None,
            "commitment": ex.commitment.value if ex.commitment else None,
            "stage": ex.stage.value if ex.stage else None,
            "amount": str(ex.amount_yuan.value) if ex.amount_yuan else None,
            "contact": ex.contact.value if ex.contact else None,
        },
        ensure_ascii=False,
    )


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else default_path()
    data = json.loads(path.read_text(encoding="utf-8"))
    customers = [
        CustomerRef(i + 1, c["name"], tuple(c.get("aliases", ())))
        for i, c in enumerate(data["customers"])
    ]
    items = data["items"]
    started = time.perf_counter()
    warm_up()
    warm_up_s = time.perf_counter() - started
    print(f"warm-up (jionlp, pinyin, OpenCC, cn2an, place names): {warm_up_s:.2f} s")

    def run(item: dict[str, Any]) -> Extraction:
        now = datetime.fromisoformat(item["now"])
        return extract_note(item["text"], now=now, tz=TZ, customers=customers)

    right = dict.fromkeys(FIELDS, 0)
    asked = dict.fromkeys(FIELDS, 0)
    all_right = 0
    for item in items:
        scores = _scores(run(item), item["expect"])
        for field, ok in scores.items():
            asked[field] += 1
            right[field] += ok
        all_right += all(scores.values())
        if not all(scores.values()):
            misses = ",".join(f for f, ok in scores.items() if not ok)
            print(f"miss {item['id']} [{misses}] {item['text']}\n    got {_describe(run(item))}")

    timings_ms = []
    for _ in range(TIMED_ROUNDS):
        for item in items:
            begun = time.perf_counter()
            run(item)
            timings_ms.append((time.perf_counter() - begun) * 1000)

    result: dict[str, float] = {
        f: round(right[f] / asked[f], 4) if asked[f] else 1.0 for f in FIELDS
    }
    result["overall"] = round(all_right / len(items), 4)
    result["median_ms"] = round(statistics.median(timings_ms), 3)
    print(f"{path} — {len(items)} notes, {len(timings_ms)} timed extractions")
    for field in FIELDS:
        print(f"  {field:<11} {right[field]:>3}/{asked[field]:<3} {result[field]:.1%}")
    print(f"  {'overall':<11} {all_right:>3}/{len(items):<3} {result['overall']:.1%}")
    p95 = statistics.quantiles(timings_ms, n=20)[-1]
    print(f"  median {result['median_ms']:.3f} ms, p95 {p95:.3f} ms per note")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
