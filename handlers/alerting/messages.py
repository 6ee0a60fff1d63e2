"""Warning wording (rule, clock, last evidence) and pushes: one card each or one list per person."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from config.rules import Rules
from handlers.alerting.findings import Finding, Level, Rule
from handlers.alerting.recipients import Target
from handlers.chat import Button, Card, Push, RecipientKind
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
SNOOZE_DEFAULT = "2h"


def alert_code(alert_id: int) -> str:
    return f"A{alert_id}"


def alert_title(rule: str, level: str) -> str:
    return f"{RULE_LABEL.get(rule, rule)}·{LEVEL_LABEL.get(level, level)}"


def alert_lines(
    finding: Finding,
    level: Level,
    *,
    owner_name: str,
    escalate_at: datetime | None,
    late_since: datetime | None,
    rules: Rules,
    tz: ZoneInfo,
) -> list[str]:
    """The stored message of one alert: what, the rule's clock, the last evidence, what next."""
    lines = [f"{LEVEL_MARK[level]}{finding.title}", finding.clock]
    if finding.evidence:
        lines.append(finding.evidence)
    if level in (Level.RED, Level.DIRECTOR, Level.OVERDUE):
        lines.append(f"负责人：{owner_name}")
    if level == Level.LAST_CHANCE and escalate_at is not None:
        hour = f"{rules.escalation.last_chance_hour:%H:%M}".lstrip("0")
        lines.append(f"明早 {hour} 将上报主管（{format_local(escalate_at, tz)}）")
    if finding.remedy and level != Level.DIRECTOR:
        lines.append(f"处理后自动解除：{finding.remedy}")
    if late_since is not None:
        lines.append(f"（补发：原定 {format_local(late_since, tz)}）")
    return lines


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


def card_for(notice: Notice) -> Card:
    code = alert_code(notice.alert_id)
    buttons = [Button(f"why {code}", "为什么", 2)]
    if notice.snoozable:
        buttons.insert(0, Button(f"snooze {code} {SNOOZE_DEFAULT}", "稍后提醒 2小时"))
    return Card(
        card_id=f"alert-{notice.alert_id}-{notice.target.kind}-{notice.target.id}{notice.key}",
        title=notice.title,
        lines=(*notice.lines, f"编号 {code}"),
        buttons=tuple(buttons),
    )


def pushes_for(notices: list[Notice]) -> list[Push]:
    """Urgent ones go alone and at once; the rest are one list per person."""
    pushes: list[Push] = []
    batched: dict[tuple[RecipientKind, int], list[Notice]] = defaultdict(list)
    for notice in notices:
        if notice.urgent:
            pushes.append(_single(notice))
        else:
            batched[(notice.target.kind, notice.target.id)].append(notice)
    for (kind, recipient_id), group in batched.items():
        if len(group) == 1:
            pushes.append(_single(group[0]))
            continue
        ids = ",".join(f"{n.alert_id}{n.key}" for n in group)
        digest = hashlib.sha1(ids.encode(), usedforsecurity=False).hexdigest()[:16]
        lines: list[str] = []
        for n in group:
            lines.append(f"{alert_code(n.alert_id)} {n.title}：{'；'.join(n.lines)}")
        lines.append("推迟某条：稍后提醒 <编号> 2小时；查看原因：为什么 <编号>")
        card = Card(
            card_id=f"alerts-{recipient_id}-{digest}",
            title=f"{len(group)} 条预警",
            lines=tuple(lines),
        )
        pushes.append(
            Push(kind, recipient_id, card, dedupe_key=f"alerts:{kind}:{recipient_id}:{digest}")
        )
    return pushes


def _single(notice: Notice) -> Push:
    return Push(
        notice.target.kind,
        notice.target.id,
        card_for(notice),
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
