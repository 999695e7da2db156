"""Redis as the job queue's wake-up signal: a committed outbox row wakes an idle worker at once (the
database poll falls back to every 5 s); a rolled-back one signals nothing; without Redis nothing is
signalled."""

from __future__ import annotations

import time

import pytest
import redis

from chumnuoy.settings import get_settings
from portal import wakeup
from portal.services import outbox
from tests.reliability.conftest import _redis_url


@pytest.fixture
def wake_redis(monkeypatch) -> str:
    url = _redis_url()
    monkeypatch.setenv("REDIS_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _enqueue(session, address: str) -> None:  # type: ignore[no-untyped-def]
    outbox.enqueue(session, channel="sms", address=address, text="សួស្តី", kind="status")


def test_commit_signals_rollback_does_not(db_session, wake_redis) -> None:
    client = redis.Redis.from_url(wake_redis)
    _enqueue(db_session, "+85512000001")
    assert client.llen(wakeup.QUEUE) == 0  # nothing before the commit
    db_session.rollback()
    assert client.llen(wakeup.QUEUE) == 0
    _enqueue(db_session, "+85512000002")
    db_session.commit()
    assert client.lrange(wakeup.QUEUE, 0, -1) == [b"outbox"]
    waiter = wakeup.waiter()
    assert waiter is not None and waiter.wait(1.0) == {"outbox"}
    started = time.monotonic()
    assert waiter.wait(0.3) == set()  # a timeout, not a busy loop
    assert time.monotonic() - started >= 0.25


def test_without_redis_nothing_is_signalled(db_session, monkeypatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    try:
        assert wakeup.waiter() is None
        _enqueue(db_session, "+85512000003")
        db_session.commit()  # no Redis configured: nothing to reach, nothing raised
        assert wakeup.idle_interval("outbox", 1.0, None) == 1.0
    finally:
        get_settings.cache_clear()


def test_idle_worker_is_woken_by_the_web_process(make_stack) -> None:
    """Three grievances lodged while the worker idles (its database poll is every 5 s with Redis):
    each acknowledgement SMS leaves within a second."""
    import asyncio

    from chumnuoy.faults import target_of
    from chumnuoy.loadclient import Api, Connection, new_grievance

    stack, twilio = make_stack(worker_processes=1, redis_url=_redis_url())
    target = target_of(stack)
    time.sleep(2.0)  # the worker has made its first rounds and is idle

    async def lodge(index: int) -> str:
        api = Api(target, Connection(target.web_url))
        try:
            status, answer = await api.call("POST", "/grievances", new_grievance(f"+8551266600{index}", "w"))
        finally:
            await api.connection.close()
        assert status == 201, answer
        return str(answer["reference"])  # type: ignore[index]

    delays = []
    for index in range(3):
        reference = asyncio.run(lodge(index))
        started = time.monotonic()
        while not any(reference in body for _to, body in twilio.messages()):
            assert time.monotonic() - started < 4.0, "the acknowledgement did not leave"
            time.sleep(0.02)
        delays.append(time.monotonic() - started)
        time.sleep(1.2)
    print("delivery delays (s):", [round(d, 2) for d in delays])
    assert max(delays) < 1.0, delays
