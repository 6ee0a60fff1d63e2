"""What a scan finds and what a job reports: rules, levels, findings, raised lines, results."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from handlers.chat import Push


class Rule(StrEnum):
    LEAD_UNTOUCHED = "lead_untouched"
    STAGE_STALL = "stage_stall"
    SILENT_STEP = "silent_step"
    COMMITMENT_DUE = "commitment_due"
    TASK_ACCEPT = "task_accept"
    TASK_DONE = "task_done"
    HEALTH_LOW = "health_low"
    DIGEST = "digest"


class Level(StrEnum):
    NOTICE = "notice"  # a heads-up to the owner (due soon, untouched lead, silent step)
    YELLOW = "yellow"  # past the threshold: the owner is told
    LAST_CHANCE = "last_chance"  # the owner is told the manager hears of it next morning
    RED = "red"  # escalated to the manager's group chat, @ the owner
    DIRECTOR = "director"  # escalated to the director
    OVERDUE = "overdue"  # a commitment past due: the owner and the manager's group, at once
    INFO = "info"  # digests and other bookkeeping rows


LADDER = (Level.YELLOW, Level.LAST_CHANCE, Level.RED, Level.DIRECTOR)
URGENT_LEVELS = frozenset({Level.RED, Level.DIRECTOR, Level.OVERDUE})


class Subject(StrEnum):
    CUSTOMER = "customer"
    COMMITMENT = "commitment"
    TASK = "task"
    TEAM = "team"


@dataclass(frozen=True, slots=True)
class Finding:
    """One subject a rule fires on, with the moment each level it has reached became due."""

    rule: Rule
    subject_type: Subject
    subject_id: int
    period: datetime  # the episode (clock start, due time): a new episode warns afresh
    customer_id: int | None
    customer_name: str
    owner_id: int | None  # whom the warning is about (None: nobody owns it; logged, skipped)
    due: dict[Level, datetime]  # reached levels only, in ladder order
    title: str  # the subject as people say it: a customer, "C-20260305-001 …", "#12 …"
    clock: str  # the rule and its clock: "阶段「方案」停留 12 个工作日 > 阈值 10"
    evidence: str = ""  # the last evidence event, if any
    remedy: str = ""  # what makes it go away: "跟进 杭州启明科技有限公司 <内容>", "接受 12"
    laddered: bool = False  # red waits for a last-chance notice and the next morning

    @property
    def key_stem(self) -> str:
        return f"{self.rule}:{self.subject_type}:{self.subject_id}"

    def dedupe_key(self, level: Level) -> str:
        """(rule, subject, level, period): the same warning is raised once."""
        return f"{self.key_stem}:{level}:{self.period:%Y%m%dT%H%M%S}"


@dataclass(frozen=True, slots=True)
class Raised:
    """One line of a job's report: who hears of it, the rule, the customer, the level."""

    who: str
    rule: str
    customer: str
    level: str
    ref: str = ""  # A12 (an alert), #12 (a task)
    late: bool = False  # due earlier (the job was down): sent now, marked as late

    def line(self) -> str:
        parts = [self.who, self.rule, self.customer or "-", self.level]
        if self.ref:
            parts.append(self.ref)
        if self.late:
            parts.append("late")
        return " | ".join(parts)


@dataclass
class JobResult:
    """What a job run raised (for the report) and the pushes to queue."""

    raised: list[Raised] = field(default_factory=list)
    pushes: list[Push] = field(default_factory=list)

    def extend(self, other: JobResult) -> None:
        self.raised += other.raised
        self.pushes += other.pushes
