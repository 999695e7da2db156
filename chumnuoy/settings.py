"""Configuration from environment variables, read from `.env` at the repository root when present.

Variables already set in the environment win over `.env`. Names are fixed by SPEC §3; extra
settings carry the `CHUMNUOY_` prefix and are documented in the README.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from dotenv import load_dotenv

from chumnuoy import ROOT


def env_file_path() -> Path:
    """`.env` at the repository root, or CHUMNUOY_ENV_FILE (tests point it elsewhere)."""
    return Path(os.environ.get("CHUMNUOY_ENV_FILE", str(ROOT / ".env")))


def load_env_file() -> None:
    """Load `.env`; never override what the process environment already holds."""
    env_file = env_file_path()
    if env_file.exists():
        load_dotenv(env_file, override=False)


def _get(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def _flag(name: str, default: str = "0") -> bool:
    return _get(name, default).strip().lower() in {"1", "true", "yes", "on"}


def _var(relative: str) -> str:
    return f"sqlite:///{ROOT / 'var' / relative}"


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=lambda: _get("DATABASE_URL", _var("chumnuoy.db")))
    registry_database_url: str = field(
        default_factory=lambda: _get("REGISTRY_DATABASE_URL", _var("registry.db"))
    )
    redis_url: str = field(default_factory=lambda: _get("REDIS_URL"))
    secret_key: str = field(default_factory=lambda: _get("SECRET_KEY"))
    public_base_url: str = field(default_factory=lambda: _get("PUBLIC_BASE_URL", "http://127.0.0.1:8000"))
    registry_url: str = field(default_factory=lambda: _get("REGISTRY_URL", "http://127.0.0.1:8001"))
    registry_client_id: str = field(default_factory=lambda: _get("REGISTRY_CLIENT_ID"))
    registry_client_secret: str = field(default_factory=lambda: _get("REGISTRY_CLIENT_SECRET"))
    registry_signatures: str = field(default_factory=lambda: _get("REGISTRY_SIGNATURES", "dev"))
    registry_signing_key: str = field(default_factory=lambda: _get("REGISTRY_SIGNING_KEY"))
    xroad_client: str = field(default_factory=lambda: _get("XROAD_CLIENT"))
    ussd_gateway_key: str = field(default_factory=lambda: _get("USSD_GATEWAY_KEY"))
    ussd_allowed_ips: str = field(default_factory=lambda: _get("USSD_ALLOWED_IPS"))
    twilio_account_sid: str = field(default_factory=lambda: _get("TWILIO_ACCOUNT_SID"))
    twilio_auth_token: str = field(default_factory=lambda: _get("TWILIO_AUTH_TOKEN"))
    twilio_from: str = field(default_factory=lambda: _get("TWILIO_FROM"))
    twilio_api_base_url: str = field(default_factory=lambda: _get("TWILIO_API_BASE_URL"))
    sms_gateway_key: str = field(default_factory=lambda: _get("SMS_GATEWAY_KEY"))
    telegram_bot_token: str = field(default_factory=lambda: _get("TELEGRAM_BOT_TOKEN"))
    telegram_webhook_secret: str = field(default_factory=lambda: _get("TELEGRAM_WEBHOOK_SECRET"))
    telegram_api_base_url: str = field(default_factory=lambda: _get("TELEGRAM_API_BASE_URL"))
    nlu_backend: str = field(default_factory=lambda: _get("NLU_BACKEND", "embedded"))
    rasa_url: str = field(default_factory=lambda: _get("RASA_URL", "http://127.0.0.1:5005"))
    rasa_token: str = field(default_factory=lambda: _get("RASA_TOKEN"))
    simulator_enabled: bool = field(default_factory=lambda: _flag("SIMULATOR_ENABLED"))
    # CHUMNUOY_-prefixed additions (README, configuration table)
    web_bind: str = field(default_factory=lambda: _get("CHUMNUOY_WEB_BIND", "127.0.0.1:8000"))
    web_workers: int = field(default_factory=lambda: int(_get("CHUMNUOY_WEB_WORKERS", "2")))
    registry_bind: str = field(default_factory=lambda: _get("CHUMNUOY_REGISTRY_BIND", "127.0.0.1:8001"))
    registry_sender_id: str = field(default_factory=lambda: _get("CHUMNUOY_REGISTRY_SENDER_ID", "chumnuoy"))
    registry_receiver_id: str = field(
        default_factory=lambda: _get("CHUMNUOY_REGISTRY_RECEIVER_ID", "spr-sandbox")
    )
    registry_timeout: float = field(default_factory=lambda: float(_get("CHUMNUOY_REGISTRY_TIMEOUT", "5")))
    log_level: str = field(default_factory=lambda: _get("CHUMNUOY_LOG_LEVEL", "INFO"))
    secret_key_fallbacks: str = field(default_factory=lambda: _get("CHUMNUOY_SECRET_KEY_FALLBACKS"))
    """Comma-separated previous SECRET_KEYs still accepted for sessions during a rotation."""
    log_format: str = field(default_factory=lambda: _get("CHUMNUOY_LOG_FORMAT", "text"))
    metrics_token: str = field(default_factory=lambda: _get("CHUMNUOY_METRICS_TOKEN"))
    metrics_dir: str = field(
        default_factory=lambda: _get("CHUMNUOY_METRICS_DIR", str(ROOT / "var" / "metrics"))
    )


@cache
def get_settings() -> Settings:
    """The process-wide settings; tests build their own `Settings()` after changing the environment."""
    load_env_file()
    return Settings()
