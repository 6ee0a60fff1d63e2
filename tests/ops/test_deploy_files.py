"""deploy/: the env example, the nginx site, the units, create_db.sh and the CLI wrapper work."""

from __future__ import annotations

import asyncio
import configparser
import os
import re
import subprocess
import uuid
from pathlib import Path

import asyncpg
import pytest

from bot.cli import app as cli
from config.settings import Settings
from tests import pg
from tests.ops.cluster import Nginx, ensure_nginx, self_signed_cert
from tests.ops.conftest import SALESBOT

DEPLOY = Path(__file__).parents[2] / "deploy"


def env_example_keys() -> list[str]:
    text = (DEPLOY / "salesbot.env.example").read_text(encoding="utf-8")
    return re.findall(r"(?m)^#?(SALESBOT_[A-Z0-9_]+)=", text)


def test_the_env_example_lists_every_setting_once_and_nothing_else() -> None:
    keys = env_example_keys()
    settings = {f"SALESBOT_{name.upper()}" for name in Settings.model_fields}

    assert sorted(keys) == sorted(set(keys)), "a key is listed twice"
    assert set(keys) == settings


def test_the_env_example_as_written_is_a_valid_configuration(tmp_path: Path) -> None:
    text = (DEPLOY / "salesbot.env.example").read_text(encoding="utf-8")
    values = dict(re.findall(r"(?m)^(SALESBOT_[A-Z0-9_]+)=(.*)$", text))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALESBOT_")} | values
    code = "from config.settings import load_settings; print(load_settings().asr_engine)"

    result = subprocess.run(
        [str(SALESBOT.parent / "python"), "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "faster-whisper"


def test_nginx_takes_the_shipped_site(tmp_path: Path) -> None:
    cert, key = self_signed_cert(tmp_path)
    nginx = Nginx(ensure_nginx(), tmp_path, [8081, 8082], cert, key)

    result = subprocess.run(nginx._command("-t"), capture_output=True, text=True, timeout=30)

    assert result.returncode == 0, result.stderr


def test_the_sites_body_limit_is_the_apps_callback_limit() -> None:
    site = (DEPLOY / "nginx" / "salesbot.conf").read_text()
    (size_k,) = re.findall(r"client_max_body_size (\d+)k;", site)

    assert int(size_k) * 1024 == Settings.model_fields["callback_max_bytes"].default


def test_the_site_serves_metrics_and_readiness_to_this_machine_only() -> None:
    site = (DEPLOY / "nginx" / "salesbot.conf").read_text()

    for path in ("/metrics", "/readyz"):
        block = re.search(rf"location = {path} \{{(.*?)\}}", site, flags=re.DOTALL)
        assert block is not None, path
        rules = [line.strip() for line in block.group(1).splitlines() if line.strip()]
        assert rules[:3] == ["allow 127.0.0.1;", "allow ::1;", "deny all;"], path
    assert re.search(r"location / \{\s*return 404;\s*\}", site)


@pytest.mark.parametrize("unit", ["salesbot-serve@.service", "salesbot-worker.service"])
def test_each_unit_runs_a_real_command_as_the_salesbot_user(unit: str) -> None:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read_string((DEPLOY / "systemd" / unit).read_text())
    service = parser["Service"]
    command = service["ExecStart"].replace("%i", "8081").split()

    assert service["User"] == "salesbot"
    assert service["EnvironmentFile"] == "/etc/salesbot/salesbot.env"
    assert service["ReadWritePaths"] == "/var/lib/salesbot"
    assert command[0] == "/opt/salesbot/.venv/bin/salesbot"
    result = subprocess.run(
        [str(SALESBOT), *command[1:], "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_every_salesbot_command_in_the_readme_exists() -> None:
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    code = re.findall(r"```[a-z]*\n(.*?)```", readme, flags=re.DOTALL)
    code += re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", readme, flags=re.DOTALL))
    known = {c.name or c.callback.__name__ for c in cli.registered_commands}  # type: ignore[union-attr]
    known |= {g.name for g in cli.registered_groups}

    found = (w for text in code for w in re.findall(r"(?<![\w/.-])salesbot ([a-z]+)", text))
    used = set(found) - {"salesbot"}  # create_db.sh salesbot salesbot: role and database

    assert used <= known, used - known
    assert {"doctor", "db", "import", "users", "export", "outbox", "serve"} <= used


def test_the_cli_wrapper_passes_the_env_file_literally(tmp_path: Path) -> None:
    env_file = tmp_path / "salesbot.env"
    env_file.write_text(
        "# a comment\n\nSALESBOT_WECOM_SECRET=a$b c#d\nSALESBOT_TIMEZONE=Asia/Shanghai\n",
        encoding="utf-8",
    )
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    fake = venv / "bin" / "salesbot"
    fake.write_text(
        '#!/bin/sh\nprintf "%s|%s|%s\\n" "$SALESBOT_WECOM_SECRET" "$SALESBOT_TIMEZONE" "$*"\n'
    )
    fake.chmod(0o755)

    result = subprocess.run(
        ["sh", str(DEPLOY / "salesbot-cli"), "doctor", "--x"],
        env={
            "PATH": "/usr/bin:/bin",
            "SALESBOT_ENV_FILE": str(env_file),
            "SALESBOT_VENV": str(venv),
        },
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "a$b c#d|Asia/Shanghai|doctor --x\n"


def test_create_db_makes_a_role_and_database_and_a_second_run_changes_nothing() -> None:
    if os.geteuid() != 0:
        pytest.fail("create_db.sh runs psql as the postgres user: run the tests as root (CI does)")
    name = f"salesbot_ops_{uuid.uuid4().hex[:8]}"
    script = str(DEPLOY / "create_db.sh")
    try:
        first = subprocess.run([script, name], capture_output=True, text=True, timeout=60)
        second = subprocess.run([script, name], capture_output=True, text=True, timeout=60)

        assert first.returncode == 0, first.stderr
        assert second.returncode == 0, second.stderr
        (url_line,) = first.stdout.splitlines()
        password = re.fullmatch(
            rf"SALESBOT_DATABASE_URL=postgresql\+asyncpg://{name}:([0-9a-f]{{48}})@127\.0\.0\.1:5432/{name}",
            url_line,
        )
        assert password is not None, url_line
        assert second.stdout.strip().endswith(
            f"{name}:<its current password>@127.0.0.1:5432/{name}"
        )
        assert "password is unchanged" in second.stderr
        owner = asyncio.run(_owner_seen_by(name, password.group(1)))
        assert owner == name
    finally:
        asyncio.run(_drop(name))


async def _owner_seen_by(name: str, password: str) -> str:
    conn = await asyncpg.connect(
        host="127.0.0.1", port=5432, user=name, password=password, database=name
    )
    try:
        await conn.execute("CREATE TABLE probe (id int)")
        return str(await conn.fetchval("SELECT tableowner FROM pg_tables WHERE tablename='probe'"))
    finally:
        await conn.close()


async def _drop(name: str) -> None:
    await pg.drop_database(name)
    await asyncio.to_thread(
        subprocess.run,
        ["runuser", "-u", "postgres", "--", "psql", "-qc", f'DROP ROLE IF EXISTS "{name}"'],
        cwd="/",
        check=True,
        timeout=30,
    )
