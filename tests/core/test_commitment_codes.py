"""Commitment codes under load: 50 reps' messages at once get 001..050, no duplicate, no gap."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from handlers.codes import next_code
from storage.models import Commitment
from tests.core.conftest import SeededTeam, local

CONCURRENT = 50


async def test_fifty_concurrent_commitments_get_fifty_consecutive_codes(team: SeededTeam) -> None:
    lines = [f"承诺 启明科技 第{n}份资料 下周三17:00" for n in range(1, CONCURRENT + 1)]
    answers = await asyncio.gather(*(team.talk("王磊", line) for line in lines))
    async with team.sessions() as db:
        codes = sorted((await db.execute(select(Commitment.code))).scalars())
    expected = [f"C-20260305-{n:03d}" for n in range(1, CONCURRENT + 1)]
    assert codes == expected
    assert sorted(a.split("：")[0].removeprefix("已登记承诺 ") for a in answers) == expected


async def test_codes_start_again_at_001_on_the_next_local_day(team: SeededTeam) -> None:
    await team.talk("王磊", "承诺 启明科技 发正式报价 下周三17:00")
    team.clock.set(local(2026, 3, 6, 0, 5))  # five past midnight in Shanghai, still 3月5日 in UTC
    answer = await team.talk("王磊", "承诺 启明科技 寄样品 下周三17:00")
    assert "C-20260306-001" in answer


async def test_a_rolled_back_code_is_given_again(team: SeededTeam) -> None:
    async with team.sessions() as db, db.begin():
        taken = await next_code(db, "C", local(2026, 3, 5).date())
        await db.rollback()
    async with team.sessions() as db, db.begin():
        again = await next_code(db, "C", local(2026, 3, 5).date())
    assert taken == again == "C-20260305-001"
