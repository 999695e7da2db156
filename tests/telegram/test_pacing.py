"""Telegram flood limits kept in shared state (SQL rows or Redis keys), so they hold across workers:
≥ 1 s per chat, 30 messages/s for the bot, 20/min per group, RetryAfter pausing everybody — proved
with pacers that share nothing but the store, and with two worker processes."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import sessionmaker

from bot.telegram.pacing import TelegramPacer
from chumnuoy import ROOT
from tests.telegram.conftest import TOKEN


class FakeClock:
    def __init__(self, start: datetime = datetime(2026, 11, 26, 1, 0, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(params=["sql", "redis"])
def make_pacer(request, portal_engine):
    """Pacers as separate workers would build them: their own sessionmaker, the same store."""
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    namespace = f"test-{uuid.uuid4().hex[:8]}:"  # other test runs may share this Redis

    def make(**options) -> TelegramPacer:
        return TelegramPacer(sessionmaker(portal_engine, expire_on_commit=False), redis_url,
                             namespace=namespace, **options)

    return make


def test_one_slot_a_chat_shared_by_two_pacers(make_pacer) -> None:
    first, second = make_pacer(per_chat=timedelta(seconds=1.5)), make_pacer(per_chat=timedelta(seconds=1.5))
    taken = time.monotonic()
    assert first.reserve(501) == 0
    wait = second.reserve(501)  # the other worker: the same chat is busy
    assert 0 < wait <= 1.5
    assert second.reserve(502) == 0  # another chat is not
    time.sleep(wait)
    while second.reserve(501):  # free again about 1.5 s after it was taken
        assert time.monotonic() - taken < 3.0
        time.sleep(0.05)
    assert time.monotonic() - taken >= 1.4
    assert first.reserve(501) > 0


def test_retry_after_pauses_every_pacer(make_pacer) -> None:
    first, second = make_pacer(), make_pacer()
    first.pause(1.5)
    assert 0 < second.reserve(601) <= 1.5
    assert 0 < second.paused_for() <= 1.5
    first.pause(0.1)  # a shorter pause does not cut the longer one
    assert second.paused_for() > 0.5
    time.sleep(second.paused_for() + 0.05)
    assert second.reserve(601) == 0


def test_thirty_messages_a_second_for_the_bot(make_pacer) -> None:
    clock = FakeClock()
    one, two = make_pacer(clock=clock), make_pacer(clock=clock)
    granted = [(one if n % 2 else two).reserve(1000 + n) for n in range(30)]
    assert granted == [0.0] * 30
    assert 0 < one.reserve(2000) <= 1.0  # the 31st in this second, whichever worker asks
    clock.advance(1.0)
    assert two.reserve(2001) == 0


def test_twenty_messages_a_minute_in_a_group(make_pacer) -> None:
    clock = FakeClock()
    pacer = make_pacer(clock=clock, per_chat=timedelta(0))  # only the group count here
    for _ in range(20):
        assert pacer.reserve(-100123) == 0
        clock.advance(1.1)
    wait = pacer.reserve(-100123)
    assert 60 - 22 - 0.5 < wait <= 60 - 22 + 0.5  # until the minute is over
    assert pacer.reserve(777) == 0  # a private chat is not held up


def test_wait_turn_sleeps_up_to_its_limit(make_pacer) -> None:
    pacer = make_pacer(per_chat=timedelta(seconds=0.5))
    assert pacer.wait_turn(801, 2.0) == 0
    started = time.monotonic()
    assert pacer.wait_turn(801, 2.0) == 0
    assert 0.4 <= time.monotonic() - started < 1.5
    pacer.pause(30)
    assert pacer.wait_turn(801, 2.0) > 25  # too long: the caller defers the message


SENDING_WORKER = """
import sys
import time
from dataclasses import replace
from bot.telegram.sender import TelegramSender
from chumnuoy.settings import Settings
from portal.models.cases import OutboxMessage

database_url, api_url, token, chat = sys.argv[1:5]
settings = replace(Settings(), database_url=database_url, telegram_bot_token=token,
                   telegram_api_base_url=api_url, redis_url="")
sender = TelegramSender(settings)
for n in range(2):
    while not (result := sender.send(OutboxMessage(id=n, channel="telegram", address=chat, text=f"m{n}",
                                                   kind="notice"))).ok:
        assert result.retry_after and result.error.startswith("flood limit"), result  # deferred, as
        time.sleep(result.retry_after)  # the outbox would: it tries again after that delay
sender.runner.close()
"""


def test_two_worker_processes_keep_one_message_a_second_in_a_chat(bot_api, portal_database_url) -> None:
    args = [portal_database_url, bot_api.url, TOKEN, "5601"]
    workers = [subprocess.Popen([sys.executable, "-c", SENDING_WORKER, *args], cwd=ROOT,
                                stderr=subprocess.PIPE) for _ in range(2)]
    for worker in workers:
        _, errors = worker.communicate(timeout=60)
        assert worker.returncode == 0, errors.decode()[-2000:]
    times = sorted(call.at for call in bot_api.of("sendMessage", 5601))
    assert len(times) == 4
    # The slots are 1.1 s apart; arrival times carry the jitter of two processes on a busy machine
    # (unpaced, the four would arrive within a few milliseconds).
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.7
    assert times[-1] - times[0] >= 2.6


def _start(update_id: int, chat_id: int) -> dict:
    return {"update_id": update_id, "message": {
        "message_id": 1, "date": int(time.time()), "text": "/start",
        "from": {"id": chat_id, "is_bot": False, "first_name": "A"},
        "chat": {"id": chat_id, "type": "private"}}}


def test_a_retry_after_on_a_reply_pauses_every_worker_and_the_reply_goes_to_the_outbox(harness) -> None:
    from sqlalchemy import select

    from portal.models.cases import OutboxMessage

    harness.bot_api.fail("sendMessage", 429, "Too Many Requests: retry after 30", retry_after=30)
    assert harness.post(_start(5701, 5701)) == 200
    harness.process()
    other_worker = TelegramPacer(sessionmaker(harness.app.extensions["db_engine"]))
    assert 25 < other_worker.paused_for() <= 30
    assert harness.post(_start(5702, 5702)) == 200  # another chat, during the pause: not sent at all
    harness.process()
    assert len(harness.bot_api.of("sendMessage")) == 1  # only the refused one
    with harness.sessions() as session:
        queued = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "telegram")).all()
    assert sorted(m.address for m in queued) == ["5701", "5702"]
    assert all(m.kind == "reply" and "Chumnuoy" in m.text for m in queued)
