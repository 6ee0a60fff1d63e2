"""Linking a note to one of the sender's customers: names, aliases, short forms and sounds."""

from __future__ import annotations

import pytest

from handlers.extraction import CustomerRef, find_customer, link_customer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("浙一的设备科主任同意试用", "浙江大学医学院附属第一医院"),
        ("宏达回款到账了", "佛山宏达建材"),
        ("杭州启明科技有限公司发来需求", "杭州启明科技有限公司"),
        ("Met ACME's CTO today", "Acme Medical"),
        ("华东的张总说预算批了", "华东医疗器械有限公司"),  # a short form we derive
    ],
)
def test_names_aliases_and_short_forms_link_to_the_canonical_customer(
    text: str, expected: str, customers: list[CustomerRef]
) -> None:
    found = link_customer(text, customers)
    assert found is not None
    assert found.value.name == expected


def test_the_span_points_at_the_name_in_the_text(customers: list[CustomerRef]) -> None:
    text = "今天拜访浙一医院放射科"
    found = link_customer(text, customers)
    assert found is not None
    assert found.span is not None
    assert text[found.span[0] : found.span[1]] == "浙一医院"
    assert found.confidence == 1.0


def test_the_first_customer_mentioned_wins(customers: list[CustomerRef]) -> None:
    found = link_customer("跟宏达建材聊了智联科技的案例", customers)
    assert found is not None
    assert found.value.name == "佛山宏达建材"


@pytest.mark.parametrize(
    ("heard", "expected"),
    [
        ("红搭建彩王经理嫌价格高", "佛山宏达建材"),
        ("致连科技约了后天演示", "杭州智联科技"),
        ("最康药业采购说月底前审批", "苏州瑞康药业"),
    ],
)
def test_misheard_names_link_by_sound_with_a_confidence_below_one(
    heard: str, expected: str, customers: list[CustomerRef]
) -> None:
    found = link_customer(heard, customers)
    assert found is not None
    assert found.value.name == expected
    assert 0.85 <= found.confidence < 1.0


def test_a_short_misheard_name_comes_with_a_question(customers: list[CustomerRef]) -> None:
    link = find_customer("最康说月底前走完审批", customers)
    assert link.best is not None
    assert link.best.value.name == "苏州瑞康药业"
    assert link.best.confidence < 0.85
    assert [c.name for c in link.candidates] == ["苏州瑞康药业"]


def test_only_the_senders_own_customers_are_linked(customers: list[CustomerRef]) -> None:
    visible = [c for c in customers if c.name != "佛山宏达建材"]
    assert link_customer("宏达建材王经理反馈价格偏高", visible) is None


def test_one_alias_shared_by_two_customers_is_asked_about() -> None:
    customers = [
        CustomerRef(1, "杭州华东电子", ("华东",)),
        CustomerRef(2, "上海华东物流", ("华东",)),
    ]
    link = find_customer("华东说下周再谈", customers)
    assert link.best is not None
    assert link.best.confidence <= 0.5
    assert {c.name for c in link.candidates} == {"杭州华东电子", "上海华东物流"}


def test_a_typed_part_of_a_name_links_for_a_correction(customers: list[CustomerRef]) -> None:
    found = link_customer("宏达建", customers)
    assert found is not None
    assert found.value.name == "佛山宏达建材"


def test_a_note_naming_no_customer_links_to_none(customers: list[CustomerRef]) -> None:
    link = find_customer("今天天气不错，明天再说", customers)
    assert link.best is None
    assert link.candidates == ()


def test_a_city_name_alone_is_not_taken_for_a_company() -> None:
    customers = [CustomerRef(1, "中山大学附属医院"), CustomerRef(2, "上海电气")]
    assert link_customer("大学的老师说电气方案再看看", customers) is None
