"""Write `.env` for `make run`: fresh random secrets on first run, kept unchanged afterwards.

A variable missing from an existing `.env` (added by a newer version) is appended; nothing already
there is rewritten.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chumnuoy import ROOT
from chumnuoy.settings import env_file_path


def _token(nbytes: int = 32) -> Callable[[], str]:
    return lambda: secrets.token_urlsafe(nbytes)


def new_ed25519_key() -> str:
    """A new ed25519 private key as base64 of its 32 raw bytes."""
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode()


def _fixed(value: str) -> Callable[[], str]:
    return lambda: value


# (name, how to make its value, comment); an empty value leaves the variable unset.
DEFAULTS: list[tuple[str, Callable[[], str], str]] = [
    ("DATABASE_URL", lambda: f"sqlite:///{ROOT / 'var' / 'chumnuoy.db'}", "portal database"),
    ("REGISTRY_DATABASE_URL", lambda: f"sqlite:///{ROOT / 'var' / 'registry.db'}", "sandbox database"),
    ("REDIS_URL", _fixed(""), "unset = no Redis"),
    ("SECRET_KEY", _token(), "Flask session signing"),
    ("PUBLIC_BASE_URL", _fixed("http://127.0.0.1:8000"), "public URL of web"),
    ("REGISTRY_URL", _fixed("http://127.0.0.1:8001"), "registry base URL (the sandbox)"),
    ("REGISTRY_CLIENT_ID", lambda: "chumnuoy-" + secrets.token_hex(4), "OAuth2 client id"),
    ("REGISTRY_CLIENT_SECRET", _token(), "OAuth2 client secret"),
    ("REGISTRY_SIGNATURES", _fixed("dev"), "dev or required"),
    ("REGISTRY_SIGNING_KEY", new_ed25519_key, "our ed25519 private key, base64"),
    ("XROAD_CLIENT", _fixed(""), "set = CamDX/X-Road mode"),
    ("USSD_GATEWAY_KEY", _token(), "key the USSD gateway sends"),
    ("USSD_ALLOWED_IPS", _fixed(""), "optional allow-list"),
    ("TWILIO_ACCOUNT_SID", _fixed("AC" + "0" * 32), "placeholder"),
    ("TWILIO_AUTH_TOKEN", _token(), "Twilio auth token"),
    ("TWILIO_FROM", _fixed("+85500000000"), "placeholder"),
    ("TWILIO_API_BASE_URL", _fixed(""), "unset = api.twilio.com"),
    ("SMS_GATEWAY_KEY", _token(), "generic SMS aggregator secret"),
    ("TELEGRAM_BOT_TOKEN", _fixed(""), "unset = no Telegram bot"),
    ("TELEGRAM_WEBHOOK_SECRET", _token(), "X-Telegram-Bot-Api-Secret-Token"),
    ("TELEGRAM_API_BASE_URL", _fixed(""), "unset = api.telegram.org"),
    ("NLU_BACKEND", _fixed("embedded"), "embedded or rasa"),
    ("RASA_URL", _fixed(""), "unset = http://127.0.0.1:5005"),
    ("RASA_TOKEN", _token(), "Rasa server auth token"),
    ("SIMULATOR_ENABLED", _fixed("1"), "browser simulator"),
]


def read_env(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip()
    return values


def ensure_env_file(path: Path | None = None) -> list[str]:
    """Create or complete `.env` (or `path`); returns the names it added. Unset variables are written
    commented out."""
    path = path or env_file_path()
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    present = read_env(path)
    commented = {line[1:].partition("=")[0] for line in text.splitlines() if line.startswith("#")}
    lines = [] if text else ["# Written by `make run` on first run; edit freely, it is never overwritten."]
    added: list[str] = []
    for name, make, comment in DEFAULTS:
        if name in present or name in commented:
            continue
        value = make()
        lines += [f"# {comment}", f"{name}={value}" if value else f"#{name}="]
        added.append(name)
    if added:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(("\n" if text and not text.endswith("\n") else "") + "\n".join(lines) + "\n")
        path.chmod(0o600)
    return added


if __name__ == "__main__":
    names = ensure_env_file()
    print(f".env: added {', '.join(names)}" if names else ".env: unchanged")
