"""Importing customers: aliases, owner, stage and level, with the stage history kept."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import AuditEntry, Customer, StageChange, User
from tests.admin.conftest import CUSTOMERS_CSV

HEADER = "name,aliases,owner,stage,level\n"


async def customers_by_name(sessions) -> dict[str, Customer]:
    async with sessions() as db:
        return {c.name: c for c in (await db.execute(select(Customer))).scalars()}


async def test_customers_get_aliases_owner_stage_and_level(
    run_import, people, sessions, clock
) -> None:
    report = await run_import("customers", CUSTOMERS_CSV)
    customers = await customers_by_name(sessions)
    async with sessions() as db:
        wang = (await db.execute(select(User).where(User.name == "王磊"))).scalar_one()
    qiming = customers["杭州启明科技有限公司"]
    assert (report.created, report.ok) == (2, True)
    assert (qiming.aliases, qiming.owner_id, qiming.stage, qiming.level) == (
        ["启明科技", "启明"],
        wang.id,
        "方案",
        "A",
    )
    assert qiming.stage_entered_at == clock.now() == qiming.created_at


async def test_stage_and_level_default_to_the_first_stage_and_b(
    run_import, people, sessions
) -> None:
    await run_import("customers", CUSTOMERS_CSV)
    zheyi = (await customers_by_name(sessions))["浙江大学医学院附属第一医院"]
    assert (zheyi.stage, zheyi.level) == ("线索", "B")


async def test_aliases_are_trimmed_and_deduplicated(run_import, people, sessions) -> None:
    await run_import("customers", HEADER + "佛山宏达建材有限公司, 宏达建材 ｜宏达||宏达 ,王磊,,b\n")
    hongda = (await customers_by_name(sessions))["佛山宏达建材有限公司"]
    assert (hongda.aliases, hongda.level) == (["宏达建材", "宏达"], "B")


async def test_an_unknown_owner_is_refused(run_import, people, count) -> None:
    report = await run_import("customers", HEADER + "佛山宏达建材有限公司,宏达,张伟,,\n")
    assert [e.line for e in report.errors] == [2]
    assert "负责人「张伟」" in report.errors[0].reason
    assert await count(Customer) == 0


async def test_a_deactivated_owner_is_refused(run_import, people, sessions) -> None:
    async with sessions() as db, db.begin():
        wang = (await db.execute(select(User).where(User.name == "王磊"))).scalar_one()
        wang.active = False
    report = await run_import("customers", CUSTOMERS_CSV)
    assert [e.line for e in report.errors] == [2]
    assert "已停用" in report.errors[0].reason


async def test_a_bad_stage_is_refused_naming_the_stages(run_import, people) -> None:
    report = await run_import("customers", HEADER + "苏州瑞康药业有限公司,瑞康,王磊,洽谈,B\n")
    assert [e.line for e in report.errors] == [2]
    assert "线索、意向、方案、谈判、成交、丢单" in report.errors[0].reason


async def test_a_bad_level_is_refused(run_import, people) -> None:
    report = await run_import("customers", HEADER + "苏州瑞康药业有限公司,瑞康,王磊,意向,D\n")
    assert [e.line for e in report.errors] == [2]
    assert "等级「D」" in report.errors[0].reason


async def test_an_empty_owner_is_refused(run_import, people) -> None:
    report = await run_import("customers", HEADER + "苏州瑞康药业有限公司,瑞康,,意向,B\n")
    assert ["「owner」不能为空" in e.reason for e in report.errors] == [True]


async def test_an_alias_that_is_another_customers_name_is_refused(run_import, people) -> None:
    await run_import("customers", CUSTOMERS_CSV)
    report = await run_import(
        "customers", HEADER + "启明软件,杭州启明科技有限公司|启明软件公司,王磊,,\n"
    )
    assert [e.line for e in report.errors] == [2]


async def test_reimporting_the_same_customers_changes_nothing(run_import, people, count) -> None:
    await run_import("customers", CUSTOMERS_CSV)
    before = (await count(AuditEntry), await count(StageChange))
    report = await run_import("customers", CUSTOMERS_CSV)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    assert (await count(AuditEntry), await count(StageChange)) == before


async def test_a_new_stage_on_reimport_is_written_to_the_history(
    run_import, people, sessions, clock
) -> None:
    await run_import("customers", CUSTOMERS_CSV)
    clock.advance(days=3)
    report = await run_import(
        "customers", HEADER + "杭州启明科技有限公司,启明科技|启明,王磊,谈判,A\n", update=True
    )
    qiming = (await customers_by_name(sessions))["杭州启明科技有限公司"]
    async with sessions() as db:
        history = (
            await db.execute(
                select(StageChange.from_stage, StageChange.to_stage)
                .where(StageChange.customer_id == qiming.id)
                .order_by(StageChange.id)
            )
        ).all()
    assert report.updated == 1
    assert (qiming.stage, qiming.stage_entered_at) == ("谈判", clock.now())
    assert [tuple(h) for h in history] == [(None, "方案"), ("方案", "谈判")]


async def test_an_empty_stage_on_reimport_keeps_the_current_stage(
    run_import, people, sessions
) -> None:
    await run_import("customers", CUSTOMERS_CSV)
    report = await run_import("customers", HEADER + "杭州启明科技有限公司,启明科技|启明,王磊,,\n")
    qiming = (await customers_by_name(sessions))["杭州启明科技有限公司"]
    assert (report.unchanged, qiming.stage, qiming.level) == (1, "方案", "A")


async def test_a_new_owner_on_reimport_is_audited_by_name(run_import, people, sessions) -> None:
    await run_import("customers", CUSTOMERS_CSV)
    await run_import(
        "customers", HEADER + "杭州启明科技有限公司,启明科技|启明,李娜,方案,A\n", update=True
    )
    async with sessions() as db:
        entry = (
            (await db.execute(select(AuditEntry).order_by(AuditEntry.id.desc()))).scalars().first()
        )
    assert entry is not None
    assert (entry.entity, entry.before, entry.after) == (
        "customer",
        {"owner": "王磊"},
        {"owner": "李娜"},
    )


async def test_a_reimport_never_moves_owner_stage_or_aliases_without_update(
    run_import, people, sessions
) -> None:
    await run_import("customers", CUSTOMERS_CSV)
    report = await run_import("customers", HEADER + "杭州启明科技有限公司,,李娜,线索,A\n")
    qiming = (await customers_by_name(sessions))["杭州启明科技有限公司"]
    assert report.ok
    assert (report.updated, report.unchanged) == (0, 1)
    assert (qiming.stage, qiming.aliases) == ("方案", ["启明科技", "启明"])
    lines = "\n".join(report.lines())
    assert "--update" in lines
    assert "第 2 行" in lines
    assert "负责人 现为 王磊，文件为 李娜" in lines
    assert "阶段 现为 方案，文件为 线索" in lines
    assert "别名 现为 启明科技|启明，文件为 （空）" in lines


async def test_with_update_each_field_is_changed_and_audited_alone(
    run_import, people, sessions
) -> None:
    await run_import("customers", CUSTOMERS_CSV)
    report = await run_import(
        "customers", HEADER + "杭州启明科技有限公司,,李娜,线索,A\n", update=True
    )
    assert report.updated == 1
    qiming = (await customers_by_name(sessions))["杭州启明科技有限公司"]
    assert (qiming.stage, qiming.aliases) == ("线索", [])
    async with sessions() as db:
        entries = (
            (
                await db.execute(
                    select(AuditEntry)
                    .where(AuditEntry.entity_id == qiming.id)
                    .order_by(AuditEntry.id)
                )
            )
            .scalars()
            .all()
        )
    per_field = [(e.before, e.after) for e in entries if e.note and "--update" in e.note]
    assert ({"owner": "王磊"}, {"owner": "李娜"}) in per_field
    assert ({"stage": "方案"}, {"stage": "线索"}) in per_field
    assert ({"aliases": ["启明科技", "启明"]}, {"aliases": []}) in per_field


async def test_a_near_duplicate_name_is_refused_in_the_import(run_import, people, count) -> None:
    await run_import("customers", CUSTOMERS_CSV)
    report = await run_import("customers", HEADER + "杭州啟明科技股份有限公司,,王磊,,\n")
    assert not report.ok
    assert "与已有客户「杭州启明科技有限公司」重复" in "\n".join(report.lines())
    assert await count(Customer) == 2
