"""新客户 never creates a copy of a customer the company has: normalized, by pinyin, fuzzy."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.duplicates import compare, core_name
from storage.models import AuditEntry, Customer
from tests.core.conftest import SeededTeam


@pytest.mark.parametrize(
    ("new", "known"),
    [
        ("杭州启明科技", "杭州启明科技有限公司"),
        ("杭州啟明科技股份有限公司", "杭州启明科技有限公司"),  # traditional, another suffix
        ("启明科技集团", "杭州启明科技有限公司"),
        ("ＡＣＭＥ Medical Co., Ltd.", "Acme Medical"),  # full-width, legal suffix
        ("苏州瑞康药业（集团）", "苏州瑞康药业有限公司"),
    ],
)
def test_near_duplicates_are_recognized(new: str, known: str) -> None:
    ratio, _ = compare(new, known)
    assert ratio >= 88


@pytest.mark.parametrize(
    ("new", "known"),
    [("杭州智联科技", "杭州启明科技有限公司"), ("北方电子", "广州南方电子有限公司")],
)
def test_different_companies_are_not_duplicates(new: str, known: str) -> None:
    ratio, _ = compare(new, known)
    assert ratio < 88


def test_the_core_name_drops_city_and_legal_suffix() -> None:
    assert core_name("杭州启明科技有限公司") == "启明科技"


async def test_a_near_duplicate_of_my_own_customer_is_not_created(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "新客户 杭州启明科技 B")
    assert "客户「杭州启明科技有限公司」已经存在，就在你名下" in answer
    assert "请这样写：跟进 杭州启明科技有限公司" in answer
    assert await team.count(Customer) == 5


async def test_a_teammate_is_told_who_owns_it(team: SeededTeam) -> None:
    answer = await team.talk("李娜", "新客户 杭州启明科技 B")
    assert "负责人：王磊" in answer
    assert await team.count(Customer) == 5


async def test_another_team_is_only_told_a_colleague_has_it(team: SeededTeam) -> None:
    answer = await team.talk("张伟", "新客户 杭州啟明科技股份有限公司")
    assert "已有同事在跟进" in answer
    assert "王磊" not in answer
    assert "杭州启明科技有限公司" not in answer
    assert await team.count(Customer) == 5


async def test_the_refusal_is_audited(team: SeededTeam) -> None:
    await team.talk("张伟", "新客户 杭州启明科技")
    async with team.sessions() as db:
        entry = (
            await db.execute(select(AuditEntry).where(AuditEntry.action == "duplicate_refused"))
        ).scalar_one()
    assert entry.actor_id == team.users["张伟"]
    assert entry.entity_id == team.customers["杭州启明科技有限公司"]


async def test_a_rep_cannot_force_it(team: SeededTeam) -> None:
    await team.talk("王磊", "新客户 杭州启明科技 确认新建")
    assert await team.count(Customer) == 5


async def test_a_manager_can_force_it_and_that_is_audited(team: SeededTeam) -> None:
    refused = await team.talk("陈静", "新客户 杭州启明科技 B")
    assert "确需新建请发：新客户 杭州启明科技 确认新建" in refused
    answer = await team.talk("陈静", "新客户 杭州启明科技 B 确认新建")
    assert "已创建线索「杭州启明科技」（B 级）" in answer
    async with team.sessions() as db:
        entry = (
            await db.execute(
                select(AuditEntry).where(
                    AuditEntry.action == "customer_created",
                    AuditEntry.actor_id == team.users["陈静"],
                )
            )
        ).scalar_one()
    assert "杭州启明科技有限公司" in (entry.note or "")


async def test_a_new_name_is_created(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "新客户 温州瓯海智能装备有限公司 A")
    assert "已创建线索" in answer
