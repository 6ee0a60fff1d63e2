"""Money out: 签约 with a plan, each payment's steps from chat, 48-hour silence, overdue, 应收."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from handlers.chat import EventKind, RecipientKind
from handlers.watch.scan import run_watch
from storage.models import Contract, Receivable, ReceivableStep, Task
from tests.core.conftest import SeededTeam

QIMING = "杭州启明科技有限公司"
SIGN = "签约 启明 金额 36万 到期 明年12月31日 分期 30%/签约 40%/验收 30%"


async def receivables(team: SeededTeam) -> list[Receivable]:
    async with team.sessions() as db:
        stmt = select(Receivable).order_by(Receivable.seq)
        return list((await db.execute(stmt)).scalars())


async def watch(team: SeededTeam) -> list[tuple[str, str, RecipientKind]]:
    async with team.sessions() as db, db.begin():
        result = await run_watch(db, team.ctx, now=team.clock.now())
    kinds = {p.kind for p in result.pushes}
    return sorted(
        (r.rule, r.level, kind)
        for r in result.raised
        if r.rule.startswith("receivable")
        for kind in kinds
    )


async def photo(team: SeededTeam, user: str) -> str:
    event = dataclasses.replace(
        team.event(user, ""), kind=EventKind.IMAGE, media_id=f"media-{uuid.uuid4().hex[:6]}"
    )
    return "\n".join(await team.send(event))


async def tasks(team: SeededTeam) -> list[str]:
    async with team.sessions() as db:
        return list((await db.execute(select(Task.template_key).order_by(Task.id))).scalars())


async def test_a_signed_plan_is_stored_with_its_amounts_and_dates(team: SeededTeam) -> None:
    answer = await team.talk("王磊", SIGN)
    assert "合同金额 360,000.00 元，已归档；回款计划：" in answer
    parts = await receivables(team)
    assert [(p.label, p.amount_yuan) for p in parts] == [
        ("签约", Decimal("108000.00")),
        ("验收", Decimal("144000.00")),
        ("尾款", Decimal("108000.00")),
    ]
    signed_on = team.clock.now().astimezone(team.ctx.tz).date()
    assert parts[0].due_on == signed_on + timedelta(days=30)
    assert parts[2].due_on == date(2027, 12, 31)
    assert {p.step for p in parts} == {ReceivableStep.ARCHIVED}


async def test_a_single_payment_with_a_term(team: SeededTeam) -> None:
    await team.talk("王磊", "签约 启明 金额 20万 到期 2027-12-31 账期 60天")
    [part] = await receivables(team)
    signed_on = team.clock.now().astimezone(team.ctx.tz).date()
    assert (part.amount_yuan, part.due_on) == (Decimal("200000.00"), signed_on + timedelta(60))


async def test_a_plan_that_does_not_add_up_is_refused(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "签约 启明 金额 36万 到期 2027-12-31 分期 30%/签约 40%/验收")
    assert "分期比例加起来应是 100%，现在是 70%" in answer
    assert await team.count(Contract) == 0


async def test_a_three_part_plan_walks_to_fully_paid_from_chat(team: SeededTeam) -> None:
    await team.talk("王磊", SIGN)
    team.clock.advance(hours=49)  # nothing happened since signing: 静默预警
    assert await watch(team) == [
        ("receivable_silent", "red", RecipientKind.TEAM),
        ("receivable_silent", "red", RecipientKind.USER),
        ("receivable_silent", "yellow", RecipientKind.TEAM),
        ("receivable_silent", "yellow", RecipientKind.USER),
    ]
    assert "已记录发票寄出" in await team.talk("王磊", "开票 启明 快递 SF1234567890")
    assert "已记录客户签收" in await team.talk("王磊", "签收 启明")
    assert "已保存签收单照片" in await photo(team, "王磊")
    [first, *_] = await receivables(team)
    assert (first.step, first.invoice_ref) == (ReceivableStep.ACKNOWLEDGED, "快递 SF1234567890")
    assert first.receipt_media_id is not None
    team.clock.advance(days=30)  # the 签约 part is due 30 days after signing: now overdue
    overdue = [w for w in await watch(team) if w[0] == "receivable_overdue"]
    assert overdue == [
        ("receivable_overdue", "overdue", RecipientKind.TEAM),
        ("receivable_overdue", "overdue", RecipientKind.USER),
    ]
    partial = await team.talk("王磊", "回款 启明 5万")
    assert "计入第1期（签约）50,000.00 元，还差 58,000.00 元" in partial
    assert "首笔回款后满意度回访" in partial  # payment starts customer success
    assert await tasks(team) == ["renewal_talk", "first_payment_visit"]
    assert "已结清" in await team.talk("王磊", "回款 启明 5.8万")
    delivered = await team.talk("王磊", "交付 启明")
    assert "验收款" in delivered
    await team.talk("王磊", "开票 启明 快递 SF2")
    await team.talk("王磊", "签收 启明")
    second = await team.talk("王磊", "回款 启明 14.4万")
    assert "计入第2期（验收）144,000.00 元，已结清" in second
    assert "尾款到期前续约检查" in second  # only the last part is left
    final = await team.talk("王磊", "回款 启明 10.8万")
    assert "合同已全部回款 ✓" in final
    assert {p.step for p in await receivables(team)} == {ReceivableStep.PAID}
    assert "没有待回款的分期" in await team.talk("王磊", "应收")


async def test_receipt_before_invoice_is_refused(team: SeededTeam) -> None:
    await team.talk("王磊", SIGN)
    answer = await team.talk("王磊", "签收 启明")
    assert "发票还没寄出，先记录开票" in answer


async def test_an_invoice_needs_its_tracking_number(team: SeededTeam) -> None:
    await team.talk("王磊", SIGN)
    assert "开票要附快递单号作凭证" in await team.talk("王磊", "开票 启明")


async def test_receivables_show_aging_and_a_manager_sees_the_team(team: SeededTeam) -> None:
    await team.talk("王磊", SIGN)
    await team.talk("李娜", "签约 宏达 金额 10万 到期 2027-12-31 账期 30")
    team.clock.advance(days=75)  # both first parts 45 days overdue
    mine = await team.talk("王磊", "应收")
    assert mine.startswith("我的应收 360,000.00 元（3 笔）")
    assert "31–60天 108,000" in mine
    assert "佛山宏达建材" not in mine
    team_view = await team.talk("陈静", "应收")
    assert team_view.startswith("团队应收 460,000.00 元（4 笔）")
    assert "佛山宏达建材（李娜）" in team_view


async def test_zero_or_negative_payments_are_refused(team: SeededTeam) -> None:
    assert "回款金额应大于 0" in await team.talk("王磊", "回款 启明 0")
    assert "回款金额应大于 0" in await team.talk("王磊", "回款 启明 -5000")


async def test_the_same_amount_twice_within_a_day_is_asked_first(team: SeededTeam) -> None:
    await team.talk("王磊", "回款 启明 10.8万")
    again = await team.talk("王磊", "回款 启明 10.8万")
    assert "24 小时内已记录过「杭州启明科技有限公司」108,000.00 元的回款，这次没有记录" in again
    assert "回款 杭州启明科技有限公司 10.8万 确认" in again
    assert "已记录回款" in await team.talk("王磊", "回款 启明 10.8万 确认")
    team.clock.advance(hours=25)
    assert "已记录回款" in await team.talk("王磊", "回款 启明 10.8万")


async def test_signing_twice_updates_the_contract_and_moves_its_tasks(team: SeededTeam) -> None:
    await team.talk("王磊", SIGN)
    async with team.sessions() as db:
        [before] = (await db.execute(select(Task.push_at))).scalars().all()
    answer = await team.talk("王磊", "签约 启明 金额 40万 到期 2028-06-30 分期 50%/签约 50%")
    assert "已更新签约" in answer
    assert "已改期" in answer
    async with team.sessions() as db:
        [after] = (await db.execute(select(Task.push_at))).scalars().all()
        [contract] = (await db.execute(select(Contract))).scalars().all()
    assert after - before > timedelta(days=180)  # renewal talk follows the new expiry
    assert (contract.amount_yuan, contract.expires_on) == (Decimal("400000.00"), date(2028, 6, 30))
    assert [r.amount_yuan for r in await receivables(team)] == [Decimal(200000)] * 2


async def test_a_plan_cannot_change_after_money_came_in(team: SeededTeam) -> None:
    await team.talk("王磊", SIGN)
    await team.talk("王磊", "回款 启明 1万")
    answer = await team.talk("王磊", "签约 启明 金额 40万 到期 2028-06-30")
    assert "合同已有回款，分期计划不能再改" in answer


async def test_undo_takes_back_an_invoice_and_a_payment_on_the_plan(team: SeededTeam) -> None:
    await team.talk("王磊", SIGN)
    await team.talk("王磊", "开票 启明 快递 SF1")
    assert "已撤销：开票（杭州启明科技有限公司）" in await team.talk("王磊", "撤销")
    [first, *_] = await receivables(team)
    assert (first.step, first.invoice_ref) == (ReceivableStep.ARCHIVED, None)
    await team.talk("王磊", "回款 启明 5万")
    assert "回款计划已恢复" in await team.talk("王磊", "撤销")
    [first, *_] = await receivables(team)
    assert first.paid_yuan == 0


async def test_undoing_a_signing_drops_its_plan(team: SeededTeam) -> None:
    await team.talk("王磊", SIGN)
    assert "合同金额和回款计划已删除" in await team.talk("王磊", "撤销")
    assert await team.count(Contract) == 0
    assert await receivables(team) == []
