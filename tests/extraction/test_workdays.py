"""Business days on the official calendar, and the Mon–Fri fallback for years it does not know."""

from __future__ import annotations

from datetime import date

import pytest
from structlog.testing import capture_logs

from handlers import workdays
from handlers.workdays import Festival


def test_national_day_is_off_and_its_make_up_saturday_is_a_workday() -> None:
    assert not workdays.is_workday(date(2026, 10, 1))
    assert workdays.is_workday(date(2026, 10, 10))  # Saturday, worked in lieu
    assert workdays.is_workday(date(2026, 10, 8))


def test_one_workday_after_the_last_day_before_national_day_is_october_eighth() -> None:
    assert workdays.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert workdays.next_workday_after(date(2026, 9, 30)) == date(2026, 10, 8)


def test_adding_negative_workdays_goes_back_over_the_holiday() -> None:
    assert workdays.add_workdays(date(2026, 10, 8), -1) == date(2026, 9, 30)
    assert workdays.add_workdays(date(2026, 10, 8), 0) == date(2026, 10, 8)


def test_workdays_between_counts_the_end_but_not_the_start() -> None:
    assert workdays.workdays_between(date(2026, 9, 30), date(2026, 10, 8)) == 1
    assert workdays.workdays_between(date(2026, 10, 8), date(2026, 9, 30)) == -1
    assert workdays.workdays_between(date(2026, 3, 2), date(2026, 3, 9)) == 5


def test_the_first_workday_after_national_day_2026_is_october_eighth() -> None:
    after = workdays.first_workday_after_holiday(Festival.NATIONAL, date(2026, 9, 28))
    assert after == date(2026, 10, 8)


def test_the_first_workday_after_a_holiday_under_way_ends_that_holiday() -> None:
    assert workdays.first_workday_after_holiday(None, date(2026, 10, 3)) == date(2026, 10, 8)


def test_before_the_next_holiday_means_the_last_workday_before_it() -> None:
    before = workdays.last_workday_before_holiday(None, date(2026, 9, 28))
    assert before == date(2026, 9, 30)


def test_the_first_workday_after_spring_festival_2026_is_february_24th() -> None:
    after = workdays.first_workday_after_holiday(Festival.SPRING, date(2026, 1, 31))
    assert after == date(2026, 2, 24)


def test_a_year_without_official_data_falls_back_to_monday_to_friday() -> None:
    assert workdays.is_workday(date(2040, 3, 5))  # a Monday
    assert not workdays.is_workday(date(2040, 3, 10))  # a Saturday


def test_a_year_without_official_data_is_logged_once_for_operators() -> None:
    workdays.use_holidays({})
    workdays.has_official_data.cache_clear()
    with capture_logs() as logs:
        for day in (1, 2, 3, 4, 5):
            workdays.is_workday(date(2041, 2, day))
        workdays.add_workdays(date(2041, 2, 1), 10)
    warnings = [e for e in logs if e["event"] == "workday_calendar_fallback"]
    assert warnings == [
        {
            "event": "workday_calendar_fallback",
            "log_level": "info",  # the service log has it; the shell (WARNING) does not
            "year": 2041,
            "rule": "Mon-Fri, no holidays",
        }
    ]


def test_new_year_in_a_fallback_year_still_has_a_first_workday_after_it() -> None:
    after = workdays.first_workday_after_holiday(Festival.NEW_YEAR, date(2026, 12, 28))
    assert after == date(2027, 1, 4)


@pytest.mark.parametrize("festival", list(Festival))
def test_every_festival_in_a_fallback_year_resolves_without_crashing(festival: Festival) -> None:
    after = workdays.first_workday_after_holiday(festival, date(2035, 1, 1))
    assert after is not None
    assert after.year == 2035
    assert workdays.is_workday(after)
