"""The funnel's 90-day conversion and median days, and the cache that keeps them a minute."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.web.cache import StaleWhileRevalidate
from handlers.board.funnel import funnel
from handlers.board.scope import Scope
from storage.models import Customer, StageChange, User
from tests.core.conftest import SeededTeam


async def test_conversion_and_median_days_come_from_the_stage_moves(team: SeededTeam) -> None:
    now = team.clock.now()
    owner = team.users["王磊"]
    async with team.sessions() as db, db.begin():
        for name, moves in (
            ("甲", [(None, "线索", 10), ("线索", "意向", 6), ("意向", "方案", 2)]),
            ("乙", [(None, "线索", 8), ("线索", "丢单", 4)]),
            ("丙", [(None, "线索", 200), ("线索", "意向", 150)]),  # outside the 90 days
        ):
            stage = moves[-1][1]
            customer = Customer(
                name=name,
                aliases=[],
                owner_id=owner,
                stage=stage,
                stage_entered_at=now - timedelta(days=moves[-1][2]),
                created_at=now - timedelta(days=moves[0][2]),
            )
            db.add(customer)
            await db.flush()
            for source, target, days_ago in moves:
                db.add(
                    StageChange(
                        customer_id=customer.id,
                        from_stage=source,
                        to_stage=target,
                        at=now - timedelta(days=days_ago),
                        by_user_id=owner,
                    )
                )
    async with team.sessions() as db:
        director = (await db.execute(select(User).where(User.name == "赵强"))).scalar_one()
        rows = {r.stage: r for r in await funnel(db, Scope(director), team.ctx.rules, now=now)}
    # 线索: 甲, 乙 and the two seeded leads entered it; only 甲 moved on (乙 was lost).
    assert (rows["线索"].entered_90d, rows["线索"].advanced_90d) == (4, 1)
    assert rows["线索"].median_days == 4.0  # 甲 4 days, 乙 4 days
    assert (rows["意向"].entered_90d, rows["意向"].advanced_90d) == (3, 1)  # 甲 + 2 seeded
    assert rows["意向"].median_days == 4.0
    assert rows["方案"].customers == 2  # 甲 and the seeded 海川


async def test_the_cache_serves_the_last_figures_and_refreshes_them_behind() -> None:
    cache: StaleWhileRevalidate[int] = StaleWhileRevalidate(ttl_s=0.0)
    calls: list[str] = []

    async def first() -> int:
        calls.append("first")
        return 1

    async def later() -> int:
        calls.append("later")
        return 2

    assert await cache.get("k", first, later) == 1
    assert await cache.get("k", first, later) == 1  # stale: shown, and refreshed behind
    await cache.close_pending()
    assert await cache.get("k", first, later) == 2
    assert calls[:2] == ["first", "later"]
