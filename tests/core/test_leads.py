"""Leads: intake in chat and CSV, assignment by region and load, the cap, 已联系, the clock."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import select, update

from config.rules import load_rules
from handlers.chat import Card, RecipientKind
from handlers.imports import import_csv
from handlers.leads.clock import add_business_hours
from handlers.leads.intake import LeadInput, create_lead
from handlers.watch.scan import run_watch
from storage.models import Customer, Lead, Team
from tests.core.conftest import SHANGHAI, SeededTeam, local


def company(n: int) -> str:
    """A made-up company name far from every other n's (the duplicate check is fuzzy)."""
    return "".join(chr(0x4E00 + (n * 7919 + k * 104729) % 20000) for k in range(4)) + "有限公司"


async def cover(team: SeededTeam, **regions: list[str] | None) -> None:
    async with team.sessions() as db, db.begin():
        for name, covered in regions.items():
            await db.execute(update(Team).where(Team.name == name).values(regions=covered))


async def post(team: SeededTeam, name: str, region: str | None = "华东", source: str = "官网表单"):
    async with team.sessions() as db, db.begin():
        return await create_lead(
            db, team.ctx, LeadInput(name=name, source=source, region=region), now=team.clock.now()
        )


@pytest.fixture
async def regions(team: SeededTeam) -> SeededTeam:
    await cover(team, 华东一组=["华东", "上海"], 华南一组=["华南"])
    return team


async def test_a_lead_goes_to_a_rep_of_the_team_covering_its_region(regions: SeededTeam) -> None:
    south = await post(regions, "深圳华强电子", region="华南")
    assert south.assigned_to is not None
    assert south.assigned_to.name == "张伟"
    [card] = south.pushes
    assert (card.kind, card.recipient_id) == (RecipientKind.USER, regions.users["张伟"])
    assert isinstance(card.message, Card)
    assert card.message.buttons[0].key == f"已联系 L{south.lead.id}"
    assert (await regions.customer("深圳华强电子")).owner_id == regions.users["张伟"]


async def test_ties_go_round_robin_and_load_decides_first(regions: SeededTeam) -> None:
    given = [(await post(regions, company(n))).assigned_to for n in range(4)]
    assert [rep.name for rep in given if rep] == ["王磊", "李娜", "王磊", "李娜"]
    await regions.talk("王磊", f"已联系 {company(0)}")  # 王磊 now holds one open lead, 李娜 two
    assert (await post(regions, company(4))).assigned_to.name == "王磊"  # type: ignore[union-attr]


async def test_a_region_nobody_covers_asks_the_director(regions: SeededTeam) -> None:
    result = await post(regions, "成都天府软件", region="西南")
    assert result.assigned_to is None
    [ask] = result.pushes
    assert ask.recipient_id == regions.users["赵强"]
    assert "分配 L" in ask.message.text  # type: ignore[union-attr]


async def test_a_lead_without_region_goes_to_a_team_without_regions(team: SeededTeam) -> None:
    await cover(team, 华东一组=["华东"], 华南一组=None)
    result = await post(team, "无地区客户", region=None)
    assert result.assigned_to is not None
    assert result.assigned_to.name == "张伟"


async def test_reps_at_the_cap_get_nothing_and_the_manager_is_asked(regions: SeededTeam) -> None:
    for n in range(10):
        await post(regions, company(100 + n))
    result = await post(regions, "第十一条")
    assert result.assigned_to is None
    [ask] = result.pushes
    assert ask.recipient_id == regions.users["陈静"]
    text = ask.message.text  # type: ignore[union-attr]
    assert f"分配 L{result.lead.id} <姓名>" in text
    answer = await regions.talk("陈静", f"分配 L{result.lead.id} 李娜")
    assert f"已把线索 L{result.lead.id} 第十一条 分配给 李娜" in answer
    assert (await regions.customer("第十一条")).owner_id == regions.users["李娜"]


async def test_a_rep_may_not_assign_leads(regions: SeededTeam) -> None:
    result = await post(regions, "某客户")
    answer = await regions.talk("王磊", f"分配 L{result.lead.id} 李娜")
    assert "「分配」只有主管可以使用" in answer


async def test_contacted_records_the_first_touch_once(regions: SeededTeam) -> None:
    result = await post(regions, "杭州云栖科技")
    answer = await regions.talk("王磊", f"已联系 L{result.lead.id}")
    assert "已记录首次联系" in answer
    assert "已经联系过了" in await regions.talk("王磊", "已联系 云栖科技")
    async with regions.sessions() as db:
        lead = await db.get_one(Lead, result.lead.id)
    assert lead.first_touched_at == regions.clock.now()


async def test_a_followup_is_a_first_touch_too(regions: SeededTeam) -> None:
    result = await post(regions, "杭州云栖科技")
    regions.clock.advance(hours=1)
    await regions.talk("王磊", "跟进 云栖科技 电话沟通了需求，下周二前发方案")
    async with regions.sessions() as db:
        lead = await db.get_one(Lead, result.lead.id)
    assert lead.first_touched_at == regions.clock.now()


