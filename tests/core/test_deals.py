"""签约 / 交付 / 回款: the deal events are recorded with their dates and amounts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from storage.models import CustomerEvent, EventKind
from tests.core.conftest import SeededTeam


async def events_of(team: SeededTeam) -> list[CustomerEvent]:
    async with team.sessions() as db:
        return list((await db.execute(select(CustomerEvent).order_by(CustomerEvent.id))).scalars())


async def test_a_signed_contract_is_recorded_with_expiry_and_term(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "签约 启明科技 到期 2027-03-31 账期 60")
    [event] = await events_of(team)
    assert event.kind == EventKind.CONTRACT_SIGNED
    assert event.customer_id == team.customers["杭州启明科技有限公司"]
    assert (event.contract_expires_on, event.payment_term_days) == (date(2027, 3, 31), 60)
    assert "已记录签约：杭州启明科技有限公司，合同到期 2027-03-31，账期 60 天" in answer


async def test_a_signed_contract_moves_the_customer_to_won(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "签约 启明科技 到期 2027年3月31日")
    assert (await team.customer("杭州启明科技有限公司")).stage == "成交"
    assert "阶段已更新：成交" in answer


async def test_a_contract_without_an_expiry_is_refused(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "签约 启明科技")
    assert "签约需要写合同到期日" in answer
    assert "请这样写：签约 启明科技 到期 " in answer


async def test_a_contract_with_a_bad_date_is_refused(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "签约 启明科技 到期 2027-13-45")
    assert "没看懂日期「2027-13-45」" in answer
    assert "请这样写" in answer
    assert await events_of(team) == []


async def test_a_contract_expiring_in_the_past_is_refused(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "签约 启明科技 到期 2026-01-01")
    assert "合同到期日应在今天之后" in answer
    assert "请这样写" in answer


async def test_a_payment_term_that_is_not_days_is_refused(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "签约 启明科技 到期 2027-03-31 账期 很久")
    assert "账期应是 1–365 之间的天数" in answer
    assert "请这样写" in answer


async def test_a_delivery_is_recorded(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "交付 启明科技")
    [event] = await events_of(team)
    assert event.kind == EventKind.DELIVERY_DONE
    assert "已记录交付：杭州启明科技有限公司" in answer


async def test_a_delivery_without_a_customer_is_refused(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "交付")
    assert "请写上交付的客户" in answer
    assert "请这样写" in answer


async def test_a_payment_reads_wan(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "回款 启明科技 12.5万")
    [event] = await events_of(team)
    assert (event.kind, event.amount_yuan) == (EventKind.PAYMENT_RECEIVED, Decimal("125000"))
    assert "已记录回款：杭州启明科技有限公司 125,000.00 元" in answer


async def test_a_payment_reads_plain_yuan(team: SeededTeam) -> None:
    await team.talk("王磊", "回款 启明科技 86000.50")
    [event] = await events_of(team)
    assert event.amount_yuan == Decimal("86000.50")


async def test_a_payment_with_an_unreadable_amount_is_refused(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "回款 启明科技 好多钱")
    assert "没看懂金额「好多钱」" in answer
    assert "请这样写：回款 启明科技 12.5万" in answer


async def test_a_payment_without_an_amount_is_refused(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "回款 启明科技")
    assert "回款需要客户和金额" in answer
    assert "请这样写" in answer


async def test_a_contract_expiring_next_december_is_stored_in_next_year(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "签约 启明科技 到期 明年12月底 账期 60")
    assert "合同到期 2027-12-31" in answer
    async with team.sessions() as db:
        event = (await db.execute(select(CustomerEvent))).scalar_one()
    assert event.contract_expires_on == date(2027, 12, 31)


async def test_a_payment_in_words_is_read(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "回款 启明科技 一个亿")
    assert "100,000,000.00 元" in answer
