"""What a handler gets besides the command and the session: clock, rules, timezone, extractor."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from config.rules import Rules
from handlers.clock import Clock
from handlers.extraction import Extractor, RuleExtractor
from handlers.limits import DEFAULT_MAX_NOTE_CHARS
from handlers.workdays import use_holidays


@dataclass(frozen=True)
class Context:
    clock: Clock
    rules: Rules
    tz: ZoneInfo
    extractor: Extractor = field(default_factory=RuleExtractor)
    max_note_chars: int = DEFAULT_MAX_NOTE_CHARS  # longer messages are refused unread
    extract_budget_s: float = 10.0  # extraction runs in a thread; past this the rep is told
    retention_days: int = 30  # finished inbox/outbox rows and handled events are kept so long
    public_url: str = "http://localhost:8080"  # where 看板 links point (SALESBOT_PUBLIC_URL)
    voice_retention_days: int = 180  # SALESBOT_VOICE_RETENTION_DAYS: recordings, then purged

    def __post_init__(self) -> None:
        use_holidays(self.rules.holidays)  # the rules file's years chinese-calendar lacks
