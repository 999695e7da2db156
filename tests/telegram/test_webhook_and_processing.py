"""The webhook (secret, fail closed, dedupe by update_id) and the stored-update processing (a failing
update does not stop the next; retries, then failed with an apology)."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from portal.models.telegram import TelegramUpdate
from tests.telegram.conftest import SECRET


def _start(update_id: int, chat_id: int, text: str = "/start") -> dict:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": text,
        "from": {"id": chat_id, "is_bot": False, "first_name": "A"},
        "chat": {"id": chat_id, "type": "private"}}}


def _count(harness) -> int:
    with harness.sessions() as session:
        return session.scalar(select(func.count()).select_from(TelegramUpdate))


def test_webhook_refuses_without_the_secret(harness) -> None:
    assert harness.post(_start(1, 9001), secret=None) == 403
    assert harness.post(_start(1, 9001), secret="wrong-secret") == 403
    assert harness.post(_start(1, 9001), secret="") == 403
    assert _count(harness) == 0
    assert harness.post(_start(1, 9001)) == 200
    assert _count(harness) == 1
    assert harness.post({"no": "update_id"}) == 400


def test_webhook_fails_closed_when_no_secret_is_configured(harness) -> None:
    harness.app.config["CHUMNUOY_SETTINGS"] = replace(harness.settings, telegram_webhook_secret="")
    assert harness.post(_start(2, 9002), secret="") == 403
    assert harness.post(_start(2, 9002), secret=SECRET) == 403
    assert _count(harness) == 0


def test_a_repeated_update_id_is_processed_once(harness) -> None:
    update = _start(500, 9003)
    assert harness.post(update) == 200
    assert harness.post(update) == 200  # Telegram repeats after a timeout: still 200, stored once
    assert _count(harness) == 1
    assert harness.process() == 1
    assert harness.post(update) == 200  # even after it was processed
    assert harness.process() == 0
    assert len(harness.bot_api.of("sendMessage", 9003)) == 1


def test_a_failing_update_does_not_stop_the_next_one(harness) -> None:
    poison = {"update_id": 600, "message": {"message_id": 1, "date": 1, "from": "not a user",
                                            "chat": {"id": 9004, "type": "private"}}}
    assert harness.post(poison) == 200
    assert harness.post(_start(601, 9004)) == 200  # same chat, after the poison one
    assert harness.post(_start(602, 9005)) == 200  # another chat
    harness.process()
    assert len(harness.bot_api.of("sendMessage", 9004)) == 1
    assert len(harness.bot_api.of("sendMessage", 9005)) == 1
    with harness.sessions() as session:
        rows = {r.update_id: r for r in session.scalars(select(TelegramUpdate))}
        assert rows[601].status == rows[602].status == "done"
        assert rows[600].status == "pending" and rows[600].attempts == 1 and rows[600].last_error
    later = datetime.now(UTC) + timedelta(minutes=5)
    harness.process(now=later)
    harness.process(now=later + timedelta(minutes=5))
    with harness.sessions() as session:
        from portal.models.cases import OutboxMessage

        row = session.get(TelegramUpdate, 600)
        assert row.status == "failed" and row.attempts == 3
        apology = session.scalars(select(OutboxMessage).where(OutboxMessage.address == "9004")).one()
        assert apology.channel == "telegram" and apology.kind == "reply"


def test_unhandled_kinds_are_ignored_not_failed(harness) -> None:
    group = {"update_id": 700, "message": {"message_id": 1, "date": 1, "text": "/start",
                                           "from": {"id": 5, "is_bot": False, "first_name": "G"},
                                           "chat": {"id": -100, "type": "group"}}}
    assert harness.post(group) == 200
    harness.process()
    with harness.sessions() as session:
        assert session.get(TelegramUpdate, 700).status == "ignored"
    assert harness.bot_api.of("sendMessage") == []


def test_a_blocked_chat_is_marked_opted_out_when_replying(harness) -> None:
    from portal.models.citizen import ChannelIdentity

    harness.bot_api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    assert harness.post(_start(800, 9006)) == 200
    harness.process()
    with harness.sessions() as session:
        identity = session.scalar(select(ChannelIdentity).where(ChannelIdentity.address == "9006"))
        assert identity.carrier_blocked
    assert harness.post(_start(801, 9006)) == 200  # writing again means they unblocked the bot
    harness.process()
    with harness.sessions() as session:
        identity = session.scalar(select(ChannelIdentity).where(ChannelIdentity.address == "9006"))
        assert not identity.carrier_blocked


def test_polling_stores_like_the_webhook_then_processes(harness) -> None:
    from bot.state import SqlStateStore
    from bot.telegram.cli import poll_once

    harness.bot_api.updates += [_start(900, 9007), _start(901, 9008)]
    assert harness.post(_start(900, 9007)) == 200  # already came through the webhook once
    offset = poll_once(harness.runner, harness.sessions, None, timeout=0,
                       registry_factory=lambda: harness.registry, store_factory=SqlStateStore)
    assert offset == 902
    assert _count(harness) == 2
    assert len(harness.bot_api.of("sendMessage", 9007)) == 1
    assert len(harness.bot_api.of("sendMessage", 9008)) == 1
    get_updates = harness.bot_api.of("getUpdates")[-1].params
    assert get_updates["allowed_updates"] == ["message", "callback_query"]


def test_set_webhook_registers_the_public_url_with_the_secret(harness) -> None:
    from bot.telegram.cli import set_webhook

    url = set_webhook(harness.runner, harness.settings)
    assert url == "https://chumnuoy.example.org/channels/telegram"
    call = harness.bot_api.of("setWebhook")[-1].params
    assert call["url"] == url and call["secret_token"] == SECRET
    assert call["allowed_updates"] == ["message", "callback_query"]
