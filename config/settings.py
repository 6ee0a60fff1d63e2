"""Settings: every SALESBOT_* key of the public contract, from the environment or salesbot.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

AsrEngine = Literal["faster-whisper", "openai-whisper", "openai-api", "platform", "none"]

WECOM_KEYS = ("wecom_corp_id", "wecom_agent_id", "wecom_secret", "wecom_token", "wecom_aes_key")
DINGTALK_KEYS = ("dingtalk_app_key", "dingtalk_app_secret", "dingtalk_robot_code")
WECOM_BOT_KEYS = ("wecom_bot_id", "wecom_bot_secret")
WECOM_BOT_WS_URL = "wss://openws.work.weixin.qq.com"  # developer doc 101463, 建立长连接


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the key and what was expected."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SALESBOT_",
        toml_file="salesbot.toml",
        extra="forbid",
        frozen=True,
    )

    database_url: str = "sqlite+aiosqlite:///./salesbot.db"
    rules_file: Path | None = None
    timezone: str = "Asia/Shanghai"

    wecom_corp_id: str | None = None
    wecom_agent_id: int | None = None
    wecom_secret: str | None = None
    wecom_token: str | None = None
    wecom_aes_key: str | None = None
    wecom_api_base: str = "https://qyapi.weixin.qq.com"
    # 智能机器人 over the long connection (no public URL): beside or instead of the app above.
    wecom_bot_id: str | None = None
    wecom_bot_secret: str | None = None
    wecom_bot_ws_url: str = WECOM_BOT_WS_URL
    wecom_bot_heartbeat_s: float = Field(default=30.0, gt=0)  # the SDKs' interval
    wecom_bot_lock_poll_s: float = Field(default=5.0, gt=0)  # standby: try the lock this often

    dingtalk_app_key: str | None = None
    dingtalk_app_secret: str | None = None
    dingtalk_robot_code: str | None = None
    dingtalk_mode: Literal["http", "stream"] = "http"
    dingtalk_api_base: str = "https://api.dingtalk.com"
    dingtalk_oapi_base: str = "https://oapi.dingtalk.com"
    # An interactive-card template (卡片平台, deploy/dingtalk/card_template.md); without it cards
    # are markdown with reply links.
    dingtalk_card_template_id: str | None = None
    # HTTP mode: where DingTalk reaches this server (https://bot.example.com); card clicks are
    # registered to <this>/dingtalk/card/callback at start-up. Stream mode needs none.
    dingtalk_public_url: str | None = None

    asr_engine: AsrEngine = "faster-whisper"
    asr_model: str = "base"
    asr_language: str = "zh"
    asr_base_url: str | None = None
    asr_api_key: str | None = None
    asr_workers: int = Field(default=1, ge=0)
    asr_max_audio_s: float = Field(default=300.0, gt=0)
    asr_beam_size: int = Field(default=5, ge=1, le=10)  # 1 = greedy: faster, a little less exact
    asr_greedy_over_s: float = Field(default=15.0, ge=0)  # longer notes: greedy, for latency
    asr_compute_type: Literal["int8", "int8_float32", "float32"] = "int8"
    asr_short_window: bool = True  # encode short notes in a 10 s window instead of 30 s
    voice_retention_days: int = Field(default=180, ge=1)  # recordings kept, then purged
    voice_keep_max_bytes: int = Field(default=5 * 1024 * 1024, ge=0)  # larger: not kept
    media_secret: str | None = None  # signs /media/voice links; else derived from platform secrets
    media_link_ttl_s: int = Field(default=7 * 24 * 3600, gt=0)
    cache_dir: Path | None = None  # where the bundled Whisper model is assembled

    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str | None = None
    llm_timeout_s: float = Field(default=8.0, gt=0)

    # Bounds on one message (docs/SECURITY.md): longer notes are refused unread.
    max_note_chars: int = Field(default=2000, ge=1, le=100_000)
    extract_budget_s: float = Field(default=10.0, gt=0)
    retention_days: int = Field(default=30, ge=1)  # inbox, outbox, handled events

    # The web board (/board): where chat links point, and whether it is served at all.
    public_url: str = "http://localhost:8080"
    board_enabled: bool = True
    wecom_oauth_base: str = "https://open.weixin.qq.com"  # WeCom 网页授权 (snsapi_base)

    # Operational knobs (not in the contract's list, all optional).
    callback_max_bytes: int = Field(default=256 * 1024, gt=0)
    callback_read_timeout_s: float = Field(default=10.0, gt=0)  # the whole body, ours not nginx's
    callback_window_s: int = Field(default=300, gt=0)
    outbox_max_attempts: int = Field(default=8, ge=1)
    inbox_max_attempts: int = Field(default=5, ge=1)
    inbox_lease_s: float = Field(default=30.0, gt=0)  # renewed while held; a dead one runs out
    outbox_lease_s: float = Field(default=60.0, gt=0)
    shutdown_grace_s: float = Field(default=10.0, gt=0)
    audit_retention_days: int = Field(default=180, ge=180)
    instance_name: str = "salesbot"
    # POST /leads: comma-separated source=token pairs; a token fixes the lead's source (#17)
    lead_tokens: str | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment wins over salesbot.toml.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown timezone {value!r}; expected e.g. Asia/Shanghai") from err
        return value

    @model_validator(mode="after")
    def _platforms_complete(self) -> Settings:
        for platform, keys in (
            ("WeCom", WECOM_KEYS),
            ("WeCom 智能机器人", WECOM_BOT_KEYS),
            ("DingTalk", DINGTALK_KEYS),
        ):
            present = [k for k in keys if getattr(self, k) not in (None, "")]
            if present and len(present) != len(keys):
                missing = ", ".join(f"SALESBOT_{k.upper()}" for k in keys if k not in present)
                raise ValueError(f"{platform} is half-configured: missing {missing}")
        if self.asr_engine == "openai-api" and not self.asr_base_url:
            raise ValueError("SALESBOT_ASR_ENGINE=openai-api needs SALESBOT_ASR_BASE_URL")
        return self

    @field_validator("lead_tokens")
    @classmethod
    def _lead_tokens_pairs(cls, value: str | None) -> str | None:
        if value:
            parse_lead_tokens(value)
        return value

    @property
    def lead_token_sources(self) -> dict[str, str]:
        """token → source, from SALESBOT_LEAD_TOKENS."""
        return parse_lead_tokens(self.lead_tokens or "")

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                f"expected an http(s) URL such as https://crm.example.com, not {value!r}"
            )
        return value.rstrip("/")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def wecom_enabled(self) -> bool:
        return self.wecom_corp_id is not None

    @property
    def wecom_bot_enabled(self) -> bool:
        return bool(self.wecom_bot_id)

    @property
    def dingtalk_enabled(self) -> bool:
        return self.dingtalk_app_key is not None

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)


def parse_lead_tokens(value: str) -> dict[str, str]:
    """`官网表单=abc,400来电=def` → {"abc": "官网表单", "def": "400来电"}; bad pairs raise."""
    tokens: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in value.split(","))):
        source, sep, token = (part.strip() for part in pair.partition("="))
        if not sep or not source or len(token) < 16:
            raise ValueError(
                "SALESBOT_LEAD_TOKENS: expected source=token pairs separated by commas, "
                "each token at least 16 characters (e.g. 官网表单=3f9c1e…)"
            )
        if token in tokens:
            raise ValueError("SALESBOT_LEAD_TOKENS: one token may fix only one source")
        tokens[token] = source
    return tokens


def load_settings(**overrides: object) -> Settings:
    """Read the settings; a bad value is a ConfigError naming the key, not a traceback."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as err:
        problems = []
        for error in err.errors():
            key = ".".join(str(p) for p in error["loc"])
            name = f"SALESBOT_{key.upper()}" if key else "settings"
            problems.append(f"{name}: {error['msg']}")
        raise ConfigError("bad configuration: " + "; ".join(problems)) from None
