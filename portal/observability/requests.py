"""Around every request (a WSGI middleware, so no Flask proxy lookups on the hot path): the request
id, and the channel counters and hop latency.

Every request gets an id: the caller's `X-Request-Id` when it is 1–64 safe characters, else a new
random one. It is returned as `X-Request-Id`, stamped on every log line of the request (a context
variable, chumnuoy/logs.py) and sent on to the registry (registry_client/client.py), so one citizen
hop can be followed through gateway, web and registry logs.

The channel webhooks are counted here, in one place: a webhook answered below 400 is one message in
(and one out when the answer carries a reply), and its duration is one observation of the hop
histogram, recorded through `chumnuoy.metrics.record_hop` (a deque append; written out in the
background). Cost: ~2 µs per request on the reference machine (tests/core/test_metrics.py measures it).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

from chumnuoy import metrics
from chumnuoy.logs import RequestContext, reset_context, set_context

HEADER = "X-Request-Id"
_VALID_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")

CHANNEL_PATHS = {
    "/channels/ussd": "ussd",
    "/channels/sms/twilio": "sms",
    "/channels/sms/gateway": "sms",
    "/channels/telegram": "telegram",
}
"""Webhooks that carry a citizen's message, and their channel. Twilio's delivery reports are not
messages; Telegram's replies are sent by the worker and counted when the outbox delivers them."""
TWILIO_PATH = "/channels/sms/twilio"


def request_id_from(given: str | None) -> str:
    """The caller's id when it is acceptable (1–64 of A–Z a–z 0–9 . _ : -, not starting with a
    punctuation mark), else a new one."""
    if given and _VALID_ID.fullmatch(given):
        return given
    return secrets.token_hex(8)


class ObservedApp:
    """Wraps `app.wsgi_app`."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        path = environ.get("PATH_INFO", "")
        channel = CHANNEL_PATHS.get(path)
        status = 0

        def start(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            nonlocal status
            status = int(status_line[:3])
            headers.append((HEADER, request_id))
            return start_response(status_line, headers, exc_info)

        token = set_context(RequestContext(request_id, channel, path))
        started = time.perf_counter()
        try:
            body = self.wsgi_app(environ, start)
        finally:
            reset_context(token)
        if channel is not None and 0 < status < 400:
            elapsed = time.perf_counter() - started
            replied = status == 200 and channel != "telegram"
            if replied and path == TWILIO_PATH:  # TwiML: a reply only when it holds a <Message>
                chunks = list(body)
                if hasattr(body, "close"):
                    body.close()
                body = chunks
                replied = any(b"<Message" in chunk for chunk in chunks)
            metrics.record_hop(channel, elapsed, replied)
        return body


def register(app: Flask) -> None:
    app.wsgi_app = ObservedApp(app.wsgi_app)  # type: ignore[method-assign]
