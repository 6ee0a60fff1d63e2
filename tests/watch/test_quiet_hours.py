"""Scan to outbox at night: the yellow list waits for 08:30, an overdue promise goes at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.jobs import run_job
from bot.outbox_writer import OutboxWriter
from handlers.chat import Platform
from storage.models import Team, User
from storage.outbox import Address
from storage.queue_models import OutboxItem
from tests.watch.conftest import SHANGHAI, World, local


class AddressBook:
    """The part of an adapter the OutboxWriter asks for addresses: users by name, teams by name."""

    platform = Platform.SHELL

    def user_address(self, user: User) -> Address:
        return Address("fake", "app_user", user.name, "fake:app")

    def team_addresses(self, team: Team) -> list[Address]:
        return [Address("fake", "group", team.name, f"fake:group:{team.name}")]

    def user_platform_id(self, user: User) -> str:
        return user.name


async def test_night_scan_holds_the_yellow_list_until_morning_and_sends_overdue_at_once(
    world: World,
) -> None:
    await world.customer("杭州启明科技有限公司", stage="意向", entered=local(2026, 3, 2, 10))
    await world.customer("苏州瑞康药业有限公司", stage="意向", entered=local(2026, 3, 2, 10))
    await world.commitment(
        "杭州启明科技有限公司",
        "C-20260305-001",
        "发正式报价",
        due=local(2026, 3, 10, 22),
        created=local(2026, 3, 5, 18, 30),
    )
    adapters: dict[Platform, Any] = {Platform.SHELL: AddressBook()}
    outbox_writer = OutboxWriter(adapters, world.rules, SHANGHAI)
    lines = await run_job(
        "watch",
        sessions=world.sessions,
        ctx=world.ctx,
        now=local(2026, 3, 10, 22, 30),
        enqueue=outbox_writer.enqueue,
    )
    async with world.sessions() as db:
        rows = (await db.execute(select(OutboxItem).order_by(OutboxItem.id))).scalars().all()
    when = {(row.target, row.payload["title"]): row.next_attempt_at for row in rows}
    assert lines[-1] == "raised 3"
    # one card per customer for 王磊: the overdue promise (worst) goes now, and says the rest
    title = "杭州启明科技有限公司·承诺到期·已逾期"
    assert when == {
        ("王磊", title): local(2026, 3, 10, 22, 30),
        ("华东一组", title): local(2026, 3, 10, 22, 30),
        ("王磊", "苏州瑞康药业有限公司·客户停滞·预警"): local(2026, 3, 11, 8, 30),
    }
    mine = next(row for row in rows if row.target == "王磊")
    assert "另有 1 条提醒，见「为什么 A3」。" in mine.payload["lines"]
    group = next(row for row in rows if row.target == "华东一组")
    assert group.payload["mention"] == ["王磊"]
