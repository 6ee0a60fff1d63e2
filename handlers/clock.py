"""The one injectable clock: everything reads time here, so any job can run "as of" a given time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...  # aware, UTC


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)  # the only call allowed (ruff TID251 exempts this file)


@dataclass
class FrozenClock:
    """For tests and `salesbot jobs run --now`: time moves only when told to."""

    current: datetime

    def __post_init__(self) -> None:
        if self.current.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self.current = self.current.astimezone(UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)

    def set(self, when: datetime) -> None:
        self.current = when.astimezone(UTC)
