"""Rules: stages, stall thresholds, quiet hours, SOP templates — YAML with shipped defaults."""

from __future__ import annotations

import functools
from datetime import date, time
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

DEFAULT_RULES_NAME = "rules_default.yaml"


class RulesError(Exception):
    """The rules file cannot be used; the message names the file, the key and what was expected."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Stage(Strict):
    name: str
    stall_days: Annotated[int, Field(gt=0)] | None = None  # None: the stage never stalls
    business_days: bool = False
    terminal: bool = False


class Trigger(StrEnum):
    CONTRACT_SIGNED = "contract_signed"
    DELIVERY_DONE = "delivery_done"
    PAYMENT_RECEIVED = "payment_received"
    CONTRACT_EXPIRY = "contract_expiry"
    PAYMENT_TERM_END = "payment_term_end"


class SopTemplate(Strict):
    key: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    title: str
    trigger: Trigger
    offset_days: int
    accept_sla_hours: Annotated[int, Field(gt=0)] = 24
    done_sla_days: Annotated[int, Field(ge=0)] = 3
    checklist: tuple[str, ...] = ()
    # payment_received only: every payment, the contract's first, or before its last falls due
    payment: Literal["every", "first", "last"] = "every"


class QuietHours(Strict):
    start: time = time(21, 0)
    end: time = time(8, 30)


class Escalation(Strict):
    grace_days: Annotated[int, Field(ge=0)] = 3
    director_grace_days: Annotated[int, Field(ge=0)] = 5
    last_chance_hour: time = time(9, 0)
    task_grace_hours: Annotated[int, Field(ge=0)] = 24  # task SLA: yellow -> red
    task_director_grace_hours: Annotated[int, Field(ge=0)] = 72  # task SLA: red -> director


class Health(Strict):
    start: Annotated[int, Field(ge=0, le=100)] = 80
    on_time: int = 5
    late: int = -5
    missed: int = -15
    escalate_below: Annotated[int, Field(ge=0, le=100)] = 60


class LeadRules(Strict):
    """Lead intake (#17): source channels, the assignment cap, the first-touch clock."""

    sources: tuple[str, ...] = ("展会", "公众号", "官网表单", "400来电", "老客转介", "其他")
    open_cap: Annotated[int, Field(gt=0)] = 5  # open untouched leads a rep may hold
    touch_hours_by_source: dict[str, Annotated[int, Field(gt=0)]] = {}
    business_start: time = time(0, 0)  # the clock runs on workdays between these times
    business_end: time | None = None  # None: until midnight

    @model_validator(mode="after")
    def _known_sources(self) -> LeadRules:
        if not self.sources:
            raise ValueError("leads.sources: expected at least one source channel")
        unknown = sorted(set(self.touch_hours_by_source) - set(self.sources))
        if unknown:
            raise ValueError(f"leads.touch_hours_by_source: {unknown} are not among the sources")
        if self.business_end is not None and self.business_end <= self.business_start:
            raise ValueError("leads.business_end: expected a time after business_start")
        return self


LexiconWord = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=12)]


@functools.cache
def _shipped_lexicon() -> tuple[tuple[str, tuple[str, ...]], ...]:
    source = resources.files("config").joinpath(DEFAULT_RULES_NAME)
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    return tuple((group, tuple(words)) for group, words in data["lexicon"].items())


def shipped_lexicon() -> dict[str, tuple[str, ...]]:
    """The sales vocabulary of the shipped rules file: a rules file without `lexicon` gets it."""
    return dict(_shipped_lexicon())


