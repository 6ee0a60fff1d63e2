"""Importing users: roles, teams, managers anywhere in the file, unique platform ids."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import AuditEntry, User
from tests.admin.conftest import TEAMS_CSV, USERS_CSV

HEADER = "name,role,team,manager,wecom_userid,dingtalk_userid\n"


async def users_by_name(sessions) -> dict[str, User]:
    async with sessions() as db:
        return {u.name: u for u in (await db.execute(select(User))).scalars()}


async def test_users_get_their_role_team_manager_and_platform_ids(
    run_import, people, sessions
) -> None:
    users = await users_by_name(sessions)
    wang, chen, zhao = users["王磊"], users["陈静"], users["赵强"]
    assert (wang.role, wang.manager_id, wang.wecom_userid, wang.dingtalk_userid) == (
        "rep",
        chen.id,
        "wanglei",
        "dt_wanglei",
    )
    assert (chen.role, chen.manager_id, zhao.team_id, zhao.dingtalk_userid) == (
        "manager",
        zhao.id,
        None,
        None,
    )
    assert wang.team_id == chen.team_id is not None
    assert all(u.active for u in users.values())


async def test_a_bad_role_is_refused(run_import, count) -> None:
    await run_import("teams", TEAMS_CSV)
    report = await run_import("users", HEADER + "王磊,sales,华东一组,,,\n")
    assert [e.line for e in report.errors] == [2]
    assert "角色「sales」不对" in report.errors[0].reason
    assert await count(User) == 0


async def test_chinese_role_words_and_capitals_are_understood(run_import, sessions) -> None:
    report = await run_import("users", "name,role\n王磊,销售\n陈静,主管\n赵强,Director\n")
    users = await users_by_name(sessions)
    assert report.ok, report.lines()
    assert {n: u.role for n, u in users.items()} == {
        "王磊": "rep",
        "陈静": "manager",
        "赵强": "director",
    }


async def test_an_unknown_team_is_refused(run_import) -> None:
    await run_import("teams", TEAMS_CSV)
    report = await run_import("users", HEADER + "王磊,rep,华东三组,,,\n")
    assert [e.line for e in report.errors] == [2]
    assert "「华东三组」的团队" in report.errors[0].reason


async def test_an_unknown_manager_is_refused(run_import) -> None:
    report = await run_import(
        "users", "name,role,manager\n王磊,rep,陈静\n李娜,rep,陈晶\n陈静,manager,\n"
    )
    assert [e.line for e in report.errors] == [3]
    assert "上级「陈晶」" in report.errors[0].reason


async def test_a_manager_already_in_the_database_is_found(run_import, sessions) -> None:
    await run_import("users", "name,role\n陈静,manager\n")
    report = await run_import("users", "name,role,manager\n张伟,rep,陈静\n")
    users = await users_by_name(sessions)
    assert report.ok
    assert users["张伟"].manager_id == users["陈静"].id


async def test_a_name_given_twice_is_refused_naming_the_first_line(run_import, count) -> None:
    report = await run_import("users", "name,role\n王磊,rep\n李娜,rep\n王磊,manager\n")
    assert [(e.line, "与第 2 行重复" in e.reason) for e in report.errors] == [(4, True)]
    assert await count(User) == 0


async def test_a_platform_id_used_twice_in_the_file_is_refused(run_import) -> None:
    report = await run_import(
        "users", "name,role,wecom_userid\n王磊,rep,wanglei\n李娜,rep,wanglei\n"
    )
    assert [e.line for e in report.errors] == [3]


async def test_a_platform_id_held_by_another_user_is_refused(run_import, people) -> None:
    report = await run_import("users", "name,role,dingtalk_userid\n张伟,rep,dt_lina\n")
    assert [e.line for e in report.errors] == [2]
    assert "已被「李娜」使用" in report.errors[0].reason


async def test_two_users_can_swap_platform_ids_in_one_import(run_import, people, sessions) -> None:
    report = await run_import("users", "name,role,wecom_userid\n王磊,rep,lina\n李娜,rep,wanglei\n")
    users = await users_by_name(sessions)
    assert report.ok, report.lines()
    assert (users["王磊"].wecom_userid, users["李娜"].wecom_userid) == ("lina", "wanglei")


async def test_a_manager_loop_is_refused(run_import) -> None:
    report = await run_import(
        "users", "name,role,manager\n王磊,rep,李娜\n李娜,rep,王磊\n张伟,rep,张伟\n"
    )
    assert [e.line for e in report.errors] == [2, 3, 4]
    assert "王磊 → 李娜 → 王磊" in report.errors[0].reason


async def test_reimporting_the_same_users_changes_nothing(run_import, people, count) -> None:
    audit_rows = await count(AuditEntry)
    report = await run_import("users", USERS_CSV)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 4)
    assert await count(AuditEntry) == audit_rows


async def test_a_changed_manager_is_audited_by_name(run_import, people, sessions) -> None:
    report = await run_import("users", "name,role,manager\n王磊,rep,赵强\n")
    async with sessions() as db:
        entry = (
            (await db.execute(select(AuditEntry).order_by(AuditEntry.id.desc()))).scalars().first()
        )
    assert (report.updated, report.unchanged) == (1, 0)
    assert entry is not None
    assert (entry.action, entry.before, entry.after) == (
        "import",
        {"manager": "陈静"},
        {"manager": "赵强"},
    )
