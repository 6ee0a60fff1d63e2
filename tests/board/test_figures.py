"""The 作战室's figures match direct SQL counts over the same rows, on both databases."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from handlers.stall_clock import Light, stall_state
from storage.models import (
    AuditEntry,
    Commitment,
    Customer,
    CustomerEvent,
    EventKind,
    Followup,
    StageChange,
)
from tests.board.conftest import Board, SignIn

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def seed_history(board: Board) -> None:
    """Follow-ups, signings, payments and commitments spread over two months, some stale."""
    team = board.team
    now = team.clock.now()
    ids = team.customers
    users = team.users
    async with team.sessions() as db, db.begin():
        for n in range(40):  # one every ~36 hours, back to early January
            customer = list(ids.values())[n % len(ids)]
            owner = (await db.get_one(Customer, customer)).owner_id or users["王磊"]
            db.add(
                Followup(
                    customer_id=customer,
                    author_id=owner,
                    created_at=now - timedelta(hours=36 * n + 1),
                    raw_text=f"note {n}",
                    amount_yuan=Decimal(10_000 + n) if n % 4 == 0 else None,
                )
            )
        for n, (kind, amount) in enumerate(
            [
                (EventKind.CONTRACT_SIGNED, "120000"),
                (EventKind.CONTRACT_SIGNED, "80000"),
                (EventKind.PAYMENT_RECEIVED, "50000"),
                (EventKind.PAYMENT_RECEIVED, "30000"),
                (EventKind.CONTRACT_SIGNED, "66000"),
            ]
        ):
            db.add(
                CustomerEvent(
                    customer_id=ids["宁波海川物流有限公司"],
                    kind=kind,
                    occurred_at=now - timedelta(days=2 * n + 0.5),
                    amount_yuan=Decimal(amount),
                    payment_term_days=30 if kind == EventKind.CONTRACT_SIGNED else None,
                )
            )
        for n in range(6):
            db.add(
                Commitment(
                    code=f"C-20260301-{n:03d}",
                    customer_id=ids["杭州启明科技有限公司"],
                    owner_id=users["王磊"],
                    what=f"发资料{n}",
                    due_at=now + timedelta(days=n - 3),
                    created_at=now - timedelta(days=5),
                    last_activity_at=now - timedelta(days=5),
                    status="kept" if n == 0 else "open",
                    kept_at=now - timedelta(days=4) if n == 0 else None,
                )
            )
        stale = await db.get_one(Customer, ids["佛山宏达建材"])  # 线索, 7 days stall
        stale.stage_entered_at = now - timedelta(days=20)
        yellow = await db.get_one(Customer, ids["广州南方电子有限公司"])  # 意向
        yellow.stage_entered_at = now - timedelta(days=8, hours=1)
        moved = await db.get_one(Customer, ids["宁波海川物流有限公司"])
        db.add(
            StageChange(
                customer_id=moved.id,
                from_stage="意向",
                to_stage="方案",
                at=now - timedelta(days=3),
                by_user_id=moved.owner_id,
            )
        )


def local_midnight(day: datetime) -> datetime:
    return day.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)


async def test_the_figures_match_direct_sql_counts(board: Board, sign_in: SignIn) -> None:
    await seed_history(board)
    team = board.team
    now = team.clock.now()
    client = await sign_in("赵强")
    page = await (await client.get("/board")).text()
    figures = dict(re.findall(r'data-figure="([^"]+)">([^<]+)<', page))

    async with team.sessions() as db:
        by_stage = dict(
            (await db.execute(select(Customer.stage, func.count()).group_by(Customer.stage))).all()
        )
        customers = (await db.execute(select(Customer))).scalars().all()
        today = local_midnight(now)
        week = today - timedelta(days=today.weekday())
        month = today.replace(day=1)
        counts = []
        for start in (today, week, month):
            stmt = select(func.count()).select_from(Followup).where(Followup.created_at >= start)
            counts.append((await db.execute(stmt)).scalar_one())
        signed_month = (
            await db.execute(
                select(func.count(), func.sum(CustomerEvent.amount_yuan)).where(
                    CustomerEvent.kind == EventKind.CONTRACT_SIGNED,
                    CustomerEvent.occurred_at >= month,
                )
            )
        ).one()
        paid_month = (
            await db.execute(
                select(func.sum(CustomerEvent.amount_yuan)).where(
                    CustomerEvent.kind == EventKind.PAYMENT_RECEIVED,
                    CustomerEvent.occurred_at >= month,
                )
            )
        ).scalar_one()
        overdue = (
            await db.execute(
                select(func.count())
                .select_from(Commitment)
                .where(Commitment.status == "open", Commitment.due_at < now)
            )
        ).scalar_one()
    lights = [stall_state(c, team.ctx.rules, now=now, tz=SHANGHAI).light for c in customers]

    for stage, n in by_stage.items():
        assert figures[f"stage_{stage}"] == str(n), stage
    assert figures["red"] == str(lights.count(Light.RED)) == "1"
    assert figures["yellow"] == str(lights.count(Light.YELLOW)) == "1"
    assert figures["green"] == str(lights.count(Light.GREEN))
    assert [figures[f"followups_{i}"] for i in range(3)] == [str(n) for n in counts]
    assert figures["signings_2"] == f"{signed_month[0]} 单"

    report = await client.get("/board.csv", params={"table": "report"})
    rows = list(csv.reader(io.StringIO((await report.read()).decode("utf-8-sig"))))
    month_row = rows[3]
    assert month_row[0] == "本月"
    assert Decimal(month_row[8]) == signed_month[1]
    assert paid_month is not None
    assert Decimal(month_row[12]) == paid_month
    assert f"逾期承诺 <b>{overdue}</b>" in page


async def test_the_commitment_register_counts_what_sql_counts(
    board: Board, sign_in: SignIn
) -> None:
    await seed_history(board)
    client = await sign_in("王磊")
    for state, where in (
        ("all", []),
        ("open", [Commitment.status == "open"]),
        ("overdue", [Commitment.status == "open", Commitment.due_at < board.team.clock.now()]),
    ):
        page = await (await client.get("/board/commitments", params={"state": state})).text()
        async with board.team.sessions() as db:
            stmt = select(func.count()).select_from(Commitment).where(*where)
            expected = (await db.execute(stmt)).scalar_one()
        assert f'data-figure="total">{expected}<' in page, state


async def test_a_csv_export_has_a_bom_the_rows_and_an_audit_entry(
    board: Board, sign_in: SignIn
) -> None:
    await seed_history(board)
    client = await sign_in("王磊")
    response = await client.get("/board/commitments.csv")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    body = await response.read()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:4] == ["编号", "客户", "负责人", "事项"]
    assert len(rows) == 1 + 6
    async with board.team.sessions() as db:
        [entry] = (
            (await db.execute(select(AuditEntry).where(AuditEntry.action == "board_export")))
            .scalars()
            .all()
        )
    assert entry.actor_id == board.team.users["王磊"]
    assert entry.note is not None
    assert "/board/commitments.csv" in entry.note


async def test_the_customer_page_shows_the_timeline_and_a_playable_voice_note(
    board: Board, sign_in: SignIn
) -> None:
    team = board.team
    customer = team.customers["杭州启明科技有限公司"]
    async with team.sessions() as db, db.begin():
        note = Followup(
            customer_id=customer,
            author_id=team.users["王磊"],
            created_at=team.clock.now(),
            source="voice",
            raw_text="语音",
            transcript="刘总说下周三前给反馈",
            summary="电话沟通试用",
        )
        db.add(note)
    client = await sign_in("王磊")
    page = await (await client.get(f"/board/customers/{customer}")).text()
    assert f'src="/media/voice/{note.id}"' in page
    assert "刘总说下周三前给反馈" in page
    assert "创建，阶段 线索" in page


async def test_every_light_on_the_board_is_the_chats_light_at_the_boundaries(
    board: Board, sign_in: SignIn
) -> None:
    """Calendar-day and working-day stages, clocks started around each threshold, some with a
    newer follow-up or a dated next step: the board's counts are stall_state's."""
    team = board.team
    now = team.clock.now()
    async with team.sessions() as db, db.begin():
        for n in range(60):
            stage = ("线索", "意向", "方案", "谈判")[n % 4]
            entered = now - timedelta(days=n * 0.37 + 4)
            db.add(
                Customer(
                    name=f"边界客户{n}",
                    aliases=[],
                    owner_id=team.users["王磊"],
                    stage=stage,
                    stage_entered_at=entered,
                    level="B",
                    health_score=80,
                    created_at=entered,
                    last_evidence_at=entered + timedelta(days=1) if n % 5 == 0 else None,
                    next_step_due_at=(now + timedelta(days=1))
                    if n % 7 == 0
                    else (entered + timedelta(hours=30) if n % 3 == 0 else None),
                )
            )
    async with team.sessions() as db:
        customers = (await db.execute(select(Customer))).scalars().all()
    expected = [stall_state(c, team.ctx.rules, now=now, tz=SHANGHAI).light for c in customers]
    client = await sign_in("赵强")
    page = await (await client.get("/board")).text()
    figures = dict(re.findall(r'data-figure="([^"]+)">([^<]+)<', page))
    assert figures["red"] == str(expected.count(Light.RED))
    assert figures["yellow"] == str(expected.count(Light.YELLOW))
    lights_csv = await client.get("/board.csv", params={"table": "lights"})
    rows = list(csv.reader(io.StringIO((await lights_csv.read()).decode("utf-8-sig"))))[1:]
    shown = {row[1]: {"红": Light.RED, "黄": Light.YELLOW}[row[0]] for row in rows}
    lit = {
        c.name: light for c, light in zip(customers, expected, strict=True) if light != Light.GREEN
    }
    assert shown == lit


async def test_overdue_receivables_are_signings_past_their_term_with_no_payment_since(
    board: Board, sign_in: SignIn
) -> None:
    team = board.team
    now = team.clock.now()
    ids = team.customers
    signed, paid = EventKind.CONTRACT_SIGNED, EventKind.PAYMENT_RECEIVED
    async with team.sessions() as db, db.begin():
        for customer, days_ago, term, paid_days_ago in (
            ("宁波海川物流有限公司", 40, 30, None),  # 10 days late
            ("杭州启明科技有限公司", 40, 30, 35),  # paid since: not owed
            ("佛山宏达建材", 10, 30, None),  # not due yet
            ("广州南方电子有限公司", 31, 30, None),  # 1 day late
        ):
            db.add(
                CustomerEvent(
                    customer_id=ids[customer],
                    kind=signed,
                    occurred_at=now - timedelta(days=days_ago),
                    payment_term_days=term,
                    amount_yuan=Decimal(100_000),
                )
            )
            if paid_days_ago is not None:
                db.add(
                    CustomerEvent(
                        customer_id=ids[customer],
                        kind=paid,
                        occurred_at=now - timedelta(days=paid_days_ago),
                        amount_yuan=Decimal(50_000),
                    )
                )
    client = await sign_in("赵强")
    page = await (await client.get("/board")).text()
    assert "逾期应收 <b>2</b>" in page
    report = await client.get("/board.csv", params={"table": "receivables"})
    rows = list(csv.reader(io.StringIO((await report.read()).decode("utf-8-sig"))))[1:]
    assert [(r[0], r[5]) for r in rows] == [
        ("宁波海川物流有限公司", "10"),
        ("广州南方电子有限公司", "1"),
    ]
    rep = await sign_in("李娜")  # 海川 is hers, 南方电子 is not
    assert "逾期应收 <b>1</b>" in await (await rep.get("/board")).text()


async def test_the_rep_table_counts_each_reps_customers_and_red_ones(
    board: Board, sign_in: SignIn
) -> None:
    await seed_history(board)  # 宏达 (李娜) red, 南方电子 (张伟) yellow
    client = await sign_in("赵强")
    response = await client.get("/board.csv", params={"table": "reps"})
    rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    header, body = rows[0], {r[0]: r for r in rows[1:]}
    at = {name: header.index(name) for name in ("客户数", "红灯", "黄灯")}
    async with board.team.sessions() as db:
        owned = dict(
            (
                await db.execute(
                    select(Customer.owner_id, func.count()).group_by(Customer.owner_id)
                )
            ).all()
        )
    for name in ("王磊", "李娜", "张伟"):
        assert body[name][at["客户数"]] == str(owned.get(board.team.users[name], 0)), name
    assert (body["李娜"][at["红灯"]], body["张伟"][at["黄灯"]]) == ("1", "1")
    assert (body["王磊"][at["红灯"]], body["王磊"][at["黄灯"]]) == ("0", "0")
