"""salesbot doctor: one line per check, OK or FAIL with what to do; non-zero exit on any FAIL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import aiohttp
from sqlalchemy import text

from config.rules import RulesError, load_rules
from config.settings import ConfigError, Settings, load_settings
from handlers.clock import SystemClock
from handlers.quiet import quiet_until
from storage.db import create_engine
from storage.migrate import current_revision, head_revision

TIMEOUT = aiohttp.ClientTimeout(total=10, connect=5)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'OK  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


async def run_doctor(printer: Callable[[str], None] = print) -> int:
    checks: list[Check] = []

    def report(check: Check) -> None:
        checks.append(check)
        printer(check.line())

    try:
        settings = load_settings()
    except ConfigError as err:
        report(Check("configuration", False, f"{err} — fix the SALESBOT_* settings"))
        return 1
    report(Check("configuration", True, _platforms(settings)))
    for step in (_rules, _timezone, _database):
        report(await step(settings))
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
        if settings.wecom_enabled:
            report(await _wecom(settings, http))
        if settings.dingtalk_enabled:
            report(await _dingtalk(settings, http))
    report(await _asr(settings))
    return 0 if all(c.ok for c in checks) else 1


def _platforms(settings: Settings) -> str:
    on = [
        name
        for name, flag in (
            ("WeCom", settings.wecom_enabled),
            ("DingTalk", settings.dingtalk_enabled),
        )
        if flag
    ]
    return f"platforms on: {', '.join(on)}" if on else "no platform configured (shell only)"


async def _rules(settings: Settings) -> Check:
    try:
        rules = load_rules(settings.rules_file)
    except RulesError as err:
        return Check("rules", False, f"{err} — fix the file or unset SALESBOT_RULES_FILE")
    source = settings.rules_file or "shipped defaults"
    return Check(
        "rules",
        True,
        f"{source}: {len(rules.stages)} stages, {len(rules.sop_templates)} SOP templates",
    )


async def _timezone(settings: Settings) -> Check:
    rules = load_rules(settings.rules_file) if settings.rules_file else load_rules()
    now = SystemClock().now()
    local: datetime = now.astimezone(settings.tz)
    quiet = quiet_until(now, rules.quiet_hours, settings.tz)
    state = f"quiet until {quiet.astimezone(settings.tz):%H:%M}" if quiet else "not quiet now"
    return Check(
        "timezone",
        True,
        f"{settings.timezone}, local time {local:%Y-%m-%d %H:%M}, "
        f"quiet hours {rules.quiet_hours.start:%H:%M}–{rules.quiet_hours.end:%H:%M} ({state})",
    )


async def _database(settings: Settings) -> Check:
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        revision, head = await current_revision(engine), head_revision()
    except Exception as err:
        return Check(
            "database",
            False,
            f"unreachable ({type(err).__name__}: {err}) — check "
            "SALESBOT_DATABASE_URL and that the server is running",
        )
    finally:
        await engine.dispose()
    if revision != head:
        return Check(
            "database", False, f"at revision {revision}, head is {head} — run `salesbot db upgrade`"
        )
    return Check("database", True, f"{engine.url.get_backend_name()} reachable, migrations at head")


async def _wecom(settings: Settings, http: aiohttp.ClientSession) -> Check:
    url = f"{settings.wecom_api_base}/cgi-bin/gettoken"
    params = {"corpid": settings.wecom_corp_id or "", "corpsecret": settings.wecom_secret or ""}
    return await _token_check(
        "wecom credentials", lambda: http.get(url, params=params), settings.wecom_api_base
    )


async def _dingtalk(settings: Settings, http: aiohttp.ClientSession) -> Check:
    url = f"{settings.dingtalk_api_base}/v1.0/oauth2/accessToken"
    body = {"appKey": settings.dingtalk_app_key, "appSecret": settings.dingtalk_app_secret}
    return await _token_check(
        "dingtalk credentials", lambda: http.post(url, json=body), settings.dingtalk_api_base
    )


async def _token_check(
    name: str, call: Callable[[], Awaitable[aiohttp.ClientResponse]], base: str
) -> Check:
    try:
        async with await call() as response:  # type: ignore[attr-defined]
            data = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as err:
        return Check(
            name,
            False,
            f"cannot reach {base} ({type(err).__name__}) — check the API "
            "base URL, DNS and the outbound firewall",
        )
    if data.get("access_token") or data.get("accessToken"):
        return Check(name, True, f"got an access token from {base}")
    code, message = data.get("errcode", data.get("code")), data.get("errmsg", data.get("message"))
    if code == 60020:
        return Check(
            name,
            False,
            f"60020 {message} — add this server's public IP to the app's "
            "企业可信IP list in the WeCom admin console",
        )
    return Check(name, False, f"{code} {message} — check the corp id / app key and secret")


async def _asr(settings: Settings) -> Check:
    if settings.asr_engine in ("none", "openai-api"):
        detail = "voice off" if settings.asr_engine == "none" else f"remote {settings.asr_base_url}"
        return Check("asr", True, detail)
    try:
        from bot.asr.model_files import check_model
    except ImportError as err:
        return Check(
            "asr",
            False,
            f"voice extra not installed ({err.name}) — "
            "pip install 'salesbot[voice]' or set SALESBOT_ASR_ENGINE=none",
        )
    try:
        detail = check_model(settings.asr_engine, settings.asr_model)
    except Exception as err:
        return Check("asr", False, f"{err} — set SALESBOT_ASR_MODEL to a local model directory")
    return Check("asr", True, detail)
