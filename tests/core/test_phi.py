"""PHI: each figure of a hand-built quarter matches the count done by hand, per rep and team."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from handlers.phi import is_waiting_on_customer, rep_phi, team_phi
from storage.models import (
    Commitment,
    CommitmentStatus,
    Contract,
    Customer,
    CustomerContact,
    Followup,
    Lead,
    Receivable,
)
from tests.core.conftest import SHANGHAI, SeededTeam

QIMING, RUIKANG = "杭州启明科技有限公司", "苏州瑞康药业有限公司"
HONGDA = "佛山宏达建材"


async def seed_quarter(team: SeededTeam) -> None:
    now = team.clock.now()
    day = timedelta(days=1)
    wang, li = team.users["王磊"], team.users["李娜"]
    qiming, ruikang = team.customers[QIMING], team.customers[RUIKANG]
    async with team.sessions() as db, db.begin():
        # Three leads assigned to 王磊: one touched within its clock, one a day late, one never.
        for n, touched in enumerate((now - 10 * day + timedelta(hours=2), now - 9 * day, None)):
            customer_id = team.customers[HONGDA] if n == 0 else None
            if customer_id is None:
                lead_customer = Customer(
                    name=f"线索客户{n}",
                    aliases=[],
                    owner_id=wang,
                    stage="线索",
                    stage_entered_at=now - 10 * day,
                    created_at=now - 10 * day,
                )
                db.add(lead_customer)
                await db.flush()
                customer_id = lead_customer.id
            db.add(
                Lead(
                    customer_id=customer_id,
                    source="展会",
                    assigned_to_id=wang,
                    assigned_at=now - 10 * day,
                    touch_due_at=now - 9 * day - timedelta(hours=1),
                    first_touched_at=touched if n != 1 else now - 8 * day,
                    created_at=now - 10 * day,
                )
            )
        contacts = {}
        for customer_id, name in ((qiming, "李主任"), (qiming, "陈工"), (ruikang, "李主任")):
            contact = CustomerContact(
                customer_id=customer_id, name=name, first_seen_at=now, last_seen_at=now
            )
            db.add(contact)
            await db.flush()
            contacts[customer_id, name] = contact.id

        def note(customer_id: int, at: int, contact: str, step: str | None, due: int | None):
            return Followup(
                customer_id=customer_id,
                author_id=wang,
                created_at=now - at * day,
                raw_text="…",
                contact=contact,
                contact_id=contacts[customer_id, contact],
                next_action=step,
                next_action_due_at=now - due * day if due is not None else None,
            )

        db.add_all(
            [
                note(qiming, 20, "李主任", "发报价", 18),  # acted on at day -19: closed
                note(qiming, 19, "陈工", None, None),
                note(ruikang, 10, "李主任", "约演示", 8),  # nothing after it: open
            ]
        )
        for n, step in enumerate(
            ("等客户回复", "等对方反馈", "客户内部讨论", "等他们的消息", "听客户通知")
        ):
            db.add(
                Followup(
                    customer_id=team.customers["佛山宏达建材"],
                    author_id=li,
                    created_at=now - (5 - n) * day,
                    raw_text="…",
                    next_action=step,
                )
            )
        for code, due, kept, status in (
            ("C-1", 5, 6, CommitmentStatus.KEPT),
            ("C-2", 3, None, CommitmentStatus.OPEN),
            ("C-3", 2, None, CommitmentStatus.CANCELLED),
        ):
            db.add(
                Commitment(
                    code=code,
                    customer_id=qiming,
                    owner_id=wang,
                    what="报价",
                    due_at=now - due * day,
                    status=status,
                    kept_at=now - kept * day if kept else None,
                    created_at=now - 30 * day,
                    last_activity_at=now - 30 * day,
                )
            )
        contract = Contract(
            customer_id=qiming,
            owner_id=wang,
            amount_yuan=Decimal(400000),
            expires_on=date(2027, 12, 31),
            signed_at=now - 20 * day,
            updated_at=now - 20 * day,
        )
        db.add(contract)
        await db.flush()
        today = now.astimezone(SHANGHAI).date()
        for seq, (amount, due, paid) in enumerate(
            ((100000, -10, 100000), (200000, -2, 50000), (100000, 10, 0)), 1
        ):
            db.add(
                Receivable(
                    contract_id=contract.id,
                    customer_id=qiming,
                    owner_id=wang,
                    seq=seq,
                    label=f"第{seq}期",
                    amount_yuan=Decimal(amount),
                    due_on=today + timedelta(days=due),
                    step_at=now,
                    paid_yuan=Decimal(paid),
                    created_at=now,
                )
            )


async def test_each_rep_figure_matches_the_hand_count(team: SeededTeam) -> None:
    await seed_quarter(team)
    now = team.clock.now()
    async with team.sessions() as db:
        figures = await rep_phi(db, start=now - timedelta(days=30), end=now, tz=SHANGHAI)
    by_name = {p.name: p for p in figures}
    assert set(by_name) == {"王磊", "李娜", "张伟"}  # active reps only: 孙丽 left
    wang = by_name["王磊"]
    assert wang.lead_activation == pytest.approx(1 / 3)  # one of three touched in time
    assert wang.action_closure == pytest.approx(1 / 2)
    assert wang.penetration == pytest.approx(3 / 2)  # 李主任+陈工 at 启明, 李主任 at 瑞康
    assert wang.commitment_closure == pytest.approx(1 / 2)  # the cancelled one does not count
    assert wang.collection_rate == pytest.approx(150000 / 300000)  # the future one is not due
    assert (wang.followups, wang.waiting_flag) == (3, False)
    li = by_name["李娜"]
    assert (li.followups, li.waiting_flag) == (5, True)
    assert li.lead_activation is None
    assert li.collection_rate is None
    assert by_name["张伟"].followups == 0
    assert by_name["张伟"].penetration is None


async def test_team_figures_add_the_counts_before_dividing(team: SeededTeam) -> None:
    await seed_quarter(team)
    now = team.clock.now()
    async with team.sessions() as db:
        [east, south] = await team_phi(db, start=now - timedelta(days=30), end=now, tz=SHANGHAI)
    assert (east.name, east.reps, east.followups) == ("华东一组", 2, 8)
    assert east.penetration == pytest.approx(3 / 3)  # 3 contact pairs over 3 active customers
    assert east.waiting_flag
    assert east.waiting_reps == 1
    assert east.commitment_closure == pytest.approx(1 / 2)
    assert (south.name, south.followups, south.waiting_flag) == ("华南一组", 0, False)


async def test_a_window_before_anything_happened_counts_nothing(team: SeededTeam) -> None:
    await seed_quarter(team)
    now = team.clock.now()
    async with team.sessions() as db:
        figures = await rep_phi(db, start=now - timedelta(days=90), end=now - timedelta(days=60))
    wang = next(p for p in figures if p.name == "王磊")
    assert (wang.lead_activation, wang.action_closure, wang.commitment_closure) == (None,) * 3
    assert wang.followups == 0


@pytest.mark.parametrize(
    "step", ["等客户回复", "等对方反馈", "客户内部讨论", "等甲方审批", "等他们确认", "听客户通知"]
)
def test_paraphrases_of_waiting_on_the_customer_are_recognised(step: str) -> None:
    assert is_waiting_on_customer(step)


@pytest.mark.parametrize("step", ["发正式报价", "上门演示", "约客户吃饭", "整理需求文档"])
def test_steps_the_rep_drives_are_not_waiting(step: str) -> None:
    assert not is_waiting_on_customer(step)
