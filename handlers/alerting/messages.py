"""Warning wording in a rep's words, and pushes: one card per customer (the worst wins), the
buttons 处理 / 稍后提醒 / 为什么 on every card, a list for the rest of a long batch."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from config.rules import Rules
from handlers.alerting.findings import Finding, Level, Rule
from handlers.alerting.recipients import Target
from handlers.card_fit import WECOM_CARD_TITLE_CHARS, split_text
from handlers.chat import Button, Card, Push, RecipientKind, Reply
from handlers.timefmt import format_local

RULE_LABEL: dict[str, str] = {
    Rule.LEAD_UNTOUCHED: "新线索未跟进",
    Rule.STAGE_STALL: "客户停滞",
    Rule.SILENT_STEP: "待办无进展",
    Rule.COMMITMENT_DUE: "承诺到期",
    Rule.TASK_ACCEPT: "任务卡未接受",
    Rule.TASK_DONE: "任务卡未完成",
    Rule.HEALTH_LOW: "客户健康分过低",
    Rule.DIGEST: "每日简报",
}
LEVEL_LABEL: dict[str, str] = {
    Level.NOTICE: "提醒",
    Level.YELLOW: "预警",
    Level.LAST_CHANCE: "最后提醒",
    Level.RED: "已上报主管",
    Level.DIRECTOR: "已上报总监",
    Level.OVERDUE: "已逾期",
    Level.INFO: "简报",
}
LEVEL_MARK: dict[str, str] = {
    Level.NOTICE: "🔔",
    Level.YELLOW: "🟡",
    Level.LAST_CHANCE: "⏳",
    Level.RED: "🔴",
    Level.DIRECTOR: "⛔",
    Level.OVERDUE: "🔴",
    Level.INFO: "📊",
}
SNOOZE_DEFAULT = "2小时"
TITLE_CHARS = WECOM_CARD_TITLE_CHARS - len("（1/2）")


def alert_code(alert_id: int) -> str:
    return f"A{alert_id}"


def alert_title(rule: str, level: str) -> str:
    return f"{RULE_LABEL.get(rule, rule)}·{LEVEL_LABEL.get(level, level)}"


def card_title(rule: str, level: str, customer: str) -> str:
    """浙一医院·客户停滞·预警: whom it is about first (a card per customer); a long name is
    shortened at a boundary so the title fits a card with room for a part mark （1/2）."""
    tail = alert_title(rule, level)
    if not customer:
        return tail
    budget = TITLE_CHARS - len(tail) - 1
    if len(customer) > budget:
        customer = split_text(customer, budget - 1)[0] + "…"
    return f"{customer}·{tail}"


# How bad a level is: one card per customer shows the worst.
SEVERITY: dict[str, int] = {
    Level.INFO: 0,
    Level.NOTICE: 1,
    Level.YELLOW: 2,
    Level.LAST_CHANCE: 3,
    Level.OVERDUE: 4,
    Level.RED: 5,
    Level.DIRECTOR: 6,
}
TO_SUPERVISORS = (Level.RED, Level.DIRECTOR, Level.OVERDUE)  # the group reads these too
# A late push names its original time only where the time promised something (the last-chance
# morning, an escalation) and the delay is long enough to change what the reader does.
LATE_MATTERS = timedelta(hours=2)
LATE_MATTERS_LEVELS = (Level.LAST_CHANCE, Level.RED, Level.DIRECTOR, Level.OVERDUE)
CARDS_PER_BATCH = 5  # more customers than this: the worst as cards, the rest as one list


def alert_lines(
    finding: Finding,
    level: Level,
    *,
    owner_name: str,
    escalate_at: datetime | None,
    late_since: datetime | None,
    rules: Rules,
    tz: ZoneInfo,
    now: datetime | None = None,
) -> list[str]:
    """The stored message of one alert, in a rep's words: what happened and since when, the
    last thing that happened, and the one thing to do."""
    supervisors = level in TO_SUPERVISORS
    who = f"（{owner_name}负责）" if supervisors else ""
    lines = [_sentence(f"{LEVEL_MARK[level]}{finding.title}{who}{finding.clock}")]
    if finding.evidence:
        lines.append(_sentence(finding.evidence))
    if level == Level.LAST_CHANCE and escalate_at is not None:
        hour = f"{rules.escalation.last_chance_hour:%H:%M}".lstrip("0")
        lines.append(f"明早 {hour} 前还没有进展，就会告诉主管。")
    if finding.remedy and level != Level.DIRECTOR:
        doer = owner_name if supervisors else ""
        lines.append(f"{doer}回复「{finding.remedy}」即可解除。")
    if late_since is not None and _delay_matters(level, late_since, now):
        lines.append(f"这条提醒原定 {format_local(late_since, tz)} 发出。")
    return lines


def _sentence(text: str) -> str:
    return text if text.endswith(("。", "！", "？")) else text + "。"


def _delay_matters(level: Level, late_since: datetime, now: datetime | None) -> bool:
    if level not in LATE_MATTERS_LEVELS:
        return False
    return now is None or now - late_since >= LATE_MATTERS


@dataclass(frozen=True, slots=True)
class Notice:
    """One alert on its way to one recipient."""

    target: Target
    urgent: bool
    mention: tuple[int, ...]
    title: str
    lines: tuple[str, ...]
    alert_id: int
    snoozable: bool  # the owner's own card gets 稍后提醒
    key: str = ""  # tells a re-send (a snooze ran out) apart from the first send
    customer_id: int | None = None  # one card per customer in a batch
    level: str = Level.NOTICE
    subject: str = ""  # what it is about when there is no customer (rule:subject)

    @property
    def severity(self) -> int:
        return SEVERITY.get(self.level, 1)

    @property
    def about(self) -> str:
        return f"customer:{self.customer_id}" if self.customer_id is not None else self.subject


def buttons_for(code: str, *, snoozable: bool) -> tuple[Button, ...]:
    """处理 / 稍后提醒 / 为什么: the same typed commands a rep may write."""
    buttons = [Button(f"处理 {code}", "处理")]
    if snoozable:
        buttons.append(Button(f"稍后提醒 {code} {SNOOZE_DEFAULT}", "稍后提醒", 2))
    buttons.append(Button(f"为什么 {code}", "为什么", 2))
    return tuple(buttons)


def card_for(notice: Notice, *, also: int = 0) -> Card:
    code = alert_code(notice.alert_id)
    lines = list(notice.lines)  # 稍后提醒 is a button (and a typed command where buttons are not)
    if also:
        lines.append(f"另有 {also} 条提醒，见「为什么 {code}」。")
    return Card(
        card_id=f"alert-{notice.alert_id}-{notice.target.kind}-{notice.target.id}{notice.key}",
        title=notice.title,
        lines=tuple(lines),
        buttons=buttons_for(code, snoozable=notice.snoozable),
    )


def worst_per_customer(notices: list[Notice]) -> list[tuple[Notice, int]]:
    """Each recipient hears of each customer once: its most severe notice (the latest of equals),
    with how many others it stands for."""
    best: dict[tuple[RecipientKind, int, str], list[Notice]] = defaultdict(list)
    for notice in notices:
        best[(notice.target.kind, notice.target.id, notice.about)].append(notice)
    out = []
    for group in best.values():
        group.sort(key=lambda n: (n.severity, n.urgent, n.alert_id), reverse=True)
        out.append((group[0], len(group) - 1))
    return out


def pushes_for(notices: list[Notice]) -> list[Push]:
    """One card per customer (worst first); urgent ones at once; a long batch ends in a list."""
    pushes: list[Push] = []
    batched: dict[tuple[RecipientKind, int], list[tuple[Notice, int]]] = defaultdict(list)
    for notice, also in worst_per_customer(notices):
        if notice.urgent:
            pushes.append(_single(notice, also))
        else:
            batched[(notice.target.kind, notice.target.id)].append((notice, also))
    for (kind, recipient_id), group in batched.items():
        group.sort(key=lambda pair: (pair[0].severity, pair[0].alert_id), reverse=True)
        cards = group if len(group) <= CARDS_PER_BATCH else group[: CARDS_PER_BATCH - 1]
        pushes += [_single(notice, also) for notice, also in cards]
        rest = group[len(cards) :]
        if rest:
            pushes.append(_list(kind, recipient_id, [n for n, _ in rest]))
    return pushes


def _list(kind: RecipientKind, recipient_id: int, rest: list[Notice]) -> Push:
    ids = ",".join(f"{n.alert_id}{n.key}" for n in rest)
    digest = hashlib.sha1(ids.encode(), usedforsecurity=False).hexdigest()[:16]
    lines = [f"还有 {len(rest)} 个客户需要处理："]
    for n in rest:
        lines.append(f"{alert_code(n.alert_id)} {n.lines[0] if n.lines else n.title}")
    lines.append(f"回复「处理 <编号>」看怎么解除，或「稍后提醒 <编号> {SNOOZE_DEFAULT}」。")
    return Push(
        kind,
        recipient_id,
        Reply("\n".join(lines)),
        dedupe_key=f"alerts:{kind}:{recipient_id}:{digest}",
    )


def _single(notice: Notice, also: int = 0) -> Push:
    return Push(
        notice.target.kind,
        notice.target.id,
        card_for(notice, also=also),
        urgent=notice.urgent,
        mention_user_ids=notice.mention,
        dedupe_key=f"alert:{notice.alert_id}:{notice.target.kind}:{notice.target.id}{notice.key}",
    )


def format_span(seconds: float) -> str:
    """A duration as people say it: 2 天 3 小时, 5 小时, 40 分钟."""
    minutes = max(0, int(seconds // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} 天 {hours} 小时" if hours else f"{days} 天"
    if hours:
        return f"{hours} 小时"
    return f"{mins} 分钟"
