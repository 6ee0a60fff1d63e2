"""POST /leads on a running server: a lead reaches the right rep as a card, then escalates."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.jobs_cli import run_job_once
from config.rules import Rules
from handlers.clock import FrozenClock
from storage.models import Lead, Role, Team, User
from tests.fakes.wecom import FakeWeCom
from tests.polling import eventually
from tests.wecom.support import salesbot, wecom_settings

FORM_TOKEN = "form-token-0123456789abcdef"
PHONE_TOKEN = "phone-token-0123456789abcdef"
TOKENS = f"官网表单={FORM_TOKEN},400来电={PHONE_TOKEN}"
LEAD = {
    "name": "杭州西溪医疗器械有限公司",
    "region": "上海",
    "contact": "刘总",
    "phone": "13800138000",
}


@pytest.fixture
async def teams(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> dict[str, int]:
    """华东一组 (上海|华东: 王磊) and 华南一组 (华南: 张伟), each with a manager and a robot."""
    now = clock.now()
    ids: dict[str, int] = {}
    async with sessions() as db, db.begin():
        for team_name, regions, manager, rep, key in (
            ("华东一组", ["华东", "上海"], "陈静", "王磊", "robot-east"),
            ("华南一组", ["华南"], "周敏", "张伟", "robot-south"),
        ):
            team = Team(name=team_name, regions=regions, wecom_webhook_key=key, created_at=now)
            db.add(team)
            await db.flush()
            boss = User(name=manager, role=Role.MANAGER, team_id=team.id, created_at=now)
            db.add(boss)
            await db.flush()
            db.add(
                User(
                    name=rep,
                    role=Role.REP,
                    team_id=team.id,
                    manager_id=boss.id,
                    wecom_userid=f"wx_{rep}",
                    created_at=now,
                )
            )
            ids[team_name] = team.id
    return ids


async def post_lead(bot: Any, body: Any, token: str | None = FORM_TOKEN) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await bot.client.post("/leads", json=body, headers=headers)
    return response.status, await response.json()


async def test_a_posted_lead_reaches_the_right_rep_as_a_card_and_escalates_after_25_hours(
    db_url: str,
    fake_wecom: FakeWeCom,
    clock: FrozenClock,
    rules: Rules,
    teams: dict[str, int],
) -> None:
    fake_wecom.robot_keys |= {"robot-east", "robot-south"}
    async with salesbot(db_url, fake_wecom, clock, rules, lead_tokens=TOKENS) as bot:
        loop = asyncio.get_running_loop()
        posted_at = loop.time()
        status, answer = await post_lead(bot, LEAD)
        assert (status, answer["assigned_to"]) == (201, "王磊")
        [card] = await eventually(fake_wecom.sent_cards, deadline_s=2.0)
        assert loop.time() - posted_at < 2.0
    assert fake_wecom.delivered[0]["touser"] == "wx_王磊"
    assert card["main_title"]["title"].endswith("杭州西溪医疗器械有限公司")
    later = FrozenClock(clock.now() + timedelta(hours=25))
    settings = wecom_settings(fake_wecom.base_url, database_url=db_url, asr_engine="none")
    lines = await run_job_once(settings, rules, "watch", clock=later, dry_run=False)
    assert any("lead_untouched | 杭州西溪医疗器械有限公司 | red" in line for line in lines)
    async with salesbot(db_url, fake_wecom, later, rules) as _:
        messages = await eventually(lambda: fake_wecom.robot_messages)
    keys = [key for key, _ in messages]
    assert keys == ["robot-east"]


async def test_a_token_fixes_its_source(
    db_url: str,
    fake_wecom: FakeWeCom,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
    teams: dict[str, int],
) -> None:
    async with salesbot(db_url, fake_wecom, clock, rules, lead_tokens=TOKENS) as bot:
        status, _ = await post_lead(bot, LEAD, token=PHONE_TOKEN)
        wrong, answer = await post_lead(bot, {**LEAD, "name": "另一家", "source": "展会"})
    assert status == 201
    assert (wrong, answer["field"]) == (400, "source")
    async with sessions() as db:
        assert (await db.execute(select(Lead.source))).scalars().all() == ["400来电"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"region": "华东"}, "name"),
        ({**LEAD, "phone": "not-a-phone"}, "phone"),
        ({**LEAD, "name": "x" * 201}, "name"),
        ({**LEAD, "colour": "red"}, "colour"),
        ({**LEAD, "urgency": "马上"}, "urgency"),
        ({**LEAD, "name": 12.5}, "name"),
        (["not", "an", "object"], "body"),
    ],
)
async def test_a_bad_field_is_named_and_nothing_is_stored(
    db_url: str,
    fake_wecom: FakeWeCom,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
    teams: dict[str, int],
    body: Any,
    field: str,
) -> None:
    async with salesbot(db_url, fake_wecom, clock, rules, lead_tokens=TOKENS, workers=False) as bot:
        status, answer = await post_lead(bot, body)
    assert (status, answer["field"]) == (400, field)
    async with sessions() as db:
        assert await db.scalar(select(func.count()).select_from(Lead)) == 0


@pytest.mark.parametrize("token", [None, "wrong-token-0123456789abcdef", f"{FORM_TOKEN}x"])
async def test_without_a_valid_token_the_answer_is_401(
    db_url: str, fake_wecom: FakeWeCom, clock: FrozenClock, rules: Rules, token: str | None
) -> None:
    async with salesbot(db_url, fake_wecom, clock, rules, lead_tokens=TOKENS, workers=False) as bot:
        status, _ = await post_lead(bot, LEAD, token=token)
    assert status == 401


async def test_a_duplicate_is_409_and_an_external_id_again_is_the_same_lead(
    db_url: str,
    fake_wecom: FakeWeCom,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
    teams: dict[str, int],
) -> None:
    body = {**LEAD, "external_id": "form-4711"}
    async with salesbot(db_url, fake_wecom, clock, rules, lead_tokens=TOKENS, workers=False) as bot:
        first = await post_lead(bot, body)
        again = await post_lead(bot, body)
        duplicate = await post_lead(bot, {**LEAD, "name": "杭州西溪医疗器械", "external_id": "x"})
    assert first[0] == 201
    assert again == first
    assert (duplicate[0], duplicate[1]["field"]) == (409, "name")
    async with sessions() as db:
        assert await db.scalar(select(func.count()).select_from(Lead)) == 1
