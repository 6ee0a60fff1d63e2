"""Importing teams: group-robot keys from URLs, upsert by name, secrets kept out of the audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.imports import webhook_key
from storage.models import AuditEntry, Team
from tests.admin.conftest import TEAMS_CSV

KEY = "693a91f6-7b2c-4bc4-97a0-0ec2f1e5a8d1"


async def test_a_webhook_url_is_stored_as_its_key(run_import, sessions) -> None:
    await run_import("teams", TEAMS_CSV)
    async with sessions() as db:
        team = (await db.execute(select(Team).where(Team.name == "华东一组"))).scalar_one()
    assert team.wecom_webhook_key == KEY
    assert team.dingtalk_webhook == "https://oapi.dingtalk.com/robot/send?access_token=4f2e9c"
    assert (team.dingtalk_conversation_id, team.dingtalk_secret) == (
        "cid8Xk2Hq3ZpT0w==",
        "SEC7a1b2c3d",
    )


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (KEY, KEY),
        (f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}", KEY),
        (f"https://wecom.example.cn/cgi-bin/webhook/send?key={KEY}&debug=1", KEY),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send", None),
        ("https://qyapi.weixin.qq.com/cgi-bin/message/send?key=abc", None),
        ("key with spaces", None),
    ],
)
def test_a_webhook_is_a_bare_key_or_a_send_url_with_one(given: str, kept: str | None) -> None:
    assert webhook_key(given) == kept


async def test_a_webhook_url_without_a_key_is_refused(run_import, count) -> None:
    report = await run_import(
        "teams", "name,wecom_webhook\n华东一组,https://qyapi.weixin.qq.com/cgi-bin/webhook/send\n"
    )
    assert [e.line for e in report.errors] == [2]
    assert "群机器人" in report.errors[0].reason
    assert await count(Team) == 0


async def test_a_dingtalk_webhook_must_be_https(run_import) -> None:
    report = await run_import("teams", "name,dingtalk_webhook\n华东一组,oapi.dingtalk.com/robot\n")
    assert [e.line for e in report.errors] == [2]


async def test_reimporting_the_same_teams_changes_nothing(run_import, count) -> None:
    await run_import("teams", TEAMS_CSV)
    audit_rows = await count(AuditEntry)
    report = await run_import("teams", TEAMS_CSV)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    assert await count(AuditEntry) == audit_rows


async def test_a_changed_team_is_updated_and_its_secret_never_reaches_the_audit(
    run_import, sessions
) -> None:
    await run_import("teams", TEAMS_CSV)
    report = await run_import("teams", "name,dingtalk_secret\n华东一组,SECnew9f8e\n")
    async with sessions() as db:
        team = (await db.execute(select(Team).where(Team.name == "华东一组"))).scalar_one()
        last = (await db.execute(select(AuditEntry).order_by(AuditEntry.id.desc()))).scalars()
        entry = last.first()
    assert (report.updated, team.dingtalk_secret, team.wecom_webhook_key) == (1, "SECnew9f8e", KEY)
    assert entry is not None
    assert (entry.before, entry.after) == ({"dingtalk_secret": "***"}, {"dingtalk_secret": "***"})


async def test_an_empty_cell_in_a_given_column_clears_the_value(run_import, sessions) -> None:
    await run_import("teams", TEAMS_CSV)
    report = await run_import("teams", "name,wecom_webhook\n华东一组,\n")
    async with sessions() as db:
        team = (await db.execute(select(Team).where(Team.name == "华东一组"))).scalar_one()
    assert (report.updated, team.wecom_webhook_key) == (1, None)
