"""Background work and callback delivery to `sender_uri` (a small thread pool, retries with backoff).

The sandbox POSTs signed envelopes (JSON) without a bearer token: the receiver authenticates them by
the signature and our JWKS. A delivery succeeds on any 2xx; connection errors, 429 and 5xx are
retried with exponential backoff (0.5 s, 1 s, 2 s, 4 s); other 4xx are final. The outcome of a
transaction's callback is stored on its row (callback_status: delivered | failed).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)
TIMEOUT_SECONDS = 5.0
WORKERS = 4


def valid_callback_uri(uri: object) -> bool:
    if not isinstance(uri, str):
        return False
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class Dispatcher:
    """Runs jobs on a lazily created pool (created after a gunicorn fork, never before)."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], Any]) -> Future:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="dci-callback")
        return self._pool.submit(self._guarded, job)

    @staticmethod
    def _guarded(job: Callable[[], Any]) -> Any:
        try:
            return job()
        except Exception:  # a background job must never kill the pool worker silently
            log.exception("DCI background job failed")
            return None


def deliver(uri: str, envelope: dict[str, Any], delays: tuple[float, ...] = RETRY_DELAYS) -> tuple[bool, int]:
    """POST the envelope; (delivered, attempts)."""
    attempts = 0
    for delay in (0.0, *delays):
        if delay:
            time.sleep(delay)
        attempts += 1
        try:
            response = httpx.post(
                uri, json=envelope, timeout=TIMEOUT_SECONDS, headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError as error:
            log.warning(
                "callback to %s failed (attempt %d): %s", urlsplit(uri).netloc, attempts, type(error).__name__
            )
            continue
        if 200 <= response.status_code < 300:
            return True, attempts
        if response.status_code != 429 and response.status_code < 500:
            log.warning("callback to %s refused with HTTP %d", urlsplit(uri).netloc, response.status_code)
            return False, attempts
    return False, attempts
