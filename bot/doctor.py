"""salesbot doctor: one line per check, OK or FAIL with what to do; non-zero exit on any FAIL."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.engine import make_url

from config.rules import Rules, RulesError, load_rules
from config.settings import ConfigError, Settings, load_settings
from handlers.clock import SystemClock
from handlers.quiet import quiet_until
from handlers.workdays import Source, calendar_source, use_holidays
from storage.db import create_engine
from storage.migrate import alembic_config, current_revision, head_revision

TIMEOUT = aiohttp.ClientTimeout(total=10, connect=5)
DB_TIMEOUT_S = 10.0
WECOM_TOKEN_RE = re.compile(r"^[A-Za-z0-9]{1,32}$")  # the console's rule for the callback Token
FROM_IP_RE = re.compile(r"from ip:\s*([0-9a-fA-F.:]+)")
WECOM_HINTS = {
    40013: "SALESBOT_WECOM_CORP_ID is not a corp id WeCom knows — copy 企业ID from 我的企业",
    40001: "SALESBOT_WECOM_SECRET is wrong — copy the app's Secret (应用管理 → the app → Secret)",
    40091: "SALESBOT_WECOM_SECRET is not valid — copy the app's Secret again",
    40056: "SALESBOT_WECOM_AGENT_ID is not this secret's app — copy the app's AgentId",
    301002: "SALESBOT_WECOM_AGENT_ID is not this secret's app — copy the app's AgentId",
}


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    warn: bool = False  # OK to run, but an operator should act (exit code stays 0)

    def line(self) -> str:
        mark = "FAIL" if not self.ok else "WARN" if self.warn else "OK  "
        return f"{mark} {self.name}: {self.detail}"


@dataclass
class Probe:
    """Platform calls; each answer's Date header is kept for the clock check."""

    http: aiohttp.ClientSession
    server_times: list[tuple[str, datetime]] = field(default_factory=list)

    async def call(
        self, platform: str, method: str, url: str, **kwargs: Any
    ) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON); raises aiohttp.ClientError, TimeoutError or ValueError."""
        async with self.http.request(method, url, **kwargs) as resp:
            data = await resp.json(content_type=None)
            with contextlib.suppress(TypeError, ValueError):
                self.server_times.append((platform, parsedate_to_datetime(resp.headers["Date"])))
        if not isinstance(data, dict):
            raise ValueError(f"not a JSON object: {str(data)[:80]}")
        return resp.status, data


async def run_doctor(printer: Callable[[str], None] = print) -> int:
    """Run every check, print one line each as it finishes; 0 when all are OK, else 1."""
    checks: list[Check] = []

    def report(check: Check) -> None:
        checks.append(check)
        printer(check.line())

    try:
        settings = load_settings()
    except ConfigError as err:
        problem = str(err).replace("settings: Value error, ", "")
        report(Check("configuration", False, f"{problem} — fix it in the env file"))
        return 1
    report(Check("configuration", True, _configuration(settings)))
    rules_check, rules = _rules(settings)
    report(rules_check)
    report(_timezone(settings, rules))
    report(holidays_check(rules, SystemClock().now().astimezone(settings.tz).date()))
    report(await _database(settings))
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
        probe = Probe(http)
        if settings.wecom_enabled:
            report(_wecom_callback(settings))
            token_check, token = await _wecom_token(settings, probe)
            report(token_check)
            if token is not None:
                report(await _wecom_api_access(settings, probe, token))
        if settings.wecom_bot_enabled:
            from bot.wecom_bot.doctor_check import wecom_bot_reachable

            report(Check("wecom bot", *await wecom_bot_reachable(settings)))
        if settings.dingtalk_enabled:
            from bot.dingtalk.cards import doctor_line

            report(await _dingtalk(settings, probe))
            report(Check("dingtalk cards", *doctor_line(settings)))
        report(await _asr(settings, probe))
        if probe.server_times:
            report(_clock(settings, *probe.server_times[0]))
    return 0 if all(check.ok for check in checks) else 1


def _configuration(settings: Settings) -> str:
    flags = {
        "WeCom": settings.wecom_enabled,
        "WeCom 智能机器人": settings.wecom_bot_enabled,
        "DingTalk": settings.dingtalk_enabled,
    }
    on = [name for name, flag in flags.items() if flag]
    platforms = f"platforms on: {', '.join(on)}" if on else "no platform configured (shell only)"
    return f"{platforms}; database {_safe_url(settings.database_url)}"


def _rules(settings: Settings) -> tuple[Check, Rules | None]:
    try:
        rules = load_rules(settings.rules_file)
    except RulesError as err:
        return Check("rules", False, f"{err} — fix the file or unset SALESBOT_RULES_FILE"), None
    source = settings.rules_file or "shipped defaults"
    detail = f"{source}: {len(rules.stages)} stages, {len(rules.sop_templates)} SOP templates"
    return Check("rules", True, detail), rules


def _timezone(settings: Settings, rules: Rules | None) -> Check:
    now = SystemClock().now()
    head = f"{settings.timezone}, local time {now.astimezone(settings.tz):%Y-%m-%d %H:%M}"
    if rules is None:
        return Check("timezone", True, f"{head}; quiet hours unknown until the rules file loads")
    quiet = rules.quiet_hours
    if quiet.start == quiet.end:
        return Check("timezone", True, f"{head}; no quiet hours (pushes go out at any time)")
    until = quiet_until(now, quiet, settings.tz)
    state = f"quiet now, until {until.astimezone(settings.tz):%H:%M}" if until else "not quiet now"
    hours = f"{quiet.start:%H:%M}–{quiet.end:%H:%M}"
    return Check("timezone", True, f"{head}; quiet hours {hours} ({state})")


def holidays_check(rules: Rules | None, today: date) -> Check:
    """This year's and next year's public holidays: chinese-calendar, else the rules file."""
    if rules is not None:
        use_holidays(rules.holidays)
    years = (today.year, today.year + 1)
    sources = {year: calendar_source(year) for year in years}
    shown = ", ".join(f"{year} from {source}" for year, source in sources.items())
    missing = [year for year, source in sources.items() if source == Source.FALLBACK]
    if not missing:
        return Check("holidays", True, shown)
    listed = " and ".join(str(year) for year in missing)
    return Check(
        "holidays",
        True,
        f"{shown}: no public holidays known for {listed}, so only weekends are days off — "
        f"upgrade chinesecalendar, or list {listed}'s days off and make-up workdays in the rules "
        f"file (holidays: {{{missing[0]}: {{off: [...], work: [...]}}}})",
        warn=True,
    )


async def _database(settings: Settings) -> Check:
    try:
        url = make_url(settings.database_url)
        engine = create_engine(settings.database_url)
    except Exception as err:
        return Check(
            "database",
            False,
            f"SALESBOT_DATABASE_URL is not a database URL ({_short(err)}) — expected e.g. "
            "postgresql+asyncpg://salesbot:PASSWORD@127.0.0.1:5432/salesbot",
        )
    shown = _safe_url(settings.database_url)
    missing = _missing_sqlite_file(settings.database_url)
    if missing is not None:  # connecting would create an empty file: say so instead
        await engine.dispose()
        return Check("database", False, f"no SQLite file at {missing} — run `salesbot db upgrade`")
    try:
        revision = await asyncio.wait_for(_revision(engine), DB_TIMEOUT_S)
    except Exception as err:
        reason = "no answer within 10 s" if isinstance(err, TimeoutError) else _short(err)
        return Check(
            "database",
            False,
            f"cannot connect to {shown} ({reason}) — check SALESBOT_DATABASE_URL, the password, "
            "and that the server is running and accepts this host (pg_hba.conf)",
        )
    finally:
        await engine.dispose()
    head = head_revision()
    if revision == head:
        return Check("database", True, f"{url.get_backend_name()} reachable, migrations at head")
    if revision is None:
        return Check("database", False, "no tables yet — run `salesbot db upgrade`")
    if not _is_known_revision(revision):
        return Check(
            "database",
            False,
            f"at revision {revision}, which this salesbot does not know (a newer version "
            "migrated it) — install that version again",
        )
    return Check(
        "database", False, f"at revision {revision}, head is {head} — run `salesbot db upgrade`"
    )


def _missing_sqlite_file(database_url: str) -> Path | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = Path(url.database or "")
    return None if path.is_file() else path.resolve()


async def _revision(engine: Any) -> str | None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return await current_revision(engine)


def _is_known_revision(revision: str) -> bool:
    from alembic.script import ScriptDirectory

    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except Exception:
        return False


def _wecom_callback(settings: Settings) -> Check:
    from bot.wecom.crypto import aes_key_from

    try:
        aes_key_from(settings.wecom_aes_key or "")
    except ConfigError as err:
        return Check("wecom callback", False, str(err))
    if not WECOM_TOKEN_RE.match(settings.wecom_token or ""):
        return Check(
            "wecom callback",
            False,
            "SALESBOT_WECOM_TOKEN must be the Token from 接收消息 → 设置API接收 "
            "(up to 32 letters and digits)",
        )
    detail = "Token and EncodingAESKey well-formed (URL: https://<your domain>/wecom/callback)"
    return Check("wecom callback", True, detail)


async def _wecom_token(settings: Settings, probe: Probe) -> tuple[Check, str | None]:
    name, base = "wecom credentials", settings.wecom_api_base.rstrip("/")
    params = {"corpid": settings.wecom_corp_id or "", "corpsecret": settings.wecom_secret or ""}
    try:
        _status, data = await probe.call("WeCom", "GET", f"{base}/cgi-bin/gettoken", params=params)
    except (aiohttp.ClientError, TimeoutError, ValueError) as err:
        return _unreachable(name, base, err), None
    if data.get("errcode", 0) == 0 and data.get("access_token"):
        return Check(name, True, f"got an access token from {base}"), str(data["access_token"])
    return _wecom_error(name, data), None


async def _wecom_api_access(settings: Settings, probe: Probe, token: str) -> Check:
    """A real API call with the token: this is where 企业可信IP refuses with 60020."""
    name, base = "wecom api access", settings.wecom_api_base.rstrip("/")
    params = {"access_token": token, "agentid": str(settings.wecom_agent_id)}
    try:
        _status, data = await probe.call("WeCom", "GET", f"{base}/cgi-bin/agent/get", params=params)
    except (aiohttp.ClientError, TimeoutError, ValueError) as err:
        return _unreachable(name, base, err)
    if data.get("errcode", 0) == 0:
        label = data.get("name") or settings.wecom_agent_id
        return Check(name, True, f"app {label} (agent {settings.wecom_agent_id}) answers this IP")
    return _wecom_error(name, data)


def _wecom_error(name: str, data: dict[str, Any]) -> Check:
    code, message = data.get("errcode", "?"), str(data.get("errmsg", ""))
    if code == 60020:
        found = FROM_IP_RE.search(message)
        ip = found.group(1) if found else "this server's public egress IP"
        return Check(
            name,
            False,
            f"60020 not a trusted IP — add {ip} to the app's 企业可信IP (应用管理 → the app → "
            "企业可信IP; it needs a 可信域名 or the callback URL saved first), "
            "for every instance's egress IP",
        )
    hint = WECOM_HINTS.get(
        code if isinstance(code, int) else 0, "check SALESBOT_WECOM_CORP_ID, _AGENT_ID and _SECRET"
    )
    return Check(name, False, f"{code} {message[:120]} — {hint}")


async def _dingtalk(settings: Settings, probe: Probe) -> Check:
    name, base = "dingtalk credentials", settings.dingtalk_api_base.rstrip("/")
    body = {"appKey": settings.dingtalk_app_key, "appSecret": settings.dingtalk_app_secret}
    try:
        status, data = await probe.call(
            "DingTalk", "POST", f"{base}/v1.0/oauth2/accessToken", json=body
        )
    except (aiohttp.ClientError, TimeoutError, ValueError) as err:
        return _unreachable(name, base, err)
    if status < 300 and data.get("accessToken"):
        mode = (
            "stream mode: no public URL needed"
            if settings.dingtalk_mode == "stream"
            else "http mode: set the robot's message URL to https://<your domain>/dingtalk/callback"
        )
        return Check(name, True, f"got an access token from {base}; {mode}")
    code = str(data.get("code", data.get("errcode", status)))
    message = str(data.get("message", data.get("errmsg", "")))[:120]
    if "IpNotInWhiteList" in code or code == "60020":
        hint = "add this server's egress IP to the app's 服务器出口IP list in the developer console"
    else:
        hint = "check SALESBOT_DINGTALK_APP_KEY and SALESBOT_DINGTALK_APP_SECRET (应用凭证)"
    return Check(name, False, f"{code} {message} — {hint}")


async def _asr(settings: Settings, probe: Probe) -> Check:
    engine = settings.asr_engine
    if engine == "none":
        return Check("asr", True, "voice off (SALESBOT_ASR_ENGINE=none): voice gets an answer")
    if engine == "openai-api":
        return await _asr_server(settings, probe)
    local = "openai-whisper" if engine == "openai-whisper" else "faster-whisper"
    module, extra = ("whisper", local) if local == "openai-whisper" else ("faster_whisper", "voice")
    try:
        if importlib.util.find_spec(module) is None:
            raise ImportError(f"{local} is not installed")
        detail = await asyncio.to_thread(_local_model, local, settings)
    except ImportError as err:
        return Check("asr", False, f"{err} — pip install 'salesbot[{extra}]'")
    except Exception as err:
        return Check(
            "asr",
            False,
            f"{err} — set SALESBOT_ASR_MODEL to a local model directory, or "
            "SALESBOT_ASR_ENGINE=none to answer voice with a request to type",
        )
    return Check("asr", True, f"{engine}: {detail}")


def _local_model(engine: str, settings: Settings) -> str:
    """Where the model comes from, without loading or assembling it (that is start-up's job)."""
    from bot.asr import model_files
    from bot.asr.errors import ModelError
    from bot.asr.local import resolve_local_model

    setting = settings.asr_model.strip()
    cache_dir = settings.cache_dir or model_files.default_cache_dir()
    if setting.lower() not in model_files.BUNDLED_NAMES:
        resolved = resolve_local_model(engine, setting, cache_dir)
        if Path(resolved).expanduser().exists():
            return f"model at {resolved}"
        return f"{resolved} is downloaded on first start (needs internet access)"
    if engine == "faster-whisper" and model_files.is_stamped(
        cache_dir / model_files.BUNDLED_DIR_NAME
    ):
        return f"bundled base model ready in {cache_dir / model_files.BUNDLED_DIR_NAME}"
    missing = [str(part) for part in model_files.bundled_parts() if not part.is_file()]
    if missing:
        raise ModelError(f"bundled model part missing: {', '.join(missing)}")
    writable = next((p for p in (cache_dir, *cache_dir.parents) if p.exists()), Path("/"))
    if not os.access(writable, os.W_OK):
        raise ModelError(
            f"the bundled model is unpacked into {cache_dir} on first start, and {writable} "
            "is not writable — set SALESBOT_CACHE_DIR to a directory the service user owns"
        )
    return f"bundled base model installed; unpacked into {cache_dir} on first start"


async def _asr_server(settings: Settings, probe: Probe) -> Check:
    base = (settings.asr_base_url or "").rstrip("/")
    headers = {"Authorization": f"Bearer {settings.asr_api_key}"} if settings.asr_api_key else {}
    url = base if base.endswith("/v1") else f"{base}/v1"
    try:
        async with probe.http.get(f"{url}/models", headers=headers) as resp:
            status = resp.status
    except (aiohttp.ClientError, TimeoutError) as err:
        return _unreachable("asr", base, err)
    if status in (401, 403):
        return Check("asr", False, f"{base} refused the key (HTTP {status}) — check _ASR_API_KEY")
    return Check("asr", True, f"openai-api server {base} answers (HTTP {status})")


def _clock(settings: Settings, platform: str, server_time: datetime) -> Check:
    skew_s = (SystemClock().now() - server_time).total_seconds()
    limit_s = settings.callback_window_s / 2
    if abs(skew_s) > limit_s:
        return Check(
            "clock",
            False,
            f"this server is {skew_s:+.0f} s off {platform}'s clock; callbacks older than "
            f"{settings.callback_window_s} s are refused — turn on NTP "
            "(timedatectl set-ntp true)",
        )
    return Check("clock", True, f"within {abs(skew_s):.0f} s of {platform}'s clock")


def _unreachable(name: str, base: str, err: BaseException) -> Check:
    return Check(
        name,
        False,
        f"cannot reach {base} ({_short(err)}) — check the API base URL, DNS, the outbound "
        "firewall and HTTPS_PROXY",
    )


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparsable URL)"


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text[:160]}" if text else type(err).__name__
