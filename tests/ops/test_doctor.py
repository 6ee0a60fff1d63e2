"""salesbot doctor: every FAIL names what to do, the all-OK run exits 0, a FAIL exits non-zero."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.doctor import run_doctor
from storage.db import create_engine
from tests.ops.cluster import free_port
from tests.ops.conftest import SALESBOT
from tests.ops.fake_tokens import FakeTokens, dingtalk_env, wecom_env


async def doctor() -> tuple[int, list[str]]:
    lines: list[str] = []
    code = await run_doctor(printer=lines.append)
    return code, lines


def line_of(lines: list[str], name: str) -> str:
    (found,) = [line for line in lines if line.split(":", 1)[0].split(maxsplit=1)[1] == name]
    return found


def failed(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("FAIL")]


def set_env(env: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for key, value in values.items():
        env.setenv(key, value)


@pytest.fixture
def wecom_on(clean_env, sqlite_url, fake_tokens: FakeTokens) -> pytest.MonkeyPatch:
    clean_env.setenv("SALESBOT_DATABASE_URL", sqlite_url)
    set_env(clean_env, wecom_env(fake_tokens.base_url))
    return clean_env


async def test_everything_configured_and_reachable_is_all_ok_and_exits_0(
    clean_env, db_url, fake_tokens, tmp_path: Path
) -> None:
    model_dir = tmp_path / "whisper-small-ct2"
    model_dir.mkdir()
    (model_dir / "model.bin").write_bytes(b"\0" * 16)
    clean_env.setenv("SALESBOT_DATABASE_URL", db_url)
    set_env(clean_env, wecom_env(fake_tokens.base_url) | dingtalk_env(fake_tokens.base_url))
    clean_env.setenv("SALESBOT_ASR_ENGINE", "faster-whisper")
    clean_env.setenv("SALESBOT_ASR_MODEL", str(model_dir))

    code, lines = await doctor()

    assert code == 0, lines
    assert failed(lines) == []
    names = [line.split(":", 1)[0].split(maxsplit=1)[1] for line in lines]
    assert names == [
        "configuration",
        "rules",
        "timezone",
        "holidays",
        "database",
        "wecom callback",
        "wecom credentials",
        "wecom api access",
        "dingtalk credentials",
        "dingtalk cards",
        "asr",
        "clock",
    ]
    assert "platforms on: WeCom, DingTalk" in line_of(lines, "configuration")
    assert "migrations at head" in line_of(lines, "database")
    assert "销售助手" in line_of(lines, "wecom api access")
    assert str(model_dir) in line_of(lines, "asr")
    assert "markdown with reply links" in line_of(lines, "dingtalk cards")


async def test_a_half_configured_wecom_names_each_missing_key(clean_env, sqlite_url) -> None:
    clean_env.setenv("SALESBOT_DATABASE_URL", sqlite_url)
    clean_env.setenv("SALESBOT_WECOM_CORP_ID", "ww5a1e5b0t00000001")
    clean_env.setenv("SALESBOT_WECOM_AGENT_ID", "1000002")

    code, lines = await doctor()

    assert code == 1
    (line,) = lines
    assert line.startswith("FAIL configuration: ")
    for key in ("SALESBOT_WECOM_SECRET", "SALESBOT_WECOM_TOKEN", "SALESBOT_WECOM_AES_KEY"):
        assert key in line
    assert "SALESBOT_WECOM_CORP_ID" not in line


async def test_an_unreachable_database_says_what_to_check_and_hides_the_password(
    clean_env,
) -> None:
    url = f"postgresql+asyncpg://salesbot:s3cret-pw@127.0.0.1:{free_port()}/salesbot"
    clean_env.setenv("SALESBOT_DATABASE_URL", url)

    code, lines = await doctor()

    assert code == 1
    line = line_of(lines, "database")
    assert line.startswith("FAIL database: cannot connect to postgresql+asyncpg://salesbot:***@")
    assert "SALESBOT_DATABASE_URL" in line
    assert all("s3cret-pw" not in shown for shown in lines)


async def test_a_database_url_that_is_not_one_says_what_is_expected(clean_env) -> None:
    clean_env.setenv("SALESBOT_DATABASE_URL", "salesbot@127.0.0.1/salesbot")

    code, lines = await doctor()

    assert code == 1
    line = line_of(lines, "database")
    assert line.startswith("FAIL database: SALESBOT_DATABASE_URL is not a database URL")
    assert "postgresql+asyncpg://" in line


async def test_a_missing_sqlite_file_is_not_created_but_reported(clean_env, tmp_path) -> None:
    clean_env.setenv("SALESBOT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/none.db")

    code, lines = await doctor()

    assert code == 1
    assert "run `salesbot db upgrade`" in line_of(lines, "database")
    assert not (tmp_path / "none.db").exists()


async def test_a_database_without_migrations_says_run_db_upgrade(clean_env, empty_db_url) -> None:
    clean_env.setenv("SALESBOT_DATABASE_URL", empty_db_url)

    code, lines = await doctor()

    assert code == 1
    assert line_of(lines, "database") == (
        "FAIL database: no tables yet — run `salesbot db upgrade`"
    )


async def test_a_database_migrated_by_a_newer_version_is_named(clean_env, db_url) -> None:
    engine = create_engine(db_url)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    await engine.dispose()
    clean_env.setenv("SALESBOT_DATABASE_URL", db_url)

    code, lines = await doctor()

    assert code == 1
    line = line_of(lines, "database")
    assert line.startswith("FAIL database: at revision 9999_future")
    assert "newer version" in line


async def test_a_bad_rules_file_names_the_file_and_the_key(clean_env, sqlite_url, tmp_path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("quiet_hours:\n  start: 半夜\n", encoding="utf-8")
    clean_env.setenv("SALESBOT_DATABASE_URL", sqlite_url)
    clean_env.setenv("SALESBOT_RULES_FILE", str(rules))

    code, lines = await doctor()

    assert code == 1
    line = line_of(lines, "rules")
    assert line.startswith("FAIL rules: ")
    assert str(rules) in line
    assert "quiet_hours" in line
    assert line_of(lines, "timezone").startswith("OK   timezone: Asia/Shanghai")


@pytest.mark.parametrize(
    ("errcode", "errmsg", "hint"),
    [
        (40001, "invalid credential", "SALESBOT_WECOM_SECRET is wrong"),
        (40013, "invalid corpid", "SALESBOT_WECOM_CORP_ID"),
    ],
)
async def test_a_gettoken_error_names_the_setting_to_fix(
    wecom_on, fake_tokens, errcode, errmsg, hint
) -> None:
    fake_tokens.wecom_gettoken = {"errcode": errcode, "errmsg": errmsg}

    code, lines = await doctor()

    assert code == 1
    line = line_of(lines, "wecom credentials")
    assert line.startswith(f"FAIL wecom credentials: {errcode} {errmsg} — ")
    assert hint in line
    assert "wecom api access" not in "\n".join(lines)


async def test_a_wrong_secret_against_the_real_check_fails(wecom_on, fake_tokens) -> None:
    wecom_on.setenv("SALESBOT_WECOM_SECRET", "not-the-secret")

    code, lines = await doctor()

    assert code == 1
    assert "40001" in line_of(lines, "wecom credentials")


TRUSTED_IP_ANSWER = {
    "errcode": 60020,
    "errmsg": "not allow to access from your ip, hint: [1772706600_1_abc], "
    "from ip: 203.0.113.7, more info at https://open.work.weixin.qq.com/devtool/query?e=60020",
}


async def test_60020_from_the_api_tells_which_ip_to_add_to_the_trusted_list(
    wecom_on, fake_tokens
) -> None:
    fake_tokens.wecom_agent = TRUSTED_IP_ANSWER

    code, lines = await doctor()

    assert code == 1
    assert line_of(lines, "wecom credentials").startswith("OK")
    line = line_of(lines, "wecom api access")
    assert line.startswith("FAIL wecom api access: 60020")
    assert "203.0.113.7" in line
    assert "企业可信IP" in line


async def test_60020_already_on_gettoken_gives_the_same_hint(wecom_on, fake_tokens) -> None:
    fake_tokens.wecom_gettoken = TRUSTED_IP_ANSWER

    code, lines = await doctor()

    assert code == 1
    line = line_of(lines, "wecom credentials")
    assert "203.0.113.7" in line
    assert "企业可信IP" in line


async def test_an_agent_id_of_another_app_is_named(wecom_on) -> None:
    wecom_on.setenv("SALESBOT_WECOM_AGENT_ID", "1000099")

    code, lines = await doctor()

    assert code == 1
    assert "SALESBOT_WECOM_AGENT_ID" in line_of(lines, "wecom api access")


async def test_a_malformed_aes_key_is_caught_before_wecom_refuses_callbacks(wecom_on) -> None:
    wecom_on.setenv("SALESBOT_WECOM_AES_KEY", "too-short")

    code, lines = await doctor()

    assert code == 1
    assert "43-character EncodingAESKey" in line_of(lines, "wecom callback")


async def test_an_api_base_that_does_not_answer_says_to_check_network(wecom_on) -> None:
    wecom_on.setenv("SALESBOT_WECOM_API_BASE", f"http://127.0.0.1:{free_port()}")

    code, lines = await doctor()

    assert code == 1
    line = line_of(lines, "wecom credentials")
    assert line.startswith("FAIL wecom credentials: cannot reach http://127.0.0.1:")
    assert "firewall" in line


async def test_a_dingtalk_token_failure_names_the_app_key_and_secret(
    clean_env, sqlite_url, fake_tokens
) -> None:
    clean_env.setenv("SALESBOT_DATABASE_URL", sqlite_url)
    set_env(clean_env, dingtalk_env(fake_tokens.base_url))
    clean_env.setenv("SALESBOT_DINGTALK_APP_SECRET", "wrong")

    code, lines = await doctor()

    assert code == 1
    line = line_of(lines, "dingtalk credentials")
    assert line.startswith("FAIL dingtalk credentials: invalidClientIdOrSecret")
    assert "SALESBOT_DINGTALK_APP_SECRET" in line


async def test_a_missing_asr_model_directory_fails_with_the_setting(clean_env, sqlite_url) -> None:
    clean_env.setenv("SALESBOT_DATABASE_URL", sqlite_url)
    clean_env.setenv("SALESBOT_ASR_ENGINE", "faster-whisper")
    clean_env.setenv("SALESBOT_ASR_MODEL", "/srv/models/whisper-small-ct2")

    code, lines = await doctor()

    assert code == 1
    line = line_of(lines, "asr")
    assert line.startswith("FAIL asr: ")
    assert "/srv/models/whisper-small-ct2" in line
    assert "SALESBOT_ASR_ENGINE=none" in line


async def test_the_bundled_model_is_checked_without_unpacking_it(
    clean_env, sqlite_url, tmp_path
) -> None:
    clean_env.setenv("SALESBOT_DATABASE_URL", sqlite_url)
    clean_env.setenv("SALESBOT_ASR_ENGINE", "faster-whisper")
    clean_env.setenv("SALESBOT_CACHE_DIR", str(tmp_path / "cache"))

    code, lines = await doctor()

    assert code == 0, lines
    assert "unpacked into" in line_of(lines, "asr")
    assert not (tmp_path / "cache").exists()


async def test_a_server_clock_minutes_off_fails_the_clock_check(wecom_on, fake_tokens) -> None:
    fake_tokens.clock_skew = timedelta(minutes=-7)

    code, lines = await doctor()

    assert code == 1
    line = line_of(lines, "clock")
    assert line.startswith("FAIL clock: this server is +42")
    assert "NTP" in line


async def test_the_command_exits_0_when_all_is_well_and_1_on_a_fail(
    clean_env, sqlite_url, fake_tokens, tmp_path
) -> None:
    env = dict(os.environ) | wecom_env(fake_tokens.base_url)
    env["SALESBOT_DATABASE_URL"] = sqlite_url

    async def run(extra: dict[str, str]) -> tuple[int, str]:
        # The fake runs on this loop: the child must not block it.
        proc = await asyncio.create_subprocess_exec(
            str(SALESBOT),
            "doctor",
            env=env | extra,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
        return proc.returncode or 0, out.decode()

    ok_code, ok_out = await run({})
    fail_code, fail_out = await run({"SALESBOT_WECOM_SECRET": "wrong"})

    assert ok_code == 0, ok_out
    assert "FAIL" not in ok_out
    assert fail_code == 1, fail_out
    assert "FAIL wecom credentials: 40001" in fail_out
    assert "Traceback" not in ok_out + fail_out
