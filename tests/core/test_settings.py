"""Settings come from the environment and salesbot.toml (env wins); half a platform is an error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import ConfigError, load_settings

SALESBOT = Path(sys.executable).parent / "salesbot"


@pytest.fixture(autouse=True)
def bare_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No SALESBOT_* from the developer's shell and no salesbot.toml but the test's own."""
    for key in list(os.environ):
        if key.startswith("SALESBOT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_wecom_with_only_a_corp_id_names_every_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESBOT_WECOM_CORP_ID", "ww1234567890abcdef")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "WeCom is half-configured" in message
    for key in ("AGENT_ID", "SECRET", "TOKEN", "AES_KEY"):
        assert f"SALESBOT_WECOM_{key}" in message
    assert "SALESBOT_WECOM_CORP_ID" not in message.split("missing", 1)[1]


def test_no_platform_settings_leave_both_platforms_off() -> None:
    settings = load_settings()
    assert (settings.wecom_enabled, settings.dingtalk_enabled) == (False, False)


def test_salesbot_toml_is_read(tmp_path: Path) -> None:
    (tmp_path / "salesbot.toml").write_text(
        'database_url = "sqlite+aiosqlite:///./from_toml.db"\ntimezone = "Asia/Urumqi"\n',
        encoding="utf-8",
    )
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///./from_toml.db"
    assert settings.timezone == "Asia/Urumqi"


def test_the_environment_wins_over_salesbot_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "salesbot.toml").write_text(
        'database_url = "sqlite+aiosqlite:///./from_toml.db"\ntimezone = "Asia/Urumqi"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("SALESBOT_DATABASE_URL", "postgresql://salesbot@db.internal/salesbot")
    settings = load_settings()
    assert settings.database_url == "postgresql://salesbot@db.internal/salesbot"
    assert settings.timezone == "Asia/Urumqi"


def test_a_half_configured_platform_in_salesbot_toml_is_an_error_too(tmp_path: Path) -> None:
    (tmp_path / "salesbot.toml").write_text(
        'dingtalk_app_key = "dingabcdef"\ndingtalk_app_secret = "s3cret"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "SALESBOT_DINGTALK_ROBOT_CODE" in str(caught.value)


def test_an_unknown_timezone_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESBOT_TIMEZONE", "Asia/Beijing")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "SALESBOT_TIMEZONE" in str(caught.value)
    assert "Asia/Shanghai" in str(caught.value)


def test_a_setting_of_the_wrong_type_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESBOT_ASR_WORKERS", "两个")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "SALESBOT_ASR_WORKERS" in str(caught.value)


def test_startup_with_half_configured_wecom_exits_naming_the_keys(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALESBOT_")}
    env |= {
        "SALESBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db",
        "SALESBOT_WECOM_CORP_ID": "ww1234567890abcdef",
    }
    result = subprocess.run(
        [str(SALESBOT), "db", "upgrade"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SALESBOT_WECOM_SECRET" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
