"""Fixtures for the note extractor: the company timezone, a Thursday evening, a rep's customers."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.extraction import CustomerRef
from tests.extraction.moments import SHANGHAI, THURSDAY_EVENING, local


@pytest.fixture
def tz() -> ZoneInfo:
    return SHANGHAI


@pytest.fixture
def now() -> datetime:
    return local(THURSDAY_EVENING)


@pytest.fixture
def customers() -> list[CustomerRef]:
    return [
        CustomerRef(1, "杭州启明科技有限公司", ("启明科技", "启明")),
        CustomerRef(2, "佛山宏达建材", ("宏达建材", "宏达")),
        CustomerRef(3, "杭州智联科技", ("智联科技", "智联")),
        CustomerRef(4, "苏州瑞康药业", ("瑞康药业", "瑞康")),
        CustomerRef(5, "浙江大学医学院附属第一医院", ("浙一医院", "浙一")),
        CustomerRef(6, "Acme Medical", ("Acme",)),
        CustomerRef(7, "华东医疗器械有限公司", ("华东医疗",)),
    ]
