"""A real `salesbot serve` on the demo data, and headless Chromium (Debian's) driving it."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = os.environ.get("SALESBOT_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SALESBOT_CHROMEDRIVER", "/usr/bin/chromedriver")
LINK = re.compile(r"https?://\S+/board/login\?t=[\w-]+")
DEADLINE_S = 60.0
SALESBOT = [sys.executable, "-c", "from bot.cli import main; main()"]  # this tree's code


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DemoServer:
    """`salesbot demo` into a fresh SQLite file, then `salesbot serve` on a free port."""

    workdir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.workdir / "salesbot.db"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SALESBOT_")}
        env.update(
            SALESBOT_DATABASE_URL=f"sqlite+aiosqlite:///{self.db_path}",
            SALESBOT_ASR_ENGINE="none",
            SALESBOT_PUBLIC_URL=self.base_url,
            PYTHONPATH=str(Path(__file__).resolve().parents[2]),
        )
        return env

    def salesbot(self, *args: str, stdin: str = "") -> str:
        done = subprocess.run(
            [*SALESBOT, *args],
            input=stdin.encode(),
            capture_output=True,
            cwd=self.workdir,
            env=self.env(),
            timeout=120,
            check=True,
        )
        return done.stdout.decode()

    def start(self) -> None:
        self.port = free_port()
        self.salesbot("db", "upgrade")
        self.salesbot("demo")
        log = (self.workdir / "serve.log").open("wb")
        self.process = subprocess.Popen(
            [
                *SALESBOT,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            cwd=self.workdir,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        until = time.monotonic() + DEADLINE_S
        while True:  # poll to a deadline: the server is up when /healthz answers
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=2):  # noqa: S310
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if self.process.poll() is not None or time.monotonic() > until:
                    raise RuntimeError((self.workdir / "serve.log").read_text()[-3000:]) from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def board_link(self, user: str) -> str:
        """What `看板` answers `user` in `salesbot shell`."""
        answer = self.salesbot("shell", "--as", user, stdin="看板\n")
        found = LINK.search(answer)
        if found is None:
            raise AssertionError(answer)
        return found.group(0)

    def query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.db_path) as conn:
            return list(conn.execute(sql, params))

    def execute(self, sql: str, *params: object) -> int:
        with sqlite3.connect(self.db_path) as conn:
            cursor = conn.execute(sql, params)
            return int(cursor.lastrowid or 0)


def chromium(
    width: int = 1920, height: int = 1080, downloads: Path | None = None
) -> webdriver.Chrome:
    """Headless Debian Chromium through Debian's chromedriver (Selenium Manager never runs)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        "--autoplay-policy=no-user-gesture-required",
        "--lang=zh-CN",
    ):
        options.add_argument(flag)
    if downloads is not None:
        options.add_experimental_option(
            "prefs",
            {"download.default_directory": str(downloads), "download.prompt_for_download": False},
        )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    if downloads is not None:
        driver.execute_cdp_cmd(
            "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
        )
    return driver


def main() -> None:
    """python -m tests.browser.server docs/board.png: the 作战室 on the demo data, 1920 wide."""
    import tempfile

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/board.png").resolve()
    with tempfile.TemporaryDirectory() as tmp:
        server = DemoServer(Path(tmp))
        server.start()
        try:
            driver = chromium(1920, 1080)
            try:
                driver.get(server.board_link("赵强"))
                height = driver.execute_script("return document.documentElement.scrollHeight")
                driver.set_window_size(1920, max(1080, int(height)))
                driver.save_screenshot(str(target))
            finally:
                driver.quit()
        finally:
            server.stop()
    print(target)  # noqa: T201


if __name__ == "__main__":
    main()
