"""The Telegram sender of the outbox (`portal.services.senders.SENDER_FACTORIES["telegram"]`): officer
replies, status changes, reminders and notices as plain messages to the chat id in `address`.

Flood limits hold across every worker (bot/telegram/pacing.py, shared SQL or Redis state): ≥ 1 s
between two messages to one chat, ≤ 30 messages/s for the bot, ≤ 20/min per group; the outbox's
telegram token bucket also keeps all workers under CHUMNUOY_OUTBOX_RATE_TELEGRAM. A message whose
chat is busy waits up to `max_wait` seconds, else it goes back to the outbox with that delay. A 429
RetryAfter pauses every process's sends for `retry_after` seconds (Telegram's limit is per bot).
Results: sent → the message id; RetryAfter → retried after its delay; 403 "bot was blocked by the
user" (or a deactivated user) → opted out (identity marked, never retried); other 400/403 → permanent
failure; network errors and timeouts → retried.
"""

from __future__ import annotations

from functools import cache

from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.telegram.api import BotRunner
from bot.telegram.pacing import TelegramPacer
from bot.telegram.updates import _seconds, is_blocked
from chumnuoy.settings import Settings
from portal.models.cases import OutboxMessage
from portal.services.senders import SendResult

MAX_WAIT = 2.0
"""Seconds a send may wait for its chat's slot before going back to the outbox."""


@cache
def shared_pacer(database_url: str, redis_url: str) -> TelegramPacer:
    """One pacer per process (its own small engine on the portal database, or Redis)."""
    from sqlalchemy.orm import sessionmaker

    from chumnuoy.db import make_engine

    return TelegramPacer(sessionmaker(make_engine(database_url, pool_size=2), expire_on_commit=False),
                         redis_url)


class TelegramSender:
    def __init__(self, settings: Settings, runner: BotRunner | None = None, *,
                 pacer: TelegramPacer | None = None, max_wait: float = MAX_WAIT) -> None:
        self.runner = runner or BotRunner(settings)
        self.pacer = pacer or shared_pacer(settings.database_url, settings.redis_url)
        self.max_wait = max_wait

    def send(self, message: OutboxMessage) -> SendResult:
        try:
            chat_id = int(message.address)
        except ValueError:
            return SendResult(ok=False, permanent_failure=True, error="not a Telegram chat id")
        wait = self.pacer.wait_turn(chat_id, self.max_wait)
        if wait:
            return SendResult(ok=False, retry_after=wait, error=f"flood limit: wait {wait:.1f}s")
        try:
            sent = self.runner.run(self.runner.bot.send_message(chat_id, message.text[:4096]))
        except RetryAfter as error:
            seconds = _seconds(error)
            self.pacer.pause(seconds)
            return SendResult(ok=False, retry_after=seconds, error=f"RetryAfter {seconds:g}s")
        except Forbidden as error:
            if is_blocked(error):
                return SendResult(ok=False, opted_out=True, permanent_failure=True,
                                  error=f"Forbidden: {error}")
            return SendResult(ok=False, permanent_failure=True, error=f"Forbidden: {error}")
        except BadRequest as error:
            return SendResult(ok=False, permanent_failure=True, error=f"BadRequest: {error}")
        except (InvalidToken, NetworkError, TelegramError) as error:
            return SendResult(ok=False, error=f"{type(error).__name__}: {error}")
        return SendResult(ok=True, provider_id=str(sent.message_id))


def telegram_sender(settings: Settings) -> TelegramSender | None:
    """Configured only with a bot token (without one, the simulator delivers its chats' messages)."""
    return TelegramSender(settings) if settings.telegram_bot_token else None
