"""Reading an import file: decoding, header, rows with their line numbers; counting and audit."""

from __future__ import annotations

import csv
import difflib
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from config.rules import Rules
from storage import audit

ImportKind = Literal["teams", "users", "customers"]

# The first ones are required; the others may be left out of the header.
COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "teams": (
        ("name",),
        (
            "wecom_webhook",
            "dingtalk_conversation_id",
            "dingtalk_webhook",
            "dingtalk_secret",
            "wecom_bot_chatid",
        ),
    ),
    "users": (("name", "role"), ("team", "manager", "wecom_userid", "dingtalk_userid")),
    "customers": (("name", "owner"), ("aliases", "stage", "level")),
}
MAX_LENGTH = {
    "name": 100,
    "aliases": 500,
    "wecom_webhook": 200,
    "dingtalk_conversation_id": 200,
    "dingtalk_webhook": 500,
    "dingtalk_secret": 200,
    "wecom_bot_chatid": 128,
    "wecom_userid": 64,
    "dingtalk_userid": 64,
}
CUSTOMER_NAME_MAX = 200
NOT_UTF8 = (
    "不是 UTF-8 编码，请在 Excel/WPS 里另存为「CSV UTF-8（逗号分隔）」"
    "(not UTF-8: save the file as CSV UTF-8)"
)


@dataclass(frozen=True, slots=True)
class RowError:
    line: int  # as in the file, the header being line 1
    reason: str

    def __str__(self) -> str:
        return f"第 {self.line} 行 (line {self.line})：{self.reason}"


@dataclass(frozen=True, slots=True)
class ImportReport:
    kind: ImportKind
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    held: list[RowError] = field(default_factory=list)  # changes not made without --update

    @property
    def ok(self) -> bool:
        return not self.errors

    def lines(self) -> list[str]:
        if self.errors:
            bad = len({e.line for e in self.errors})
            head = (
                f"导入 {self.kind} 失败，没有写入任何数据：{bad} 行有问题 "
                f"(import failed, nothing written: {bad} bad lines)"
            )
            return [head, *(str(e) for e in self.errors)]
        done = [
            f"导入 {self.kind} 完成：新建 {self.created}，更新 {self.updated}，"
            f"未变 {self.unchanged} (created {self.created}, updated {self.updated}, "
            f"unchanged {self.unchanged})"
        ]
        if self.held:
            done.append(
                f"{len(self.held)} 行会改负责人、阶段或清掉别名，未改动；"
                f"确认要改请加 --update 重新导入 ({len(self.held)} lines would overwrite "
                "owner/stage/aliases: unchanged, re-run with --update)"
            )
            done += [str(h) for h in self.held]
        return done


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    cells: dict[str, str]  # only the header's columns, stripped

    def get(self, column: str) -> str:
        return self.cells.get(column, "")

    def has(self, column: str) -> bool:
        return column in self.cells


@dataclass
class Batch:
    """The checked rows of one file, the errors found so far, and what the write phase did."""

    kind: ImportKind
    rows: list[Row]
    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    held: list[RowError] = field(default_factory=list)

    def fail(self, row: Row, reason: str) -> None:
        self.errors.append(RowError(row.line, reason))

    def hold(self, row: Row, reason: str) -> None:
        self.held.append(RowError(row.line, reason))

    def report(self) -> ImportReport:
        errors = sorted(self.errors, key=lambda e: e.line)
        if errors:
            return ImportReport(self.kind, errors=errors)
        held = sorted(self.held, key=lambda e: e.line)
        return ImportReport(self.kind, self.created, self.updated, self.unchanged, held=held)


