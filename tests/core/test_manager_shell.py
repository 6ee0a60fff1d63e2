"""A manager of another team in `salesbot shell`: reads 华东一组's customers and figures, and is
refused the changes that belong to that team (阶段) or to the rep (兑现)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.core.test_shell_session import chat, query, run

pytestmark = pytest.mark.slow

TEAMS = (
    "name,wecom_webhook,dingtalk_conversation_id,dingtalk_webhook,dingtalk_secret\n华南二组,,,,\n"
)
USERS = (
    "name,role,team,manager,wecom_userid,dingtalk_userid\n"
    "周敏,manager,华南二组,赵强,zhoumin,dt_zhoumin\n"
    "孙浩,rep,华南二组,周敏,sunhao,dt_sunhao\n"
)


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    tmp_path = tmp_path_factory.mktemp("manager")
    assert run(tmp_path, "demo").returncode == 0
    (tmp_path / "teams.csv").write_text(TEAMS, encoding="utf-8")
    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    for kind in ("teams", "users"):
        done = run(tmp_path, "import", kind, str(tmp_path / f"{kind}.csv"))
        assert done.returncode == 0, done.stdout + done.stderr
    [(code, stage)] = query(
        tmp_path,
        "SELECT m.code, c.stage FROM commitments m JOIN customers c ON c.id = m.customer_id"
        " WHERE m.status = 'open' AND c.name = '杭州启明科技有限公司' ORDER BY m.id LIMIT 1",
    )
    out = chat(
        tmp_path,
        "周敏",
        "客户 杭州启明科技有限公司",
        "为什么 杭州启明科技有限公司",
        "阶段 杭州启明科技有限公司 丢单",
        f"兑现 {code}",
        "团队 华东一组",
        "团队承诺 华东一组",
        "简报 华东一组",
    )
    return tmp_path, out, str(stage)


def test_the_other_teams_manager_reads_the_customer(shell: tuple[Path, str, str]) -> None:
    _, out, _ = shell
    assert "【客户】杭州启明科技有限公司" in out
    assert "负责人：王磊" in out
    assert "「杭州启明科技有限公司」时间线" in out


def test_the_stage_change_and_keeping_the_promise_are_refused(
    shell: tuple[Path, str, str],
) -> None:
    tmp_path, out, stage = shell
    assert "不是你团队的客户：你可以查看" in out
    assert "只能由负责的销售本人操作" in out
    rows = query(tmp_path, "SELECT stage FROM customers WHERE name = '杭州启明科技有限公司'")
    assert rows == [(stage,)]
    denied = query(tmp_path, "SELECT count(*) FROM audit_log WHERE action = 'denied'")
    assert denied == [(2,)]


def test_team_figures_match_the_database(shell: tuple[Path, str, str]) -> None:
    tmp_path, out, _ = shell
    [(customers,)] = query(
        tmp_path,
        "SELECT count(*) FROM customers c JOIN users u ON u.id = c.owner_id"
        " JOIN teams t ON t.id = u.team_id WHERE t.name = '华东一组' AND u.role = 'rep'",
    )
    [(reps,)] = query(
        tmp_path,
        "SELECT count(*) FROM users u JOIN teams t ON t.id = u.team_id"
        " WHERE t.name = '华东一组' AND u.role = 'rep' AND u.active",
    )
    assert "👥 华东一组" in out
    assert f"{reps} 名销售，{customers} 个客户" in out
    [(open_promises,)] = query(
        tmp_path,
        "SELECT count(*) FROM commitments m JOIN users u ON u.id = m.owner_id"
        " JOIN teams t ON t.id = u.team_id WHERE t.name = '华东一组' AND m.status = 'open'",
    )
    assert re.search(rf"华东一组 未兑现的承诺 {open_promises} 条", out)
    assert "华东一组 每日简报" in out
    assert "🔻 客户漏斗：" in out


def test_the_watch_job_on_the_demo_prints_plain_pushes_one_per_customer(
    tmp_path: Path,
) -> None:
    assert run(tmp_path, "demo").returncode == 0
    later = run(tmp_path, "jobs", "run", "watch", "--now", "2027-01-20T10:00:00+08:00")
    assert later.returncode == 0, later.stderr
    pushes = [line for line in later.stdout.splitlines() if line.startswith("  → ")]
    assert pushes, later.stdout
    for word in ("阈值", "宽限", "证据", "补发", "匹配度", "dedupe"):
        assert word not in later.stdout
    cards = [
        (line.split("：", 1)[0], line.split("【", 1)[1].split("·", 1)[0])
        for line in pushes
        if "【" in line and "（2/" not in line and "（3/" not in line
    ]
    assert len(cards) == len(set(cards)), cards  # each person hears of each customer once
    assert later.stdout.rstrip().splitlines()[-1].startswith("raised ")
