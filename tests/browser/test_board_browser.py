"""The board in a real browser (headless Debian Chromium) against a running `salesbot serve`."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.server import DemoServer, chromium

WAIT_S = 30


def wait(driver: webdriver.Chrome) -> WebDriverWait[webdriver.Chrome]:
    return WebDriverWait(driver, WAIT_S)


def sign_in(driver: webdriver.Chrome, server: DemoServer, user: str) -> None:
    driver.get(server.board_link(user))
    wait(driver).until(ec.presence_of_element_located((By.ID, "funnel")))


def test_a_link_made_in_chat_opens_the_funnel_and_the_red_customers(
    browser: webdriver.Chrome, server: DemoServer
) -> None:
    sign_in(browser, server, "陈静")
    assert browser.current_url == server.base_url + "/board"
    stages = browser.find_elements(By.CSS_SELECTOR, "#funnel tbody tr")
    assert [row.get_attribute("data-stage") for row in stages][:5] == [
        "线索",
        "意向",
        "方案",
        "谈判",
        "成交",
    ]
    expected_red = server.query(  # the demo seeds two customers past their escalation
        "SELECT count(*) FROM customers WHERE name IN (?, ?)",
        "浙江大学医学院附属第一医院",
        "上海云帆信息技术有限公司",
    )[0][0]
    red_rows = browser.find_elements(By.CSS_SELECTOR, "#lights tr.red")
    assert len(red_rows) == expected_red == 2
    assert browser.find_element(By.CSS_SELECTOR, '[data-figure="red"]').text == "2"
    assert "没有新进展" in red_rows[0].text


def test_opening_a_red_customer_shows_its_timeline(
    browser: webdriver.Chrome, server: DemoServer
) -> None:
    sign_in(browser, server, "陈静")
    link = browser.find_element(By.CSS_SELECTOR, "#lights tr.red a")
    name = link.text
    link.click()
    wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "ol.timeline li")))
    assert name in browser.find_element(By.TAG_NAME, "h1").text
    assert "阶段" in browser.find_element(By.CSS_SELECTOR, "ol.timeline").text


def test_a_csv_export_downloads_with_a_bom(
    browser: webdriver.Chrome, server: DemoServer, downloads: Path
) -> None:
    sign_in(browser, server, "陈静")
    browser.find_element(By.CSS_SELECTOR, "#lights a.csv").click()
    until = time.monotonic() + WAIT_S
    while not list(downloads.glob("*.csv")):  # poll to a deadline for the download
        assert time.monotonic() < until, list(downloads.iterdir())
        time.sleep(0.1)
    [path] = downloads.glob("*.csv")
    body = path.read_bytes()
    assert body.startswith("\ufeff".encode())
    assert "浙江大学医学院附属第一医院" in body.decode("utf-8-sig")


def test_a_rep_is_refused_another_reps_customer(
    browser: webdriver.Chrome, server: DemoServer
) -> None:
    [(other,)] = server.query(
        "SELECT c.id FROM customers c JOIN users u ON u.id = c.owner_id"
        " WHERE u.name = '李娜' ORDER BY c.id LIMIT 1"
    )
    sign_in(browser, server, "王磊")
    browser.get(f"{server.base_url}/board/customers/{other}")
    assert "无权查看" in browser.find_element(By.TAG_NAME, "h1").text
    assert "李娜" not in browser.page_source


def test_logging_out_ends_the_session(browser: webdriver.Chrome, server: DemoServer) -> None:
    sign_in(browser, server, "王磊")
    browser.find_element(By.ID, "logout").click()
    wait(browser).until(ec.url_contains("/board/login"))
    browser.get(server.base_url + "/board")
    assert browser.current_url == server.base_url + "/board/login"
    assert "看板" in browser.find_element(By.ID, "login").text


def test_the_tv_screen_refreshes_without_reloading_the_page(
    browser: webdriver.Chrome, server: DemoServer
) -> None:
    sign_in(browser, server, "赵强")
    browser.get(server.base_url + "/board?tv=1")
    browser.execute_script("window.__kept = 'same page'")
    browser.execute_script("window.salesbotRefresh()")
    wait(browser).until(lambda d: d.find_element(By.ID, "updated").get_attribute("data-refreshed"))
    assert browser.execute_script("return window.__kept") == "same page"
    assert browser.find_element(By.CSS_SELECTOR, '[data-figure="red"]').text == "2"


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1920, 1080)])
def test_the_board_fits_a_phone_and_a_meeting_room_screen(
    server: DemoServer, width: int, height: int
) -> None:
    driver = chromium(width, height)
    try:
        sign_in(driver, server, "赵强")
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0
    finally:
        driver.quit()
