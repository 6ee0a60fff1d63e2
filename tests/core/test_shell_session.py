"""`salesbot demo` then `salesbot shell --as 王磊`, as a person would run them, end to end."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

SALESBOT = Path(sys.executable).parent / "salesbot"
LEAD = "温州瓯海智能装备有限公司"
CODE = re.compile(r"已登记承诺 (C-\d{8}-\d{3})")

pytestmark = pytest.mark.slow


def run(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALESBOT_")}
    env["SALESBOT_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/x.db"
    result = subprocess.run(
        [str(SALESBOT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def chat(tmp_path: Path, user: str, *lines: str) -> str:
    result = run(tmp_path, "shell", "--as", user, stdin="".join(f"{line}\n" for line in lines))
    assert result.returncode == 0, result.stderr
    return result.stdout


def query(tmp_path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp_path / "x.db") as db:
        return db.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A demo database, one scripted chat of 王磊's, then a second one that keeps the promise."""
    tmp_path = tmp_path_factory.mktemp("shell")
    demo = run(tmp_path, "demo")
    assert demo.returncode == 0, demo.stderr
    first = chat(
        tmp_path,
        "王磊",
        f"新客户 {LEAD} A",
        f"跟进 {LEAD} 拜访了采购部陈经理，下周三前发报价单",
        f"承诺 {LEAD} 发正式报价 下周五17:00",
        f"阶段 {LEAD} 意向",
        "我的",
        "跟进 宏达建材 电话沟通了报价",
        "今天天气不错",
    )
    found = CODE.search(first)
    assert found, first
    second = chat(tmp_path, "王磊", f"兑现 {found[1]}", "我的承诺")
    return tmp_path, first, second


def test_the_lead_is_in_the_database_owned_by_the_rep(session: tuple[Path, str, str]) -> None:
    tmp_path, _, _ = session
    rows = query(
        tmp_path,
        "SELECT u.name, c.level, c.stage FROM customers c JOIN users u ON u.id = c.owner_id"
        " WHERE c.name = ?",
        LEAD,
    )
    assert rows == [("王磊", "A", "意向")]


def test_the_followup_is_in_the_database_with_its_next_action_date(
    session: tuple[Path, str, str],
) -> None:
    tmp_path, _, _ = session
    rows = query(
        tmp_path,
        "SELECT f.next_action_due_at, f.raw_text FROM followups f"
        " JOIN customers c ON c.id = f.customer_id WHERE c.name = ?",
        LEAD,
    )
    [(due, raw_text)] = rows
    assert due is not None
    assert raw_text == f"{LEAD} 拜访了采购部陈经理，下周三前发报价单"


def test_the_commitment_is_in_the_database_and_kept(session: tuple[Path, str, str]) -> None:
    tmp_path, first, _ = session
    code = CODE.search(first)
    assert code
    rows = query(
        tmp_path,
        "SELECT m.status, m.what, m.kept_at IS NOT NULL FROM commitments m"
        " JOIN customers c ON c.id = m.customer_id WHERE m.code = ? AND c.name = ?",
        code[1],
        LEAD,
    )
    assert rows == [("kept", "发正式报价", 1)]


def test_the_stage_history_records_the_move(session: tuple[Path, str, str]) -> None:
    tmp_path, _, _ = session
    rows = query(
        tmp_path,
        "SELECT h.from_stage, h.to_stage FROM stage_history h"
        " JOIN customers c ON c.id = h.customer_id WHERE c.name = ? ORDER BY h.id",
        LEAD,
    )
    assert rows == [(None, "线索"), ("线索", "意向")]


def test_every_change_is_audited(session: tuple[Path, str, str]) -> None:
    tmp_path, _, _ = session
    actions = {
        action
        for (action,) in query(
            tmp_path,
            "SELECT a.action FROM audit_log a JOIN users u ON u.id = a.actor_id WHERE u.name = ?",
            "王磊",
        )
    }
    expected = {"customer_created", "followup_logged", "commitment_registered", "stage_move"}
    assert expected | {"commitment_kept", "denied"} <= actions


def test_the_chat_shows_each_answer(session: tuple[Path, str, str]) -> None:
    _, first, second = session
    assert f"已创建线索「{LEAD}」（A 级）" in first
    assert f"已记录跟进（{LEAD}）" in first
    assert f"「{LEAD}」阶段：线索 → 意向" in first
    assert LEAD in first.split("王磊> 我的", 1)[1]
    assert "已兑现" in second
    assert "你没有未兑现的承诺" in second or LEAD not in second.split("王磊> 我的承诺", 1)[1]


def test_another_reps_customer_is_refused_in_the_shell(session: tuple[Path, str, str]) -> None:
    _, first, _ = session
    assert "客户「宏达建材」不是你负责的客户" in first


def test_nonsense_gets_a_helpful_answer_in_the_shell(session: tuple[Path, str, str]) -> None:
    _, first, _ = session
    assert "没看懂「今天天气不错」" in first
    assert "请这样写" in first


def test_an_unknown_user_in_the_shell_is_told_who_exists(session: tuple[Path, str, str]) -> None:
    tmp_path, _, _ = session
    result = run(tmp_path, "shell", "--as", "刘洋", stdin="帮助\n")
    assert result.returncode != 0
    assert "没有用户「刘洋」" in result.stderr
    assert "王磊" in result.stderr
