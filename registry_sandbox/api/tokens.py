"""OAuth2 client credentials for the sandbox: issuing and checking bearer JWTs.

The sandbox accepts exactly REGISTRY_CLIENT_ID / REGISTRY_CLIENT_SECRET (constant-time compare).
Tokens are HS256 JWTs signed with a key derived from the client secret and a fixed label, valid for
an hour, carrying the granted scopes (space-separated `scope` claim, RFC 8693 style).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

import jwt

from chumnuoy.settings import Settings

TOKEN_SECONDS = 3600
SCOPES: tuple[str, ...] = ("registry.search", "registry.subscribe", "registry.enrolled", "registry.ext")
_KEY_LABEL = b"chumnuoy-sandbox-token-key-v1|"


class TokenError(Exception):
    """`code` is the DCI error code (err.request.unauthorized or err.request.forbidden)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class TokenIssuer:
    client_id: str
    client_secret: str
    issuer: str

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenIssuer:
        return cls(
            settings.registry_client_id, settings.registry_client_secret, settings.registry_receiver_id
        )

    def _key(self) -> bytes:
        return hashlib.sha256(_KEY_LABEL + self.client_secret.encode("utf-8")).digest()

    def credentials_match(self, client_id: str, client_secret: str) -> bool:
        if not self.client_id or not self.client_secret:
            return False  # fail closed when the sandbox has no credentials configured
        id_ok = hmac.compare_digest(client_id.encode("utf-8"), self.client_id.encode("utf-8"))
        secret_ok = hmac.compare_digest(client_secret.encode("utf-8"), self.client_secret.encode("utf-8"))
        return id_ok and secret_ok

    def issue(self, scopes: tuple[str, ...], now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.issuer,
            "sub": self.client_id,
            "iat": issued,
            "exp": issued + TOKEN_SECONDS,
            "scope": " ".join(scopes),
        }
        return jwt.encode(claims, self._key(), algorithm="HS256")

    def check(self, authorization: str | None, scope: str) -> dict:
        """The claims of a valid bearer token that carries `scope`; raises TokenError otherwise."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise TokenError("err.request.unauthorized", "missing bearer token")
        token = authorization[7:].strip()
        try:
            claims = jwt.decode(
                token,
                self._key(),
                algorithms=["HS256"],
                audience=self.issuer,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise TokenError("err.request.unauthorized", "expired bearer token") from error
        except jwt.InvalidTokenError as error:
            raise TokenError("err.request.unauthorized", "invalid bearer token") from error
        if scope not in str(claims.get("scope", "")).split():
            raise TokenError("err.request.forbidden", f"the token lacks the scope {scope}")
        return claims


def requested_scopes(scope_param: str | None) -> tuple[str, ...] | None:
    """The scopes to grant: all when none are asked for; None when any asked-for scope is unknown."""
    if not scope_param or not scope_param.strip():
        return SCOPES
    asked = tuple(dict.fromkeys(scope_param.split()))
    if any(scope not in SCOPES for scope in asked):
        return None
    return asked


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(client_id, client_secret) from an HTTP Basic Authorization header (RFC 6749 §2.3.1)."""
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    if ":" not in decoded:
        return None
    from urllib.parse import unquote

    client_id, client_secret = decoded.split(":", 1)
    return unquote(client_id), unquote(client_secret)
