"""Every change made from chat writes an audit row: who, what, on which row, when."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import AuditEntry, Commitment, Customer, Followup
from tests.core.conftest import SeededTeam


async def audit_rows(team: SeededTeam, action: str) -> list[AuditEntry]:
    async with team.sessions() as db:
        stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list((await db.execute(stmt)).scalars())


async def test_a_followup_is_audited(team: SeededTeam) -> None:
    await team.talk("王磊", "跟进 启明科技 电话确认了试用安排，下周三前给反馈")
    [entry] = await audit_rows(team, "followup_logged")
    async with team.sessions() as db:
        followup = (await db.execute(select(Followup))).scalar_one()
    assert (entry.actor_id, entry.entity, entry.entity_id) == (
        team.users["王磊"],
        "followup",
        followup.id,
    )
    assert entry.at == team.clock.now()
    assert entry.after is not None
    assert entry.after["customer"] == "杭州启明科技有限公司"


async def test_a_correction_is_audited_with_before_and_after(team: SeededTeam) -> None:
    await team.talk("王磊", "跟进 启明科技 电话确认了试用安排")
    await team.talk("王磊", "改 金额 12.5万")
    [entry] = await audit_rows(team, "followup_corrected")
    assert entry.before is not None
    assert entry.after is not None
    assert (entry.before["amount_yuan"], entry.after["amount_yuan"]) == (None, "125000")


async def test_a_commitment_is_audited(team: SeededTeam) -> None:
    await team.talk("王磊", "承诺 启明科技 发正式报价 下周三17:00")
    [entry] = await audit_rows(team, "commitment_registered")
    async with team.sessions() as db:
        commitment = (await db.execute(select(Commitment))).scalar_one()
    assert (entry.actor_id, entry.entity, entry.entity_id) == (
        team.users["王磊"],
        "commitment",
        commitment.id,
    )
    assert entry.after is not None
    assert entry.after["code"] == "C-20260305-001"


async def test_keeping_a_commitment_is_audited(team: SeededTeam) -> None:
    await team.talk("王磊", "承诺 启明科技 发正式报价 下周三17:00")
    await team.talk("王磊", "兑现 C-20260305-001")
    [entry] = await audit_rows(team, "commitment_kept")
    assert (entry.before, entry.after) == ({"status": "open"}, {"status": "kept"})


async def test_a_stage_move_is_audited(team: SeededTeam) -> None:
    await team.talk("王磊", "阶段 启明科技 方案")
    [entry] = await audit_rows(team, "stage_move")
    assert (entry.actor_id, entry.entity, entry.entity_id) == (
        team.users["王磊"],
        "customer",
        team.customers["杭州启明科技有限公司"],
    )
    assert (entry.before, entry.after) == ({"stage": "线索"}, {"stage": "方案"})


async def test_a_new_lead_is_audited(team: SeededTeam) -> None:
    await team.talk("王磊", "新客户 温州东瓯电器有限公司 A")
    [entry] = await audit_rows(team, "customer_created")
    async with team.sessions() as db:
        stmt = select(Customer.id).where(Customer.name == "温州东瓯电器有限公司")
        lead_id = (await db.execute(stmt)).scalar_one()
    assert (entry.actor_id, entry.entity_id) == (team.users["王磊"], lead_id)
    assert entry.after == {"name": "温州东瓯电器有限公司", "level": "A", "stage": "线索"}


async def test_deal_events_are_audited(team: SeededTeam) -> None:
    await team.talk("王磊", "签约 启明科技 到期 2027-03-31 账期 60")
    await team.talk("王磊", "交付 启明科技")
    await team.talk("王磊", "回款 启明科技 12.5万")
    actions = await team.audit_actions()
    for action in ("event_contract_signed", "event_delivery_done", "event_payment_received"):
        assert action in actions


async def test_reading_writes_no_audit_row(team: SeededTeam) -> None:
    for text in ("我的", "我的承诺", "帮助", "今天天气不错"):
        await team.talk("王磊", text)
    assert await team.audit_actions() == []
