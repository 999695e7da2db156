"""The outbox's Telegram sender against the Bot API stand-in: sent, RetryAfter honoured (and every
sender paused), 403 blocked → opted out (identity marked by the outbox), other errors; one message
a second per chat even across senders that share nothing but the database."""

from __future__ import annotations

import time
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.telegram.pacing import TelegramPacer
from bot.telegram.sender import TelegramSender, telegram_sender
from chumnuoy.settings import Settings
from tests.telegram.conftest import TOKEN
from tests.telegram.test_pacing import FakeClock


def _settings(url: str, database_url: str = "sqlite:///:memory:") -> Settings:
    return replace(Settings(), telegram_bot_token=TOKEN, telegram_api_base_url=url, database_url=database_url)


def _pacer(db_session, clock: FakeClock | None = None) -> TelegramPacer:
    factory = sessionmaker(db_session.get_bind(), expire_on_commit=False)
    if clock is None:
        return TelegramPacer(factory)
    return TelegramPacer(factory, clock=clock, sleep=clock.advance)


def test_sender_is_configured_only_with_a_token(bot_api) -> None:
    assert telegram_sender(replace(Settings(), telegram_bot_token="")) is None
    sender = telegram_sender(_settings(bot_api.url))
    assert isinstance(sender, TelegramSender)
    sender.runner.close()


def test_sender_maps_bot_api_answers(bot_api, db_session) -> None:
    from portal.services import outbox

    clock = FakeClock()
    sender = TelegramSender(_settings(bot_api.url), pacer=_pacer(db_session, clock))
    other_worker = TelegramSender(_settings(bot_api.url), pacer=_pacer(db_session, clock))
    try:
        message = outbox.enqueue(db_session, channel="telegram", address="5551", text="សួស្តី", kind="reply")
        db_session.commit()
        ok = sender.send(message)
        assert ok.ok and ok.provider_id == "1"
        assert bot_api.of("sendMessage")[-1].params == {"chat_id": "5551", "text": "សួស្តី"}
        bot_api.fail("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
        throttled = sender.send(message)
        assert not throttled.ok and throttled.retry_after == 3 and not throttled.permanent_failure
        calls = len(bot_api.of("sendMessage"))
        paused = other_worker.send(message)  # RetryAfter stops every sender for a while
        assert not paused.ok and 0 < (paused.retry_after or 0) <= 3
        assert len(bot_api.of("sendMessage")) == calls
        clock.advance(3.1)
        bot_api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
        blocked = sender.send(message)
        assert blocked.opted_out and blocked.permanent_failure
        clock.advance(1.1)
        bot_api.fail("sendMessage", 400, "Bad Request: chat not found")
        missing = sender.send(message)
        assert missing.permanent_failure and not missing.opted_out
        clock.advance(1.1)
        bot_api.fail("sendMessage", 502, "Bad Gateway")
        transient = sender.send(message)
        assert not transient.ok and not transient.permanent_failure
    finally:
        sender.runner.close()
        other_worker.runner.close()


def test_outbox_delivery_marks_a_blocked_citizen_opted_out(bot_api, db_session) -> None:
    from portal.models.citizen import ChannelIdentity
    from portal.services import identity, outbox

    identity.identity_for(db_session, "telegram", "5552")
    message = outbox.enqueue(db_session, channel="telegram", address="5552", text="Complaint update",
                             kind="status")
    later = outbox.enqueue(db_session, channel="telegram", address="5552", text="Reminder", kind="reminder")
    db_session.commit()
    bot_api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    sender = TelegramSender(_settings(bot_api.url), pacer=_pacer(db_session))
    try:
        outbox.deliver_due(db_session, {"telegram": sender}, worker_id="w1")
    finally:
        sender.runner.close()
    db_session.expire_all()
    assert db_session.get(type(message), message.id).status == "opted_out"
    assert db_session.get(type(later), later.id).status == "opted_out"  # not sent once blocked
    assert len(bot_api.of("sendMessage")) == 1
    blocked = db_session.scalar(select(ChannelIdentity).where(ChannelIdentity.address == "5552"))
    assert blocked.carrier_blocked


def test_one_message_a_second_per_chat_across_senders(bot_api, db_session) -> None:
    """Two senders (as in two workers) share only the database: still ≥ 1 s apart in one chat."""
    from portal.services import outbox

    one = TelegramSender(_settings(bot_api.url), pacer=_pacer(db_session))
    two = TelegramSender(_settings(bot_api.url), pacer=_pacer(db_session))
    try:
        first = outbox.enqueue(db_session, channel="telegram", address="5553", text="one", kind="notice")
        other = outbox.enqueue(db_session, channel="telegram", address="5554", text="two", kind="notice")
        db_session.commit()
        started = time.monotonic()
        assert one.send(first).ok and two.send(other).ok
        assert time.monotonic() - started < 0.9  # different chats do not wait
        assert two.send(first).ok
        calls = bot_api.of("sendMessage", 5553)
        assert calls[1].at - calls[0].at >= 0.95
    finally:
        one.runner.close()
        two.runner.close()
