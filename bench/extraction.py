"""Bench the note extractor on a labelled set: accuracy per field and median time per note.

Usage: python bench/extraction.py [PATH] [--repair]   (default: $SALESBOT_SHARED_DIR/data/
extraction_dev.json, else ../shared/data/extraction_dev.json beside the repo). With --repair every
note first goes through the voice transcripts' sound-alike repair (what a voice note gets), and
the notes it changed are listed: on typed, correct text it should change nothing. The last line
printed is one JSON object.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scoring import TZ, describe, scores, shared_data  # noqa: E402

from config.rules import load_rules  # noqa: E402
from handlers.extraction import CustomerRef, Extraction, extract_note, warm_up  # noqa: E402
from handlers.extraction.repair import customer_words, repair_transcript  # noqa: E402

FIELDS = ("customer", "due_date", "due_time", "action", "commitment", "stage", "amount", "contact")
TIMED_ROUNDS = 20


def main(argv: list[str]) -> int:
    repair = "--repair" in argv
    args = [a for a in argv[1:] if a != "--repair"]
    path = Path(args[0]) if args else shared_data("extraction_dev.json")
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

    lexicon, trusted = load_rules().lexicon_words, customer_words(customers)
    changed = 0
    if repair:
        for item in items:
            fixed = repair_transcript(item["text"], lexicon, trusted=trusted)
            if fixed.changed:
                changed += 1
                print(f"repaired {item['id']}: {item['text']} -> {fixed.text}")
            item["text"] = fixed.text

    def run(item: dict[str, Any]) -> Extraction:
        now = datetime.fromisoformat(item["now"])
        return extract_note(item["text"], now=now, tz=TZ, customers=customers)

    right = dict.fromkeys(FIELDS, 0)
    asked = dict.fromkeys(FIELDS, 0)
    all_right = 0
    for item in items:
        marks = scores(run(item), item["expect"])
        for field, ok in marks.items():
            asked[field] += 1
            right[field] += ok
        all_right += all(marks.values())
        if not all(marks.values()):
            misses = ",".join(f for f, ok in marks.items() if not ok)
            print(f"miss {item['id']} [{misses}] {item['text']}\n    got {describe(run(item))}")

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
    if repair:
        result["repaired_notes"] = changed
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
