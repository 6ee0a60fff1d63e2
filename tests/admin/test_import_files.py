"""Import files as a whole: encodings, the header, line numbers, and all-or-nothing."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import AuditEntry, Customer, Team, User
from tests.admin.conftest import CUSTOMERS_CSV, TEAMS_CSV, USERS_CSV

BOM = b"\xef\xbb\xbf"


async def test_a_file_with_a_bom_imports_like_one_without(run_import, sessions) -> None:
    report = await run_import("teams", BOM + TEAMS_CSV.encode())
    async with sessions() as db:
        names = set((await db.execute(select(Team.name))).scalars())
    assert (report.ok, report.created, names) == (True, 2, {"华东一组", "华南二组"})


async def test_a_bom_is_not_taken_as_part_of_the_first_column_name(run_import) -> None:
    report = await run_import("teams", BOM + "name\n华东一组\n".encode())
    assert report.ok, report.lines()


async def test_an_empty_file_is_refused_on_line_1(run_import) -> None:
    for content in (b"", BOM, b"\n\n", b"  ,  \r\n"):
        report = await run_import("users", content)
        assert [e.line for e in report.errors] == [1], content
        assert "文件是空的" in report.errors[0].reason
        assert "name,role,team,manager,wecom_userid,dingtalk_userid" in report.errors[0].reason


async def test_a_file_that_is_not_utf8_names_each_bad_line(run_import, count) -> None:
    text = "name,role\n王磊,rep\nwang,rep\n李娜,rep\n"
    report = await run_import("users", text.encode("gbk"))
    assert [e.line for e in report.errors] == [2, 4]
    assert "UTF-8" in report.errors[0].reason
    assert await count(User) == 0


async def test_a_missing_required_column_is_named(run_import) -> None:
    report = await run_import("users", "name,team\n王磊,华东一组\n")
    assert [e.line for e in report.errors] == [1]
    assert "缺少必填列「role」" in report.errors[0].reason


async def test_an_extra_column_is_refused(run_import) -> None:
    report = await run_import("customers", "name,owner,phone\n杭州启明科技有限公司,王磊,0571\n")
    assert [e.line for e in report.errors] == [1]
    assert "未知的列「phone」" in report.errors[0].reason


async def test_a_misspelt_column_is_refused_with_a_suggestion(run_import) -> None:
    report = await run_import("teams", "name,wecom_webhok\n华东一组,abc\n")
    assert len(report.errors) == 1
    assert "是不是「wecom_webhook」" in report.errors[0].reason


async def test_a_column_given_twice_is_refused(run_import) -> None:
    report = await run_import("users", "name,role,role\n王磊,rep,rep\n")
    assert ["出现了两次" in e.reason for e in report.errors] == [True]


async def test_a_header_only_file_is_fine_and_imports_nothing(run_import, count) -> None:
    report = await run_import("teams", "name,wecom_webhook\n")
    assert (report.ok, report.created, await count(Team)) == (True, 0, 0)


async def test_optional_columns_left_out_of_the_header_are_empty(run_import, sessions) -> None:
    await run_import("teams", "name\n华东一组\n")
    report = await run_import("users", "name,role\n王磊,rep\n")
    async with sessions() as db:
        user = (await db.execute(select(User))).scalar_one()
    assert report.ok
    assert (user.team_id, user.manager_id, user.wecom_userid, user.dingtalk_userid) == (None,) * 4


async def test_windows_line_endings_and_padding_spaces_are_accepted(run_import, sessions) -> None:
    report = await run_import("teams", "name , wecom_webhook\r\n 华东一组 , key-1 \r\n")
    async with sessions() as db:
        team = (await db.execute(select(Team))).scalar_one()
    assert report.ok, report.lines()
    assert (team.name, team.wecom_webhook_key) == ("华东一组", "key-1")


async def test_line_numbers_count_the_header_blank_lines_and_quoted_line_breaks(
    run_import,
) -> None:
    text = 'name,role\n王磊,rep\n\n"李\n娜",boss\n张伟,sales\n'
    report = await run_import("users", text)
    assert [e.line for e in report.errors] == [4, 6]


async def test_a_row_with_more_cells_than_the_header_is_refused(run_import) -> None:
    report = await run_import("teams", "name\n华东一组,多余\n华南二组,,\n")
    assert [e.line for e in report.errors] == [2]  # empty trailing cells, as Excel writes, are fine


async def test_one_bad_row_imports_nothing_and_every_bad_line_is_named(
    run_import, people, count
) -> None:
    text = CUSTOMERS_CSV + (
        "佛山宏达建材有限公司,宏达建材|宏达,张伟,意向,B\n"
        "苏州瑞康药业有限公司,瑞康药业|瑞康,王磊,洽谈,B\n"
        "宁波海川物流有限公司,海川物流,李娜,成交,A\n"
        "温州东瓯电器有限公司,东瓯电器,王磊,线索,D\n"
    )
    audit_rows = await count(AuditEntry)
    report = await run_import("customers", text)
    assert not report.ok
    assert [e.line for e in report.errors] == [4, 5, 7]
    assert (await count(Customer), await count(AuditEntry)) == (0, audit_rows)


async def test_a_refused_file_reports_every_error_in_its_lines(run_import, people) -> None:
    report = await run_import("customers", "name,owner,level\n杭州启明科技有限公司,张伟,D\n")
    assert report.lines()[0].startswith("导入 customers 失败，没有写入任何数据：1 行有问题")
    assert [line.split("：")[0] for line in report.lines()[1:]] == ["第 2 行 (line 2)"] * 2


async def test_a_good_file_reports_its_counts_in_one_line(run_import) -> None:
    report = await run_import("teams", TEAMS_CSV)
    assert report.lines() == [
        "导入 teams 完成：新建 2，更新 0，未变 0 (created 2, updated 0, unchanged 0)"
    ]


async def test_each_created_row_writes_one_import_audit_row(run_import, sessions) -> None:
    await run_import("teams", TEAMS_CSV)
    await run_import("users", USERS_CSV)
    async with sessions() as db:
        rows = (await db.execute(select(AuditEntry))).scalars().all()
    assert [(r.action, r.entity) for r in rows] == [("import", "team")] * 2 + [
        ("import", "user")
    ] * 4


async def test_a_broken_quote_is_reported_on_its_line(run_import, count) -> None:
    report = await run_import("users", 'name,role\n王磊,rep\n李娜,"rep"x\n')
    assert [e.line for e in report.errors] == [3]
    assert "CSV 格式错误" in report.errors[0].reason
    assert await count(User) == 0


async def test_header_names_are_read_without_regard_to_case(run_import) -> None:
    report = await run_import("users", "Name,ROLE\n王磊,rep\n")
    assert report.ok, report.lines()


async def test_a_unicode_line_separator_inside_a_cell_is_not_a_new_line(run_import) -> None:
    report = await run_import("teams", "name\n华东\u2028一组\n华南二组,多余\n")
    assert [e.line for e in report.errors] == [3]
