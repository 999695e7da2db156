"""OAuth2 client-credentials token for the registry, cached until shortly before it expires."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from registry_client.types import RegistryResponseInvalid

REFRESH_MARGIN_SECONDS = 30.0
"""Refresh this long before `expires_in` runs out (at most half the lifetime for short tokens)."""
DEFAULT_LIFETIME_SECONDS = 300.0
"""Used when the token answer has no usable `expires_in`."""


@dataclass(frozen=True)
class Token:
    value: str
    refresh_at: float
    """Monotonic time after which a new token is fetched."""


class TokenCache:
    """Holds one bearer token; `fetch(form)` performs the POST and returns the parsed JSON answer.

    The fetch function is given by the transport so that the token request goes through the same
    URL building (CamDX), timeouts, retries and circuit breaker as every other call.
    """

    def __init__(self, client_id: str, client_secret: str,
                 fetch: Callable[[dict[str, str]], dict[str, object]],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._form = {"grant_type": "client_credentials", "client_id": client_id,
                      "client_secret": client_secret}
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._token: Token | None = None
        self.fetch_count = 0
        """Tokens fetched so far (for metrics and tests)."""

    def get(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._token.refresh_at:
                self._token = self._new_token()
            return self._token.value

    def invalidate(self, value: str | None = None) -> None:
        """Forget the token (after a 401). With `value`, only if it is still the cached one, so that
        two threads hitting 401 together fetch one new token, not two."""
        with self._lock:
            if value is None or (self._token is not None and self._token.value == value):
                self._token = None

    def _new_token(self) -> Token:
        answer = self._fetch(self._form)
        self.fetch_count += 1
        value = answer.get("access_token")
        if not isinstance(value, str) or not value:
            raise RegistryResponseInvalid("err.token.invalid", "token answer without access_token")
        try:
            lifetime = float(answer.get("expires_in"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            lifetime = DEFAULT_LIFETIME_SECONDS
        margin = min(REFRESH_MARGIN_SECONDS, lifetime / 2)
        return Token(value=value, refresh_at=self._clock() + max(0.0, lifetime - margin))
