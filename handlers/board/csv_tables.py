"""The board's tables as CSV: UTF-8 with a BOM and formula-safe cells, as `salesbot export`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

from handlers.board.customer import CustomerPage
from handlers.board.funnel import StageRow
from handlers.board.lights import LitCustomer
from handlers.board.overdue import OverdueCommitment, OverdueReceivable
from handlers.board.registry import CommitmentRow
from handlers.board.report import PeriodReport
from handlers.board.reps import RepRow
from handlers.exports import BOM, format_cell


def to_csv(headers: Sequence[str], rows: Iterable[Sequence[object]], tz: ZoneInfo) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([format_cell(v, tz) for v in row])
    return (BOM + out.getvalue()).encode("utf-8")


def reps_table(rows: list[RepRow]) -> tuple[list[str], list[list[object]]]:
    headers = [
        "销售",
        "团队",
        "客户数",
        "红灯",
        "黄灯",
        "本期跟进",
        "到期承诺",
        "按时兑现",
        "承诺闭环率",
        "逾期承诺",
        "线索激活率",
        "动作闭环率",
        "客户穿透率",
    ]
    return headers, [
        [
            r.name,
            r.team,
            r.customers,
            r.red_customers,
            r.yellow_customers,
            r.followups,
            r.commitments_due,
            r.commitments_kept_on_time,
            _rate(r.commitment_closure),
            r.overdue_commitments,
            _rate(r.lead_activation),
            _rate(r.action_closure),
            r.penetration,
        ]
        for r in rows
    ]


def lights_table(rows: list[LitCustomer]) -> tuple[list[str], list[list[object]]]:
    headers = ["灯", "客户", "负责人", "阶段", "停留", "超出", "原因", "计时起点"]
    light = {"red": "红", "yellow": "黄", "green": "绿"}
    return headers, [
        [light[c.light], c.name, c.owner, c.stage, c.days, c.over_days, c.reason, c.since]
        for c in rows
    ]


def funnel_table(rows: list[StageRow]) -> tuple[list[str], list[list[object]]]:
    headers = ["阶段", "客户数", "金额", "90天进入", "90天推进", "转化率", "停留中位天数"]
    return headers, [
        [
            r.stage,
            r.customers,
            r.amount_yuan,
            r.entered_90d,
            r.advanced_90d,
            _rate(r.conversion),
            r.median_days,
        ]
        for r in rows
    ]


def report_table(rows: list[PeriodReport]) -> tuple[list[str], list[list[object]]]:
    headers = [
        "期间",
        "对比",
        "新线索",
        "上期新线索",
        "跟进",
        "上期跟进",
        "签约数",
        "上期签约数",
        "签约金额",
        "上期签约金额",
        "回款笔数",
        "上期回款笔数",
        "回款金额",
        "上期回款金额",
    ]
    out = []
    for r in rows:
        line: list[object] = [r.label, r.previous_label]
        for pair in (r.new_leads, r.followups, r.signings, r.signed_yuan, r.payments, r.paid_yuan):
            line += [pair.current, pair.previous]
        out.append(line)
    return headers, out


def overdue_table(rows: list[OverdueCommitment]) -> tuple[list[str], list[list[object]]]:
    headers = ["编号", "客户", "负责人", "事项", "截止", "逾期天数"]
    return headers, [[r.code, r.customer, r.owner, r.what, r.due_at, r.days_late] for r in rows]


def receivables_table(rows: list[OverdueReceivable]) -> tuple[list[str], list[list[object]]]:
    headers = ["客户", "负责人", "签约时间", "应收日期", "金额", "逾期天数"]
    return headers, [
        [r.customer, r.owner, r.signed_at, r.due_on, r.amount_yuan, r.days_late] for r in rows
    ]


def commitments_table(rows: list[CommitmentRow]) -> tuple[list[str], list[list[object]]]:
    headers = ["编号", "客户", "负责人", "事项", "截止", "依据", "状态", "兑现时间"]
    return headers, [
        [r.code, r.customer, r.owner, r.what, r.due_at, r.evidence, r.state_label, r.kept_at]
        for r in rows
    ]


def timeline_table(page: CustomerPage) -> tuple[list[str], list[list[object]]]:
    headers = ["时间", "类型", "标题", "内容", "人员", "转写"]
    return headers, [
        [e.at, e.kind, e.title, e.detail, e.who, e.transcript or ""] for e in page.timeline
    ]


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"