async def test_an_untouched_lead_escalates_to_the_managers_group_after_its_clock(
    regions: SeededTeam,
) -> None:
    touched = await post(regions, "已联系客户")
    untouched = await post(regions, "没人理的客户")
    await regions.talk("王磊", f"已联系 L{touched.lead.id}")
    now = untouched.lead.touch_due_at + timedelta(hours=1)  # type: ignore[operator]
    async with regions.sessions() as db, db.begin():
        early = now - timedelta(hours=1, minutes=1)
        before = await run_watch(db, regions.ctx, now=early)
        result = await run_watch(db, regions.ctx, now=now)
    assert [r for r in before.raised if r.customer.endswith("客户")] == []
    east = await _team_id(regions, "华东一组")
    groups = [p for p in result.pushes if p.kind == RecipientKind.TEAM]
    assert [p.recipient_id for p in groups] == [east]
    mine = {(r.customer, r.level) for r in result.raised if r.customer.endswith("客户")}
    assert mine == {("没人理的客户", "yellow"), ("没人理的客户", "red")}


async def _team_id(team: SeededTeam, name: str) -> int:
    async with team.sessions() as db:
        return (await db.execute(select(Team.id).where(Team.name == name))).scalar_one()


def test_a_friday_evening_lead_is_due_monday() -> None:
    rules = load_rules()
    friday = local(2026, 3, 6, 20, 0)  # a Friday
    due = add_business_hours(friday, 24, rules, SHANGHAI)
    assert due == local(2026, 3, 9, 20, 0).astimezone(due.tzinfo)


def test_business_hours_and_per_source_clocks_come_from_the_rules() -> None:
    rules = load_rules().model_copy(
        update={
            "leads": load_rules().leads.model_copy(
                update={
                    "business_start": time(9, 0),
                    "business_end": time(18, 0),
                }
            )
        }
    )
    due = add_business_hours(local(2026, 3, 6, 17, 0), 2, rules, SHANGHAI)  # Friday 17:00
    assert due == local(2026, 3, 9, 10, 0).astimezone(due.tzinfo)  # 1 h Friday, 1 h Monday


async def test_new_lead_in_chat_is_the_reps_own(regions: SeededTeam) -> None:
    answer = await regions.talk(
        "李娜", "新线索 杭州西溪医疗器械有限公司 展会 地区 华东 联系人 刘总 电话 13800138000"
    )
    assert answer.startswith("已登记线索 L")
    assert "归你跟进" in answer
    async with regions.sessions() as db:
        lead = (await db.execute(select(Lead))).scalar_one()
    assert (lead.source, lead.region, lead.contact, lead.phone) == (
        "展会",
        "华东",
        "刘总",
        "13800138000",
    )
    assert lead.assigned_to_id == regions.users["李娜"]


async def test_new_lead_with_an_unknown_source_is_refused(regions: SeededTeam) -> None:
    answer = await regions.talk("李娜", "新线索 某某公司 路边捡的")
    assert "来源「路边捡的」不在规则的来源渠道里" in answer
    assert "请这样写：新线索 " in answer
    assert await regions.count(Lead) == 0


async def test_new_lead_for_an_existing_customer_is_refused(regions: SeededTeam) -> None:
    answer = await regions.talk("李娜", "新线索 杭州启明科技 展会")
    assert "客户「杭州启明科技有限公司」已经存在" in answer


CSV = (
    "name,source,region,contact,phone,budget,urgency,note\n"
    "宁波甬江港务,展会,华东,马经理,13900001111,50-80万,高,展会留资\n"
    "深圳鹏城智能,官网表单,华南,,,,,\n"
)


async def test_imported_leads_are_assigned_and_carded(regions: SeededTeam) -> None:
    async with regions.sessions() as db, db.begin():
        report = await import_csv(
            db, "leads", CSV.encode(), now=regions.clock.now(), rules=regions.ctx.rules, tz=SHANGHAI
        )
    assert report.ok
    assert report.created == 2
    assert sorted(p.recipient_id for p in report.pushes) == sorted(
        [regions.users["王磊"], regions.users["张伟"]]
    )
    assert (await regions.customer_by_name("宁波甬江港务")).owner_id == regions.users["王磊"]


async def test_a_bad_lead_file_imports_nothing_and_names_each_line(regions: SeededTeam) -> None:
    bad = CSV + "佛山宏达建材,展会,华南,,,,,\n某公司,传单,,,,,,\n某厂,展会,,,abc,,,\n"
    async with regions.sessions() as db, db.begin():
        report = await import_csv(
            db, "leads", bad.encode(), now=regions.clock.now(), rules=regions.ctx.rules
        )
    lines = report.lines()
    assert not report.ok
    assert "第 4 行" in lines[1]
    assert "已经存在" in lines[1]
    assert "第 5 行" in lines[2]
    assert "来源「传单」" in lines[2]
    assert "第 6 行" in lines[3]
    assert "电话「abc」" in lines[3]
    assert await regions.count(Lead) == 0
    assert await regions.count(Customer, Customer.name == "宁波甬江港务") == 0


async def test_undo_takes_back_contacted(regions: SeededTeam) -> None:
    result = await post(regions, "杭州云栖科技")
    await regions.talk("王磊", f"已联系 L{result.lead.id}")
    assert "已撤销：已联系" in await regions.talk("王磊", "撤销")
    async with regions.sessions() as db:
        assert (await db.get_one(Lead, result.lead.id)).first_touched_at is None