def read_rows(kind: ImportKind, data: bytes) -> tuple[list[Row], list[RowError]]:
    """Decode (UTF-8, BOM or not), parse, and check the header against the kind's columns."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # A UTF-8 sequence never contains a newline byte, so each line can be tried alone.
        lines = data.split(b"\n")
        return [], [RowError(n, NOT_UTF8) for n, raw in enumerate(lines, 1) if not _is_utf8(raw)]
    required, optional = COLUMNS[kind]
    expected = ",".join(required + optional)
    records: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        start = 1
        for record in reader:
            if any(cell.strip() for cell in record):
                records.append((start, [cell.strip() for cell in record]))
            start = reader.line_num + 1
    except csv.Error as err:
        return [], [RowError(reader.line_num, f"CSV 格式错误 (bad CSV)：{err}")]
    if not records:
        return [], [
            RowError(1, f"文件是空的，第一行应是表头 (empty file; header expected)：{expected}")
        ]
    (header_line, header), body = records[0], records[1:]
    header = [column.lower() for column in header]
    problems = check_header(header, required, optional)
    if problems:
        return [], [RowError(header_line, reason) for reason in problems]
    rows: list[Row] = []
    errors: list[RowError] = []
    for line, cells in body:
        extra = [c for c in cells[len(header) :] if c]
        if extra:
            errors.append(
                RowError(
                    line, f"比表头多出 {len(extra)} 个值 ({len(extra)} cells beyond the header)"
                )
            )
        padded = cells + [""] * (len(header) - len(cells))
        rows.append(Row(line, dict(zip(header, padded, strict=False))))
    return rows, errors


def check_header(
    header: list[str], required: tuple[str, ...], optional: tuple[str, ...]
) -> list[str]:
    allowed = required + optional
    expected = ",".join(allowed)
    problems: list[str] = []
    seen: set[str] = set()
    for index, column in enumerate(header, 1):
        if not column:
            problems.append(f"表头第 {index} 列没有列名 (column {index} has no name)")
        elif column in seen:
            problems.append(f"表头里「{column}」出现了两次 (duplicate column {column})")
        elif column not in allowed:
            guess = difflib.get_close_matches(column.lower(), allowed, n=1)
            hint = f"，是不是「{guess[0]}」？(did you mean {guess[0]}?)" if guess else ""
            problems.append(
                f"表头有未知的列「{column}」{hint} (unknown column {column}; allowed: {expected})"
            )
        seen.add(column)
    for column in required:
        if column not in seen:
            problems.append(
                f"表头缺少必填列「{column}」(missing required column {column}; "
                f"the header is {expected})"
            )
    return problems


def check_cells(batch: Batch) -> None:
    required, _ = COLUMNS[batch.kind]
    for row in batch.rows:
        for column in required:
            if not row.get(column):
                batch.fail(row, f"「{column}」不能为空 ({column} is required)")
        for column, value in row.cells.items():
            limit = CUSTOMER_NAME_MAX if (batch.kind, column) == ("customers", "name") else None
            limit = limit or MAX_LENGTH.get(column, 100)
            if len(value) > limit:
                batch.fail(row, f"「{column}」太长，最多 {limit} 个字符 ({column}: max {limit})")


def check_duplicate_names(batch: Batch) -> None:
    first_line: dict[str, int] = {}
    for row in batch.rows:
        name = row.get("name")
        if name in first_line:
            batch.fail(
                row,
                f"「{name}」与第 {first_line[name]} 行重复 (duplicate of line {first_line[name]})",
            )
        elif name:
            first_line[name] = row.line


@dataclass(frozen=True, slots=True)
class Context:
    now: datetime
    rules: Rules
    actor_id: int | None
    update: bool = False  # --update: a re-import may change owner, stage and aliases


def assign(row: object, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)


def count_and_audit(
    db: AsyncSession,
    batch: Batch,
    ctx: Context,
    entity: str,
    entity_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    if before is not None:
        before = {k: v for k, v in before.items() if k in after}
        changed = {k for k in after if before.get(k) != after[k]}
        if not changed:
            batch.unchanged += 1
            return
        batch.updated += 1
        before = {k: before.get(k) for k in changed}
        after = {k: after[k] for k in changed}
    else:
        batch.created += 1
    # Secrets are never copied into the audit log: it says only that one was set or changed.
    before = _mask_secrets(before)
    after = _mask_secrets(after) or {}
    audit.record(
        db,
        at=ctx.now,
        actor_id=ctx.actor_id,
        action="import",
        entity=entity,
        entity_id=entity_id,
        before=before,
        after=after,
        note=f"import {batch.kind}",
    )


def _mask_secrets(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: ("***" if "secret" in k and v else v) for k, v in values.items()}


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
