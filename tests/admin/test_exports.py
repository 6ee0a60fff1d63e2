"""CSV exports: a BOM for Excel and WPS, names instead of ids, local times, a since filter."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from handlers.demo import seed_demo
from handlers.exports import TABLES, export_csv
from storage.models import Customer, Followup, User

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def demo(sessions, clock, rules) -> None:
    async with sessions() as db, db.begin():
        await seed_demo(db, now=clock.now(), rules=rules)


async def export(sessions, kind, since=None) -> bytes:
    async with sessions() as db:
        return await export_csv(db, kind, since=since, tz=SHANGHAI)


def read_back(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


async def test_an_export_starts_with_a_bom_and_chinese_text_round_trips(demo, sessions) -> None:
    data = await export(sessions, "customers")
    rows = read_back(data)
    async with sessions() as db:
        names = set((await db.execute(select(Customer.name))).scalars())
    assert data.startswith(b"\xef\xbb\xbf")
    assert {r["name"] for r in rows} == names
    qiming = next(r for r in rows if r["name"] == "杭州启明科技有限公司")
    assert (qiming["aliases"], qiming["owner"], qiming["stage"]) == (
        "启明科技|启明",
        "王磊",
        "方案",
    )


@pytest.mark.parametrize("kind", list(TABLES))
async def test_every_kind_has_a_readable_header_even_when_empty(sessions, kind) -> None:
    data = await export(sessions, kind)
    header = data.decode("utf-8-sig").splitlines()[0].split(",")
    assert header == [name for name, _ in TABLES[kind].columns]
    assert not any(h.endswith("_id") and h != "entity_id" for h in header)


async def test_followups_and_commitments_name_their_customer_and_person(demo, sessions) -> None:
    followups = read_back(await export(sessions, "followups"))
    commitments = read_back(await export(sessions, "commitments"))
    assert {"customer": "杭州启明科技有限公司", "author": "王磊"}.items() <= next(
        r for r in followups if r["contact"] == "刘总"
    ).items()
    assert {(r["customer"], r["owner"]) for r in commitments} >= {
        ("合肥新源新能源科技有限公司", "张伟")
    }


async def test_datetimes_are_local_iso_8601(sessions, clock) -> None:
    async with sessions() as db, db.begin():
        db.add(
            Customer(
                name="杭州启明科技有限公司",
                aliases=["启明"],
                stage="线索",
                stage_entered_at=datetime(2026, 3, 5, 10, 30, tzinfo=UTC),
                created_at=datetime(2026, 3, 4, 16, 30, tzinfo=UTC),
            )
        )
    row = read_back(await export(sessions, "customers"))[0]
    assert (row["stage_entered_at"], row["created_at"]) == (
        "2026-03-05T18:30:00+08:00",
        "2026-03-05T00:30:00+08:00",
    )
    assert (row["owner"], row["last_evidence_at"]) == ("", "")


async def test_since_keeps_only_rows_created_from_then_on(demo, sessions, clock) -> None:
    since = clock.now() - timedelta(days=3)
    rows = read_back(await export(sessions, "followups", since=since))
    async with sessions() as db:
        expected = (
            await db.execute(select(Followup.summary).where(Followup.created_at >= since))
        ).scalars()
        expected_summaries = sorted(expected)
    assert sorted(r["summary"] for r in rows) == expected_summaries
    assert 0 < len(rows) < len(read_back(await export(sessions, "followups")))


async def test_the_audit_export_filters_on_its_time_and_names_the_actor(
    demo, sessions, clock
) -> None:
    later = clock.now() + timedelta(hours=1)
    assert read_back(await export(sessions, "audit", since=later)) == []
    rows = read_back(await export(sessions, "audit", since=clock.now()))
    user_rows = [r for r in rows if r["entity"] == "user"]
    assert {r["entity_name"] for r in user_rows} == {"赵强", "陈静", "王磊", "李娜", "张伟"}
    assert '"name": "王磊"' in next(r["after"] for r in user_rows if r["entity_name"] == "王磊")


async def test_a_cell_that_looks_like_a_formula_stays_text(sessions, clock) -> None:
    async with sessions() as db, db.begin():
        wang = User(name="王磊", role="rep", active=True, created_at=clock.now())
        qiming = Customer(
            name="杭州启明科技有限公司",
            aliases=[],
            stage="线索",
            stage_entered_at=clock.now(),
            created_at=clock.now(),
        )
        db.add_all([wang, qiming])
        await db.flush()
        db.add(
            Followup(
                customer_id=qiming.id,
                author_id=wang.id,
                created_at=clock.now(),
                raw_text='=HYPERLINK("http://example.com","报价")',
                summary="-报价已发",
            )
        )
    row = read_back(await export(sessions, "followups"))[0]
    assert row["text"] == '\'=HYPERLINK("http://example.com","报价")'
    assert row["summary"] == "'-报价已发"


async def test_a_naive_since_is_refused(sessions) -> None:
    with pytest.raises(ValueError, match="aware"):
        await export(sessions, "customers", since=datetime(2026, 3, 1))  # noqa: DTZ001
