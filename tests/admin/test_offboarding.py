"""Offboarding: a leaving rep's open work goes to a colleague, audited, and everyone is told."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from handlers.demo import seed_demo
from handlers.errors import UserError
from handlers.offboarding import deactivate_user
from storage.models import AuditEntry, Commitment, Customer, Task, User

WANG_CUSTOMERS = [
    "杭州启明科技有限公司",
    "苏州瑞康药业有限公司",
    "温州东瓯电器有限公司",
    "无锡恒通精密机械有限公司",
]


@pytest.fixture
async def team(sessions, clock, rules) -> dict[str, int]:
    """The demo, plus one open and one done task for 王磊; returns user ids by name."""
    async with sessions() as db, db.begin():
        await seed_demo(db, now=clock.now(), rules=rules)
        users = {u.name: u.id for u in (await db.execute(select(User))).scalars()}
        qiming = (
            await db.execute(select(Customer).where(Customer.name == "杭州启明科技有限公司"))
        ).scalar_one()
        for key, status in (("visit-1", "accepted"), ("visit-0", "done")):
            db.add(task_for(qiming.id, users["王磊"], key, status, clock.now()))
    return users


def task_for(customer_id: int, user_id: int, key: str, status: str, now) -> Task:
    return Task(
        dedupe_key=key,
        template_key="satisfaction_visit",
        title="交付后满意度回访",
        checklist=["电话或上门回访关键用户"],
        customer_id=customer_id,
        assignee_id=user_id,
        push_at=now - timedelta(days=1),
        accept_by=now,
        due_at=now + timedelta(days=2),
        status=status,
        last_activity_at=now - timedelta(days=1),
        created_at=now - timedelta(days=1),
    )


async def deactivate(sessions, clock, name="王磊", to="李娜", actor_id=None):
    async with sessions() as db, db.begin():
        return await deactivate_user(db, name, to, now=clock.now(), actor_id=actor_id)


async def test_a_leaving_reps_customers_open_commitments_and_open_tasks_go_to_the_colleague(
    team, sessions, clock
) -> None:
    report = await deactivate(sessions, clock)
    async with sessions() as db:
        owned = (
            await db.execute(select(Customer.name).where(Customer.owner_id == team["李娜"]))
        ).scalars()
        wang = await db.get(User, team["王磊"])
        left = (await db.execute(select(Customer).where(Customer.owner_id == team["王磊"]))).all()
        open_tasks = (
            await db.execute(select(Task.dedupe_key).where(Task.assignee_id == team["李娜"]))
        ).scalars()
        lina_codes = (
            await db.execute(
                select(Commitment.code).where(
                    Commitment.owner_id == team["李娜"], Commitment.status == "open"
                )
            )
        ).scalars()
        open_codes = list(lina_codes)
    assert (report.customers, len(report.commitments), report.tasks) == (WANG_CUSTOMERS, 1, 1)
    assert set(WANG_CUSTOMERS) <= set(owned)
    assert report.commitments[0] in open_codes
    assert (wang is not None and wang.active, left, list(open_tasks)) == (False, [], ["visit-1"])


async def test_kept_commitments_and_done_tasks_stay_with_the_leaving_rep(
    team, sessions, clock
) -> None:
    await deactivate(sessions, clock, name="李娜", to="张伟")
    async with sessions() as db:
        kept = (
            await db.execute(select(Commitment.owner_id).where(Commitment.status == "kept"))
        ).scalars()
        assert list(kept) == [team["李娜"]]
    await deactivate(sessions, clock, to="张伟")
    async with sessions() as db:
        done = (await db.execute(select(Task.assignee_id).where(Task.status == "done"))).scalars()
        assert list(done) == [team["王磊"]]


async def test_every_handover_is_audited_as_offboard(team, sessions, clock) -> None:
    await deactivate(sessions, clock, actor_id=team["陈静"])
    async with sessions() as db:
        rows = (
            await db.execute(select(AuditEntry).where(AuditEntry.action == "offboard"))
        ).scalars()
        entries = list(rows)
    assert sorted(e.entity for e in entries) == ["commitment", "customer", "customer", "customer",
                                                 "customer", "task", "user"]  # fmt: skip
    assert all(e.actor_id == team["陈静"] and e.at == clock.now() for e in entries)
    customer_entry = next(e for e in entries if e.entity == "customer")
    assert (customer_entry.before, customer_entry.after) == (
        {"owner": "王磊", "owner_id": team["王磊"]},
        {"owner": "李娜", "owner_id": team["李娜"]},
    )


async def test_the_colleague_the_leaver_and_the_manager_are_told(team, sessions, clock) -> None:
    report = await deactivate(sessions, clock)
    told = {n.user_id: n.text for n in report.notices}
    assert set(told) == {team["李娜"], team["王磊"], team["陈静"]}
    assert told[team["李娜"]].startswith("王磊 的工作已转给你：客户 4 个、未兑现承诺 1 个")
    assert "杭州启明科技有限公司" in told[team["李娜"]]
    assert "已转给 李娜" in told[team["王磊"]]
    assert told[team["陈静"]].startswith("王磊 已停用")


async def test_a_manager_taking_over_is_told_once(team, sessions, clock) -> None:
    report = await deactivate(sessions, clock, to="陈静")
    assert sorted(n.user_id for n in report.notices) == sorted([team["陈静"], team["王磊"]])


async def test_the_report_prints_the_counts_and_the_customers(team, sessions, clock) -> None:
    lines = (await deactivate(sessions, clock)).lines()
    assert lines[0].startswith(
        "王磊 已停用，转给 李娜：客户 4 个，未兑现承诺 1 个，未完成任务 1 个"
    )
    assert lines[1] == "客户 (customers)：" + "、".join(WANG_CUSTOMERS)


@pytest.mark.parametrize(
    ("name", "to", "problem"),
    [
        ("王磊", "王磊", "不能把 王磊 的客户转给他自己"),
        ("王磊", "刘洋", "没找到接手人「刘洋」"),
        ("王小磊", "李娜", "没找到用户「王小磊」"),
    ],
)
async def test_a_handover_to_nobody_valid_is_refused(
    team, sessions, clock, name, to, problem
) -> None:
    with pytest.raises(UserError) as refused:
        await deactivate(sessions, clock, name=name, to=to)
    assert refused.value.problem.startswith(problem)
    assert refused.value.example == "salesbot users deactivate 王磊 --to 李娜"


async def test_a_handover_to_an_inactive_colleague_is_refused(team, sessions, clock) -> None:
    await deactivate(sessions, clock, name="张伟", to="李娜")
    with pytest.raises(UserError, match="接手人「张伟」已停用"):
        await deactivate(sessions, clock, name="王磊", to="张伟")
    async with sessions() as db:
        wang = await db.get(User, team["王磊"])
    assert wang is not None
    assert wang.active


async def test_running_it_again_moves_nothing_more(team, sessions, clock, count) -> None:
    await deactivate(sessions, clock)
    audit_rows = await count(AuditEntry)
    again = await deactivate(sessions, clock)
    assert (again.customers, again.commitments, again.tasks, again.was_active) == ([], [], 0, False)
    assert await count(AuditEntry) == audit_rows
