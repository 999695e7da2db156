"""The Telegram sender of the outbox (`portal.services.senders.SENDER_FACTORIES["telegram"]`): officer
replies, status changes, reminders and notices as plain messages to the chat id in `address`.

Flood limits: the outbox's telegram token bucket keeps all workers under 30 messages/s; this sender
also keeps ≥ 1 s between two messages to the same chat (Telegram's per-chat limit) within a worker,
and after a 429 it pauses every send of this worker for `retry_after` seconds (Telegram's RetryAfter
applies to the whole bot). Results: sent → the message id; RetryAfter → retried after its delay;
403 "bot was blocked by the user" (or a deactivated user) → opted out (identity marked, never
retried); other 400/403 → permanent failure; network errors and timeouts → retried.
"""

from __future__ import annotations

import time

from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.telegram.api import BotRunner
from bot.telegram.updates import _seconds, is_blocked
from chumnuoy.settings import Settings
from portal.models.cases import OutboxMessage
from portal.services.senders import SendResult

PER_CHAT_INTERVAL = 1.0


class TelegramSender:
    def __init__(self, settings: Settings, runner: BotRunner | None = None, *,
                 per_chat_interval: float = PER_CHAT_INTERVAL) -> None:
        self.runner = runner or BotRunner(settings)
        self.per_chat_interval = per_chat_interval
        self._last_sent: dict[str, float] = {}
        self._paused_until = 0.0

    def send(self, message: OutboxMessage) -> SendResult:
        now = time.monotonic()
        if now < self._paused_until:
            return SendResult(ok=False, retry_after=self._paused_until - now, error="paused after RetryAfter")
        try:
            chat_id = int(message.address)
        except ValueError:
            return SendResult(ok=False, permanent_failure=True, error="not a Telegram chat id")
        wait = self._last_sent.get(message.address, -1e9) + self.per_chat_interval - now
        if wait > 0:
            time.sleep(wait)
        try:
            sent = self.runner.run(self.runner.bot.send_message(chat_id, message.text[:4096]))
        except RetryAfter as error:
            seconds = _seconds(error)
            self._paused_until = time.monotonic() + seconds
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
        finally:
            self._last_sent[message.address] = time.monotonic()
        return SendResult(ok=True, provider_id=str(sent.message_id))


def telegram_sender(settings: Settings) -> TelegramSender | None:
    """Configured only with a bot token."""
    return TelegramSender(settings) if settings.telegram_bot_token else None
