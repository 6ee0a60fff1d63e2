"""`salesbot shell --as 王磊`, talked to the way a rep talks: no command words at all, and the
follow-ups land in the database with their customer, next step and due date."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.test_shell_session import chat, query, run

pytestmark = pytest.mark.slow

NOTES = (
    "启明那边刚打完电话，刘总说预算大概十二万五，下礼拜二之前要看到方案",
    "刚从瑞康药业出来，张经理让我们月底前报个价",
    "下午去了一趟，对方要求下周五前给试用账号",  # no customer: the bot asks which one
    "2",  # …and the answer completes it
    "你好",
)


@pytest.fixture(scope="module")
def talked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp_path = tmp_path_factory.mktemp("talk")
    demo = run(tmp_path, "demo")
    assert demo.returncode == 0, demo.stderr
    return tmp_path, chat(tmp_path, "王磊", *NOTES)


def test_every_note_lands_with_its_customer_next_step_and_due_date(
    talked: tuple[Path, str],
) -> None:
    tmp_path, _ = talked
    rows = query(
        tmp_path,
        "SELECT c.name, f.next_action, f.next_action_due_at, f.raw_text FROM followups f"
        " JOIN customers c ON c.id = f.customer_id JOIN users u ON u.id = f.author_id"
        " WHERE u.name = '王磊' AND f.raw_text IN (?, ?, ?) ORDER BY f.id",
        NOTES[0],
        NOTES[1],
        NOTES[2],
    )
    assert [r[3] for r in rows] == list(NOTES[:3])
    assert rows[0][0] == "杭州启明科技有限公司"
    assert rows[1][0] == "苏州瑞康药业有限公司"
    assert "看到方案" in rows[0][1]
    assert "报" in rows[1][1]
    assert "试用账号" in rows[2][1]
    assert all(due is not None for _, _, due, _ in rows)


def test_the_nameless_note_was_asked_about_with_numbers(talked: tuple[Path, str]) -> None:
    _, shown = talked
    assert "这条跟进是哪个客户的？" in shown
    assert "1. " in shown


def test_the_third_note_went_to_the_customer_picked(talked: tuple[Path, str]) -> None:
    tmp_path, shown = talked
    question = shown.split("这条跟进是哪个客户的？", 1)[1]
    picked = question.split("2. ", 1)[1].split("\n", 1)[0].strip()
    [(name,)] = query(
        tmp_path,
        "SELECT c.name FROM followups f JOIN customers c ON c.id = f.customer_id"
        " WHERE f.raw_text = ?",
        NOTES[2],
    )
    assert name == picked


def test_small_talk_got_help(talked: tuple[Path, str]) -> None:
    _, shown = talked
    assert "直接把跟进情况发给我" in shown.split("王磊> 你好", 1)[1]
