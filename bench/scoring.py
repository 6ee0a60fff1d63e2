"""Scoring shared by the benches: is each field of an extraction what the labelled set expects."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from handlers.extraction import Extraction

TZ = ZoneInfo("Asia/Shanghai")
REPO = Path(__file__).resolve().parent.parent


def shared_data(name: str) -> Path:
    """$SALESBOT_SHARED_DIR/data/NAME, else ../shared/data/NAME beside the repo."""
    shared = os.environ.get("SALESBOT_SHARED_DIR")
    base = Path(shared) if shared else REPO.parent / "shared"
    return base / "data" / name


def scores(ex: Extraction, expect: dict[str, Any]) -> dict[str, bool]:
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


def describe(ex: Extraction) -> str:
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
