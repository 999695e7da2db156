"""Outbound senders: how the outbox worker hands one message to a channel provider.

`Sender.send(message) -> SendResult`. This issue ships `HttpJsonSender` (POSTs the message as JSON to
a configurable URL: a generic aggregator/gateway, and what the tests use); the Twilio and Telegram
senders come with the channel issues and register themselves in `SENDER_FACTORIES`.

Result mapping of `HttpJsonSender`: 2xx → sent (provider id from `id`/`sid`/`message_id`); 429 →
retry after `Retry-After`; a 4xx whose body says the recipient blocked us (Twilio code 21610, a
Telegram 403 "blocked", or `"blocked"`/`"opted_out"`) → opted out; any other 4xx → permanent failure;
5xx, timeouts and connection errors → transient (the worker retries with backoff).

Exactly-once towards the provider (issue #8): a worker killed after the provider accepted a message but
before the outbox committed `sent` leaves the row `sending`; the worker that takes it over after the
lease must not resend blindly:
- a sender that can ask its provider what went out implements `find_sent(message, since)` (the Twilio
  sender lists Messages); the outbox then records the found message instead of sending again;
- `HttpJsonSender` sends the outbox id as the payload `id` and as an `Idempotency-Key` header, the same
  on every attempt: the gateway must accept a repeated key once (answering the first message's id);
- a sender with neither (Telegram: the Bot API has no lookup and no idempotency key) is resent: at most
  one extra copy per killed worker, only for the message in flight at the kill.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx

from chumnuoy.settings import Settings
from portal.models.cases import OutboxMessage


@dataclass(frozen=True)
class SendResult:
    ok: bool
    provider_id: str | None = None
    permanent_failure: bool = False
    opted_out: bool = False
    retry_after: float | None = None
    """Seconds the provider asked us to wait before trying again."""
    error: str | None = None


class Sender(Protocol):
    def send(self, message: OutboxMessage) -> SendResult: ...


class LookupFailed(Exception):
    """The provider could not be asked whether a message went out (so it must not be resent yet)."""


class FindsSent(Protocol):
    """Optional sender capability used when a row is taken over from a dead worker."""

    def find_sent(self, message: OutboxMessage, since: datetime) -> list[str]:
        """Provider ids of messages accepted since `since` (aware UTC) that match `message` (recipient
        and text), oldest first; raises LookupFailed when the provider cannot be asked."""
        ...


IDEMPOTENCY_HEADER = "Idempotency-Key"


OPT_OUT_CODES = {"21610", "blocked", "opted_out", "unsubscribed"}


def _is_opt_out(status: int, body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    error = body.get("error")
    candidates = [body.get("code"), body.get("error_code")]
    if isinstance(error, dict):
        candidates += [error.get("code"), error.get("error_code")]
    elif error is not None:
        candidates.append(error)
    if any(str(c).lower() in OPT_OUT_CODES for c in candidates if c is not None):
        return True
    description = str(body.get("description") or (error.get("message") if isinstance(error, dict) else ""))
    return status == 403 and "blocked" in description.lower()


class HttpJsonSender:
    """POST `{"id", "channel", "to", "text", "kind", "locale"}` to `url` (optional bearer token), with
    `Idempotency-Key: <id>`: a retry or a takeover after a crash repeats the same key."""

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 5.0,
                 client: httpx.Client | None = None) -> None:
        self.url = url
        self.token = token
        self.client = client or httpx.Client(timeout=timeout)

    def send(self, message: OutboxMessage) -> SendResult:
        headers = {IDEMPOTENCY_HEADER: str(message.id)}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = {"id": message.id, "channel": message.channel, "to": message.address, "text": message.text,
                   "kind": message.kind, "locale": message.locale}
        try:
            response = self.client.post(self.url, json=payload, headers=headers)
        except httpx.HTTPError as error:
            return SendResult(ok=False, error=f"{type(error).__name__}: {error}")
        try:
            body = response.json()
        except ValueError:
            body = None
        status = response.status_code
        if 200 <= status < 300:
            provider_id = None
            if isinstance(body, dict):
                provider_id = next((str(body[k]) for k in ("id", "sid", "message_id") if body.get(k)), None)
            return SendResult(ok=True, provider_id=provider_id)
        error = f"HTTP {status}"
        if status == 429:
            retry_after = response.headers.get("Retry-After")
            try:
                seconds = float(retry_after) if retry_after else None
            except ValueError:
                seconds = None
            return SendResult(ok=False, retry_after=seconds, error=error)
        if 400 <= status < 500:
            if _is_opt_out(status, body):
                return SendResult(ok=False, opted_out=True, permanent_failure=True,
                                  error=error + " opted out")
            return SendResult(ok=False, permanent_failure=True, error=error)
        return SendResult(ok=False, error=error)


SENDER_FACTORIES: dict[str, str] = {"sms": "bot.senders:twilio_sender",
                                   "telegram": "bot.telegram.sender:telegram_sender"}
"""channel → "module:function" that builds the channel's sender from the settings (None when the
channel is not configured); imported only when the worker builds its senders."""


def _factory(channel: str) -> Callable[[Settings], Sender | None] | None:
    path = SENDER_FACTORIES.get(channel)
    if not path:
        return None
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def build_senders(settings: Settings) -> dict[str, Sender]:
    """The senders configured for this process: a registered channel sender first, else the generic
    HTTP JSON gateway of CHUMNUOY_OUTBOX_HTTP_URL (+ CHUMNUOY_OUTBOX_HTTP_TOKEN) when set. A channel
    without a sender keeps its messages pending (they are sent once one is configured)."""
    senders: dict[str, Sender] = {}
    url = os.environ.get("CHUMNUOY_OUTBOX_HTTP_URL", "")
    for channel in ("sms", "telegram"):
        factory = _factory(channel)
        sender = factory(settings) if factory else None
        if sender is None and url:
            sender = HttpJsonSender(url, token=os.environ.get("CHUMNUOY_OUTBOX_HTTP_TOKEN") or None)
        if sender is not None:
            senders[channel] = sender
    return senders
