"""The set-based stall scan and handlers.stall_clock.stall_state (我的) agree on customers."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select

from handlers.alerting.findings import Level
from handlers.stall_clock import (
    Light,
    WorkdayCounter,
    crossing,
    elapsed,
    elapsed_days,
    stall_state,
    start_cutoff,
)
from handlers.watch.stage_stall import candidates_stmt
from storage.models import Customer
from tests.watch.conftest import SHANGHAI, World, local

STAGES = ("线索", "意向", "方案", "谈判", "成交")


async def _seed(world: World, around: datetime, count: int, seed: int) -> None:
    rng = random.Random(seed)
    for i in range(count):
        entered = around - timedelta(days=rng.uniform(0, 45))
        evidence = entered + timedelta(days=rng.uniform(0, 20)) if rng.random() < 0.6 else None
        step = None
        if rng.random() < 0.3:
            step = around + timedelta(days=rng.uniform(-25, 6))
        await world.customer(
            f"测试客户{i:03d}有限公司",
            owner=rng.choice(("王磊", "李娜")),
            stage=rng.choice(STAGES),
            entered=entered,
            evidence=evidence if evidence is None or evidence < around else None,
            next_step=step,
        )


def _expected(customer: Customer, world: World, now: datetime) -> str | None:
    state = stall_state(customer, world.rules, now=now, tz=SHANGHAI)
    if state.light == Light.GREEN:
        return None
    if state.light == Light.YELLOW:
        return Level.YELLOW
    escalation = world.rules.escalation
    director_after = (state.threshold_days or 0) + escalation.grace_days
    return (
        Level.DIRECTOR
        if state.elapsed_days > director_after + escalation.director_grace_days
        else Level.RED
    )


async def _compare(world: World, now: datetime) -> int:
    async with world.sessions() as db:
        customers = (await db.execute(select(Customer))).scalars().all()
        stmt = candidates_stmt(db, world.ctx, now=now)
        sql = {row.id: row.level for row in (await db.execute(stmt)).all()}
    expected = {c.id: _expected(c, world, now) for c in customers}
    assert sql == {cid: level for cid, level in expected.items() if level is not None}
    return len(sql)


async def test_scan_and_stall_state_agree_on_random_customers_in_spring(world: World) -> None:
    await _seed(world, local(2026, 3, 20, 9), 80, seed=7)
    flagged = 0
    for hours in range(0, 24 * 12, 7):
        flagged += await _compare(world, local(2026, 3, 20, 9) + timedelta(hours=hours))
    assert flagged > 50  # the sample does reach yellow, red and director


async def test_scan_and_stall_state_agree_across_national_day_and_new_year(world: World) -> None:
    await _seed(world, local(2026, 10, 9, 12), 40, seed=11)
    for hours in range(0, 24 * 10, 5):
        await _compare(world, local(2026, 10, 1) + timedelta(hours=hours))
    for hours in range(0, 24 * 12, 5):
        await _compare(world, local(2026, 12, 28) + timedelta(hours=hours))


def test_cutoff_and_crossing_are_the_two_sides_of_elapsed_days() -> None:
    counter = WorkdayCounter()
    rng = random.Random(3)
    for _ in range(400):
        start = local(2026, 9, 1) + timedelta(minutes=rng.randrange(0, 60 * 24 * 140))
        now = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 40))
        days = rng.randrange(1, 15)
        business = rng.random() < 0.5
        fast = elapsed(start, now, business=business, tz=SHANGHAI, counter=counter)
        assert fast == elapsed_days(start, now, tz=SHANGHAI, business=business)
        over = fast > days
        assert over == (start < start_cutoff(now, days, business=business, tz=SHANGHAI))
        assert over == (crossing(start, days, business=business, tz=SHANGHAI) <= now)
