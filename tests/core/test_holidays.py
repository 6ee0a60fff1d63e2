"""Holidays for any year: chinese-calendar, else the rules file's table, else weekends (logged
for operators only); doctor warns ahead of time; SOP cards run on business days."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from structlog.testing import capture_logs

from bot.doctor import holidays_check
from config.rules import Rules, RulesError, load_rules
from handlers import workdays
from handlers.clock import FrozenClock
from handlers.context import Context
from handlers.sop import plan_tasks
from handlers.stall_clock import elapsed_days
from storage.models import CustomerEvent, EventKind

SHANGHAI = ZoneInfo("Asia/Shanghai")
RULES_2027 = """
holidays:
  2027:
    off: [2027-01-01, 2027-02-05, 2027-02-08, 2027-02-09, 2027-02-10, 2027-02-11]
    work: [2027-02-20]
"""


@pytest.fixture(autouse=True)
def no_tables() -> Iterator[None]:
    workdays.use_holidays({})
    yield
    workdays.use_holidays({})


def rules_with(tmp_path: Path, text: str) -> Rules:
    default = (Path(__file__).parents[2] / "config" / "rules_default.yaml").read_text("utf-8")
    path = tmp_path / "rules.yaml"
    path.write_text(default.replace("holidays: {}", text.strip()), encoding="utf-8")
    return load_rules(path)


def test_a_year_chinese_calendar_knows_comes_from_it() -> None:
    assert workdays.calendar_source(2026) == workdays.Source.OFFICIAL
    assert not workdays.is_workday(date(2026, 10, 1))
    assert workdays.is_workday(date(2026, 10, 10))  # a make-up Saturday


def test_the_rules_file_lists_a_year_the_library_lacks(tmp_path: Path) -> None:
    rules = rules_with(tmp_path, RULES_2027)
    assert workdays.is_workday(date(2027, 1, 1))  # a Friday: weekends only, before the table
    Context(clock=FrozenClock(datetime(2027, 1, 1, tzinfo=UTC)), rules=rules, tz=SHANGHAI)
    assert workdays.calendar_source(2027) == workdays.Source.RULES
    assert not workdays.is_workday(date(2027, 1, 1))
    assert workdays.is_workday(date(2027, 2, 20))  # the listed make-up Saturday
    assert not workdays.is_workday(date(2027, 2, 21))
    # the stall clock sees it: 元旦 (Fri) and the weekend do not count
    start = datetime(2026, 12, 31, 10, tzinfo=SHANGHAI)
    now = datetime(2027, 1, 4, 10, tzinfo=SHANGHAI)
    assert elapsed_days(start, now, tz=SHANGHAI, business=True) == 1
    assert workdays.festival_on(date(2027, 2, 10)) == workdays.Festival.SPRING


def test_a_table_with_a_day_of_another_year_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="2026-12-31 is not in 2027"):
        rules_with(tmp_path, "holidays: {2027: {off: [2026-12-31]}}")
    with pytest.raises(RulesError, match="both off and a workday"):
        rules_with(tmp_path, "holidays: {2027: {off: [2027-01-01], work: [2027-01-01]}}")


def test_the_fallback_is_logged_for_operators_not_warned_into_a_chat() -> None:
    with capture_logs() as logs:
        workdays.is_workday(date(2031, 5, 6))
    [entry] = [e for e in logs if e["event"] == "workday_calendar_fallback"]
    # the CLI and the shell print WARNING and above; the service log (INFO) keeps it
    assert entry["log_level"] == "info"
    assert entry["year"] == 2031


def test_doctor_warns_when_this_or_next_year_has_no_calendar(tmp_path: Path) -> None:
    shipped = load_rules()
    check = holidays_check(shipped, date(2026, 12, 7))
    assert check.ok
    assert check.warn
    assert check.line().startswith("WARN holidays: 2026 from chinese-calendar, 2027 from weekends")
    assert "holidays: {2027: {off: [...], work: [...]}}" in check.detail
    fixed = holidays_check(rules_with(tmp_path, RULES_2027), date(2026, 12, 7))
    assert fixed.line() == "OK   holidays: 2026 from chinese-calendar, 2027 from rules file"


def test_an_sop_card_due_on_a_holiday_goes_out_and_runs_on_workdays() -> None:
    rules = load_rules()
    delivered = CustomerEvent(
        id=7,
        customer_id=1,
        kind=EventKind.DELIVERY_DONE,
        occurred_at=datetime(2026, 9, 24, 15, tzinfo=SHANGHAI).astimezone(UTC),
    )
    [visit] = [p for p in plan_tasks(rules, SHANGHAI, delivered) if p.template.trigger]
    local = {k: getattr(visit, k).astimezone(SHANGHAI) for k in ("push_at", "accept_by", "due_at")}
    # +7 days is 国庆 (10-01); the card waits for the first workday, 10-08
    assert local["push_at"] == datetime(2026, 10, 8, 9, tzinfo=SHANGHAI)
    assert local["accept_by"] == datetime(2026, 10, 9, 9, tzinfo=SHANGHAI)  # 24 working hours
    # three workdays: 10-09, the make-up Saturday 10-10, then Monday 10-12
    assert local["due_at"] == datetime(2026, 10, 12, 9, tzinfo=SHANGHAI)
    assert all(workdays.is_workday(t.date()) for t in local.values())


def test_working_hours_skip_a_weekend() -> None:
    friday = datetime(2026, 3, 6, 15, tzinfo=SHANGHAI)
    later = workdays.add_work_hours(friday, 24, SHANGHAI).astimezone(SHANGHAI)
    assert later == datetime(2026, 3, 9, 15, tzinfo=SHANGHAI)
