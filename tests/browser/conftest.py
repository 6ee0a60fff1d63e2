"""One demo server for the browser tests of this directory; a fresh browser per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver

from tests.browser.server import DemoServer, chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    running = DemoServer(tmp_path_factory.mktemp("board-browser"))
    running.start()
    yield running
    running.stop()


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    path = tmp_path / "downloads"
    path.mkdir()
    return path


@pytest.fixture
def browser(downloads: Path) -> Iterator[webdriver.Chrome]:
    driver = chromium(1920, 1080, downloads=downloads)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