class HolidayYear(Strict):
    """A year chinese-calendar does not know yet: the days off and the make-up workdays."""

    off: tuple[date, ...] = ()
    work: tuple[date, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _yaml_off(cls, data: Any) -> Any:
        # YAML 1.1 reads a bare `off:` key as False; the file means the word.
        if isinstance(data, dict) and False in data:
            data = {("off" if k is False else k): v for k, v in data.items()}
        return data


class Rules(Strict):
    stages: tuple[Stage, ...]
    lost_stage: str = "丢单"
    allow_backward: bool = False
    lead_touch_hours: Annotated[int, Field(gt=0)] = 24
    silent_step_hours: Annotated[int, Field(gt=0)] = 48
    commitment_warn_hours: Annotated[int, Field(gt=0)] = 24
    escalation: Escalation = Escalation()
    quiet_hours: QuietHours = QuietHours()
    digest_at: time = time(9, 0)
    watch_every_minutes: Annotated[int, Field(gt=0)] = 15
    health: Health = Health()
    sop_templates: tuple[SopTemplate, ...] = ()
    sop_push_at: time = time(9, 0)  # the local time an SOP card goes out on its day
    sop_every_minutes: Annotated[int, Field(gt=0)] = 5
    task_missed_after_days: Annotated[int, Field(ge=0)] = 7  # past due this long: missed
    snooze_max_hours: Annotated[int, Field(gt=0)] = 72
    digest_window_days: Annotated[int, Field(gt=0)] = 30  # the digest's health figures span
    leads: LeadRules = LeadRules()
    holidays: dict[int, HolidayYear] = Field(default_factory=dict)  # years the library lacks
    # Sales words voice transcripts are repaired against, by group (handlers/extraction/repair).
    lexicon: dict[str, tuple[LexiconWord, ...]] = Field(default_factory=shipped_lexicon)

    @field_validator("lexicon", mode="before")
    @classmethod
    def _over_shipped(cls, given: object) -> object:
        """A rules file adds groups to the shipped lexicon; a group it names replaces that one."""
        if not isinstance(given, dict):
            return given
        return {**shipped_lexicon(), **{k: () if v is None else v for k, v in given.items()}}

    @model_validator(mode="after")
    def _consistent(self) -> Rules:
        names = [s.name for s in self.stages]
        if len(names) < 2:
            raise ValueError("stages: expected at least two stages")
        if len(set(names)) != len(names):
            raise ValueError("stages: stage names must be unique")
        if self.lost_stage not in names:
            raise ValueError(f"lost_stage: {self.lost_stage!r} is not one of the stages {names}")
        for year, table in self.holidays.items():
            stray = [d for d in (*table.off, *table.work) if d.year != year]
            if stray:
                raise ValueError(f"holidays.{year}: {stray[0]} is not in {year}")
            both = set(table.off) & set(table.work)
            if both:
                raise ValueError(f"holidays.{year}: {min(both)} is both off and a workday")
        keys = [t.key for t in self.sop_templates]
        if len(set(keys)) != len(keys):
            raise ValueError("sop_templates: template keys must be unique")
        return self

    @property
    def stage_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages)

    @property
    def lexicon_words(self) -> tuple[str, ...]:
        """Every lexicon word once, then the stage names: what a voice note is repaired against."""
        words = [w for group in self.lexicon.values() for w in group] + list(self.stage_names)
        return tuple(dict.fromkeys(words))

    @property
    def first_stage(self) -> str:
        return self.stages[0].name

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    def can_move(self, from_stage: str, to_stage: str) -> bool:
        """Forward moves and 丢单 are allowed from any open stage; backward only if configured."""
        if from_stage == to_stage or self.stage(from_stage).terminal:
            return False
        if to_stage == self.lost_stage:
            return True
        order = self.stage_names
        return order.index(to_stage) > order.index(from_stage) or self.allow_backward


def load_rules(path: Path | None = None) -> Rules:
    """Load the rules YAML (shipped defaults for None); errors name file, key and expectation."""
    if path is None:
        source = resources.files("config").joinpath(DEFAULT_RULES_NAME)
        label, text = f"<shipped {DEFAULT_RULES_NAME}>", source.read_text(encoding="utf-8")
    else:
        label = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as err:
            raise RulesError(f"rules file {label}: cannot read it ({err.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise RulesError(f"rules file {label}: not valid YAML ({err})") from None
    if not isinstance(data, dict):
        raise RulesError(f"rules file {label}: expected a mapping of rule keys at the top level")
    try:
        return Rules.model_validate(data)
    except ValidationError as err:
        problems = []
        for error in err.errors():
            key = ".".join(str(p) for p in error["loc"]) or "(top level)"
            given = error.get("input")
            shown = "" if isinstance(given, dict | list) else f" (got {given!r})"
            problems.append(f"key '{key}': {error['msg']}{shown}")
        raise RulesError(f"rules file {label}: " + "; ".join(problems)) from None
