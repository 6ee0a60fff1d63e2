"""The company timezone and the moments notes in these tests are sent at."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
THURSDAY_EVENING = "2026-03-05 18:30"  # when the dev notes were written


def local(text: str) -> datetime:
    """'2026-03-05 18:30' in Shanghai, as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)
