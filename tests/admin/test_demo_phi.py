"""The demo data's PHI, against the figures counted by hand from handlers/demo*.py."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.rules import Rules
from handlers.clock import FrozenClock
from handlers.demo import seed_demo
from handlers.phi import phi_digest_lines, rep_phi, team_phi

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def phi(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, rules: Rules):
    now = clock.now()
    async with sessions() as db, db.begin():
        await seed_demo(db, now=now, rules=rules, tz=SHANGHAI)
    async with sessions() as db:
        window = {"start": now - timedelta(days=30), "end": now, "tz": SHANGHAI}
        return {r.name: r for r in await rep_phi(db, **window)}, await team_phi(db, **window)


async def test_the_demo_reps_phi_matches_the_hand_count(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, rules: Rules
) -> None:
    reps, _ = await phi(sessions, clock, rules)
    wang, li, zhang = reps["王磊"], reps["李娜"], reps["张伟"]
    # 王磊: the 瑞康 lead untouched; notes on 启明 (刘总), 恒通 (孙工); 启明's promise not due
    assert (wang.lead_activation, wang.penetration, wang.followups) == (0.0, 1.0, 2)
    assert (wang.action_closure, wang.commitment_closure, wang.collection_rate) == (None,) * 3
    # 李娜: 金陵 touched in time; 浙一 (王主任) and 金陵 (nobody named); 海川 paid 10 of 15 万
    assert (li.lead_activation, li.penetration, li.followups) == (1.0, 0.5, 2)
    assert li.collection_rate == pytest.approx(100000 / 150000)
    assert li.commitment_closure is None  # 海川's promise fell due 35 days ago
    # 张伟: 新源's promise overdue; 柯桥's payment unpaid; 新源 (周经理)
    assert (zhang.commitment_closure, zhang.collection_rate, zhang.penetration) == (0.0, 0.0, 1.0)
    assert zhang.lead_activation is None
    assert not any(r.waiting_flag for r in reps.values())


async def test_the_demo_teams_phi_adds_up_its_reps(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, rules: Rules
) -> None:
    _, [east] = await phi(sessions, clock, rules)
    assert (east.name, east.reps, east.followups) == ("华东一组", 3, 5)
    assert east.lead_activation == pytest.approx(1 / 2)
    assert east.penetration == pytest.approx(4 / 5)  # 4 people over 5 active customers
    assert east.commitment_closure == 0.0
    assert east.collection_rate == pytest.approx(100000 / 350000)


async def test_the_digest_block_lists_the_team_then_each_rep(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, rules: Rules
) -> None:
    _, [east] = await phi(sessions, clock, rules)
    async with sessions() as db:
        lines = await phi_digest_lines(
            db, team_id=east.team_id, now=clock.now(), days=30, tz=SHANGHAI
        )
    assert lines[0].startswith("🧭 过程健康指数 PHI（近 30 天")
    assert lines[1] == "· 团队：线索激活 50% · 动作闭环 — · 穿透 0.8 · 承诺闭环 0% · 回款达成 29%"
    assert [line.split("：")[0] for line in lines[2:]] == ["· 王磊", "· 李娜", "· 张伟"]
