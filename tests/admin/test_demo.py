"""The demo: a team, its people, a dozen customers in every stage; seeding twice adds nothing."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from handlers.demo import seed_demo
from storage.models import (
    AuditEntry,
    CodeCounter,
    Commitment,
    Customer,
    CustomerEvent,
    Followup,
    StageChange,
    Team,
    User,
)

TABLES = (Team, User, Customer, StageChange, Followup, Commitment, CodeCounter, CustomerEvent)


async def seed(sessions, clock, rules):
    async with sessions() as db, db.begin():
        return await seed_demo(db, now=clock.now(), rules=rules)


async def test_the_demo_seeds_a_team_its_people_and_customers_in_every_stage(
    sessions, clock, rules
) -> None:
    summary = await seed(sessions, clock, rules)
    async with sessions() as db:
        users = {u.name: u for u in (await db.execute(select(User))).scalars()}
        customers = (await db.execute(select(Customer))).scalars().all()
        team = (await db.execute(select(Team))).scalar_one()
    assert summary.changed
    assert summary.created["customer"] == len(customers) == 12
    assert team.name == "华东一组"
    assert {n: u.role for n, u in users.items()} == {
        "赵强": "director",
        "陈静": "manager",
        "王磊": "rep",
        "李娜": "rep",
        "张伟": "rep",
    }
    assert (users["王磊"].wecom_userid, users["王磊"].dingtalk_userid) == ("wanglei", "dt_wanglei")
    assert users["王磊"].manager_id == users["陈静"].id
    assert users["陈静"].manager_id == users["赵强"].id
    assert {c.stage for c in customers} == set(rules.stage_names)
    assert {c.owner_id for c in customers} == {users[n].id for n in ("王磊", "李娜", "张伟")}


async def test_the_demo_knows_qiming_by_its_aliases(sessions, clock, rules) -> None:
    await seed(sessions, clock, rules)
    async with sessions() as db:
        qiming = (
            await db.execute(select(Customer).where(Customer.name == "杭州启明科技有限公司"))
        ).scalar_one()
    assert qiming.aliases == ["启明科技", "启明"]


async def test_seeding_the_demo_twice_changes_nothing(sessions, clock, rules, count) -> None:
    await seed(sessions, clock, rules)
    before = [await count(t) for t in (*TABLES, AuditEntry)]
    clock.advance(days=2)
    again = await seed(sessions, clock, rules)
    assert not again.changed
    assert again.lines() == [
        "演示数据已经在库里，没有改动 (demo data already present, nothing changed)"
    ]
    assert [await count(t) for t in (*TABLES, AuditEntry)] == before


async def test_demo_history_lies_in_the_past(sessions, clock, rules) -> None:
    await seed(sessions, clock, rules)
    now = clock.now()
    async with sessions() as db:
        customers = (await db.execute(select(Customer))).scalars().all()
        history = (await db.execute(select(StageChange))).scalars().all()
        followups = (await db.execute(select(Followup))).scalars().all()
    assert all(c.created_at <= c.stage_entered_at < now for c in customers)
    assert all(h.at < now for h in history)
    assert all(f.created_at < now for f in followups)
    last_moves = {}
    for h in sorted(history, key=lambda h: h.at):
        last_moves[h.customer_id] = h
    assert all(last_moves[c.id].to_stage == c.stage for c in customers)
    assert all(last_moves[c.id].at == c.stage_entered_at for c in customers)


async def test_some_demo_customers_are_stalled_past_their_threshold(sessions, clock, rules) -> None:
    await seed(sessions, clock, rules)
    async with sessions() as db:
        customers = (await db.execute(select(Customer))).scalars().all()
    stalled = [
        c.name
        for c in customers
        if (days := rules.stage(c.stage).stall_days)
        and clock.now() - c.stage_entered_at > timedelta(days=days)
        and (c.last_evidence_at is None or c.last_evidence_at < c.stage_entered_at)
    ]
    assert len(stalled) >= 3
    assert "浙江大学医学院附属第一医院" in stalled


async def test_demo_commitments_have_codes_the_day_counter_continues(
    sessions, clock, rules
) -> None:
    await seed(sessions, clock, rules)
    async with sessions() as db:
        commitments = (await db.execute(select(Commitment))).scalars().all()
        counters = {
            (c.kind, c.day): c.last_seq for c in (await db.execute(select(CodeCounter))).scalars()
        }
    assert {c.status for c in commitments} == {"open", "kept"}
    for commitment in commitments:
        match = re.fullmatch(r"C-(\d{8})-(\d{3})", commitment.code)
        assert match, commitment.code
        assert counters[("C", match[1])] >= int(match[2])


async def test_demo_codes_continue_a_day_that_already_has_codes(sessions, clock, rules) -> None:
    async with sessions() as db, db.begin():  # 启明's commitment is made 50 hours before now
        db.add(CodeCounter(kind="C", day="20260303", last_seq=4))
    await seed(sessions, clock, rules)
    async with sessions() as db:
        codes = set((await db.execute(select(Commitment.code))).scalars())
    assert "C-20260303-005" in codes


async def test_the_demo_leaves_an_existing_customer_and_its_history_alone(
    sessions, clock, rules
) -> None:
    async with sessions() as db, db.begin():
        db.add(
            Customer(
                name="杭州启明科技有限公司",
                aliases=[],
                stage="线索",
                stage_entered_at=clock.now(),
                created_at=clock.now(),
            )
        )
    summary = await seed(sessions, clock, rules)
    async with sessions() as db:
        qiming = (
            await db.execute(select(Customer).where(Customer.name == "杭州启明科技有限公司"))
        ).scalar_one()
        followups = (
            await db.execute(select(Followup).where(Followup.customer_id == qiming.id))
        ).all()
    assert (qiming.stage, qiming.aliases, followups) == ("线索", [], [])
    assert summary.created["customer"] == 11


async def test_the_summary_says_what_was_seeded_and_how_to_try_it(sessions, clock, rules) -> None:
    lines = (await seed(sessions, clock, rules)).lines()
    assert lines[0].startswith("演示数据已写入 (demo data seeded)：团队 1，用户 5，")
    assert "客户 12" in lines[0]
    assert "salesbot shell --as 王磊" in lines[1]
