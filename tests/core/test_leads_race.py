"""Two instances assigning 200 leads at once on PostgreSQL never put a rep over the cap."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, update

from handlers.leads.intake import LeadInput, create_lead
from storage.db import create_engine, make_sessionmaker
from storage.models import Lead, Team
from tests.core.conftest import SeededTeam
from tests.core.test_leads import company

LEADS = 200
IN_FLIGHT = 10


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_two_instances_assigning_200_leads_at_once_never_break_the_cap(
    db_url: str, team: SeededTeam
) -> None:
    async with team.sessions() as db, db.begin():
        await db.execute(update(Team).values(regions=["华东"]))
    # two instances, each with ten requests in flight at a time (a server's connection pool)
    engines = [create_engine(db_url, pool_size=IN_FLIGHT, pool_timeout=300) for _ in range(2)]
    instances = [make_sessionmaker(engine) for engine in engines]
    gates = [asyncio.Semaphore(IN_FLIGHT) for _ in range(2)]

    async def one(n: int) -> None:
        async with gates[n % 2], instances[n % 2]() as db, db.begin():
            data = LeadInput(name=company(n), source="官网表单", region="华东")
            await create_lead(db, team.ctx, data, now=team.clock.now())

    try:
        await asyncio.gather(*(one(n) for n in range(LEADS)))
    finally:
        for engine in engines:
            await engine.dispose()
    cap = team.ctx.rules.leads.open_cap
    async with team.sessions() as db:
        per_rep = dict(
            (
                await db.execute(
                    select(Lead.assigned_to_id, func.count())
                    .where(Lead.assigned_to_id.is_not(None))
                    .group_by(Lead.assigned_to_id)
                )
            ).all()
        )
        total = await db.scalar(select(func.count()).select_from(Lead))
    reps = {team.users[name] for name in ("王磊", "李娜", "张伟")}  # 孙丽 has left
    assert total == LEADS
    assert per_rep == dict.fromkeys(reps, cap)  # every slot filled, none over
