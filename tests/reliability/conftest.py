"""Real processes (registry sandbox, gunicorn web, workers) on free 127.0.0.1 ports, on the suite's
backend: SQLite files, or fresh PostgreSQL databases + Redis in the PostgreSQL pass."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from chumnuoy.stack import Stack, StackSpec
from chumnuoy.standins import TwilioStandIn
from tests.fixtures.services import BACKEND

RELIABILITY_REDIS_DB = 9
"""The shared test Redis's database for these tests (the other tests use 0)."""

FAST_RECOVERY = {
    "CHUMNUOY_OUTBOX_RATE_SMS": "200",
    "CHUMNUOY_OUTBOX_LEASE_SECONDS": "3",  # a killed worker's claimed rows are taken over after 3 s
    "CHUMNUOY_REGISTRY_BREAKER_FAILURES": "3",
    "CHUMNUOY_REGISTRY_BREAKER_COOLDOWN": "2",
}


def _redis_url() -> str:
    import redis

    base = os.environ.get("CHUMNUOY_TEST_REDIS_URL", "")
    if not base:
        pytest.skip("Redis is not running (scripts/services.sh start)")
    url = base.rsplit("/", 1)[0] + f"/{RELIABILITY_REDIS_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


@pytest.fixture
def make_stack(new_database, tmp_path) -> Iterator[Callable[..., tuple[Stack, TwilioStandIn]]]:
    """`make_stack(worker_processes=2, database_url=None, redis_url=None)` → a started stack and the
    Twilio stand-in receiving its SMS; everything is stopped after the test."""
    with ExitStack() as cleanup:

        def make(*, worker_processes: int = 2, database_url: str | None = None,
                 registry_database_url: str | None = None,
                 redis_url: str | None = None) -> tuple[Stack, TwilioStandIn]:
            twilio = cleanup.enter_context(TwilioStandIn())
            if redis_url is None:
                redis_url = _redis_url() if BACKEND == "postgres" else ""
            spec = StackSpec(database_url=database_url or new_database("portal"),
                             registry_database_url=registry_database_url or new_database("registry"),
                             redis_url=redis_url, web_workers=2, worker_processes=worker_processes,
                             persons=60, twilio_url=twilio.url, extra_env=dict(FAST_RECOVERY))
            stack = cleanup.enter_context(Stack(spec, tmp_path / "stack"))
            stack.prepare()
            stack.start_all()
            return stack, twilio

        yield make
