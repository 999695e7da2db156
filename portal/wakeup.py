"""Redis as the job queue's wake-up signal (SPEC §12), never as its store.

The durable rows in the database (outbox messages, stored Telegram updates) stay the only source of
truth; with REDIS_URL set, committing such a row also pushes the job's name onto a Redis list, and an
idle `worker` waits on that list (BLPOP with a timeout) instead of sleeping, so the work is picked up
within milliseconds while the workers poll the database less often (`FALLBACK_SECONDS`). A lost or
duplicated signal costs nothing: the woken worker claims rows atomically, and the fallback poll finds
whatever no signal announced. Without REDIS_URL nothing changes.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger("chumnuoy.wakeup")

QUEUE = "chumnuoy:jobs:wake"
MAX_PENDING = 1000
"""Signals kept when no worker listens (older ones are dropped: the rows are in the database)."""
FALLBACK_SECONDS = 5.0
"""With a wake-up signal, how often a wakeable job still polls the database (retries that come due,
signals lost while Redis restarted)."""
WAKEABLE = frozenset({"outbox", "telegram_updates"})
_INFO_KEY = "chumnuoy.wake"


@cache
def _client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=1.0)


def _redis_url() -> str:
    from chumnuoy.settings import get_settings

    return get_settings().redis_url


def after_commit(session: Session, job_name: str) -> None:
    """Wake a worker for `job_name` once `session` commits (nothing when it rolls back)."""
    session.info.setdefault(_INFO_KEY, set()).add(job_name)


@event.listens_for(Session, "after_commit")
def _signal(session: Session) -> None:
    names = session.info.pop(_INFO_KEY, None)
    if not names:
        return
    url = _redis_url()
    if not url:
        return
    try:
        pipe = _client(url).pipeline(transaction=False)
        pipe.lpush(QUEUE, *sorted(names))
        pipe.ltrim(QUEUE, 0, MAX_PENDING - 1)
        pipe.execute()
    except Exception as error:  # best effort: the fallback poll finds the row
        log.warning("wake-up signal not sent: %s", type(error).__name__)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_INFO_KEY, None)


class Waiter:
    """A worker's side: `wait(seconds)` returns the job names signalled (empty after the timeout)."""

    def __init__(self, url: str) -> None:
        self.client = _client(url)

    def wait(self, seconds: float) -> set[str]:
        try:
            popped = self.client.blpop([QUEUE], timeout=max(0.01, seconds))
        except Exception as error:
            log.warning("wake-up wait failed: %s", type(error).__name__)
            import time

            time.sleep(seconds)
            return set()
        if popped is None:
            return set()
        names = {popped[1].decode()}
        for extra in self.client.lpop(QUEUE, 100) or []:  # several commits, one wake-up
            names.add(extra.decode())
        return names


def waiter() -> Waiter | None:
    url = _redis_url()
    return Waiter(url) if url else None


def idle_interval(job_name: str, every_seconds: float, active: Waiter | None) -> float:
    """How long an idle job waits before polling again: longer for a wakeable job with a waiter."""
    if active is not None and job_name in WAKEABLE:
        return max(every_seconds, FALLBACK_SECONDS)
    return every_seconds
