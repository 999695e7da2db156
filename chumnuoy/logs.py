"""Logging set-up: one line per event, personal data masked before it is written.

Two formats (CHUMNUOY_LOG_FORMAT): `text` (default, for humans) and `json` (one JSON object per line
with `ts`, `level`, `logger`, `msg`, `request_id` and, where known, `channel` and `path`). Every
handler installed here carries the masking filter, and both formatters mask exception text too, so
phones, ID numbers and dates of birth never reach a log in clear, whatever the format.

The request id of the hop being served lives in a context variable (`request_context`), set by the
web app for each request (portal/observability/requests.py) and by the worker for each job run; the
registry client forwards it as `X-Request-Id`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import NamedTuple

# Phones (+855… or 0…), 9–12 digit ID numbers, and dates of birth in the usual shapes.
_PATTERNS = [
    re.compile(r"(?<![\w])(?:\+?855|0)\d{8,9}(?!\d)"),
    re.compile(r"(?<![\w-])\d{9,12}(?!\d)"),
    re.compile(r"(?<!\d)(?:19|20)\d{2}-\d{2}-\d{2}(?!\d)"),
    re.compile(r"(?<!\d)\d{2}[/.]?\d{2}[/.]?(?:19|20)\d{2}(?!\d)"),
]


def mask(text: str) -> str:
    """Replace phone numbers, ID numbers and dates by a mask keeping the last two characters."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: "*" * (len(m.group()) - 2) + m.group()[-2:], text)
    return text


class RequestContext(NamedTuple):
    request_id: str
    channel: str | None = None
    path: str | None = None


_context: ContextVar[RequestContext | None] = ContextVar("chumnuoy_request", default=None)


def current_context() -> RequestContext | None:
    return _context.get()


def current_request_id() -> str | None:
    context = _context.get()
    return context.request_id if context else None


def set_context(context: RequestContext | None):  # type: ignore[no-untyped-def]
    """Set the context of the current hop; returns the token for `reset_context`."""
    return _context.set(context)


def reset_context(token) -> None:  # type: ignore[no-untyped-def]
    _context.reset(token)


@contextmanager
def request_context(request_id: str, channel: str | None = None, path: str | None = None
                    ) -> Iterator[RequestContext]:
    context = RequestContext(request_id, channel, path)
    token = _context.set(context)
    try:
        yield context
    finally:
        _context.reset(token)


class MaskingFilter(logging.Filter):
    """Masks the rendered message and stamps the hop's request id/channel/path on the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(record.getMessage())
        record.args = ()
        if not hasattr(record, "request_id"):
            context = _context.get()
            record.request_id = context.request_id if context else None
            if context is not None:
                if not hasattr(record, "channel"):
                    record.channel = context.channel
                if not hasattr(record, "path"):
                    record.path = context.path
        path = getattr(record, "path", None)
        if isinstance(path, str):
            record.path = mask(path)
        return True


class TextFormatter(logging.Formatter):
    """`ts LEVEL logger [request id]: message` with masked exception text."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(rid)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        record.rid = f" [{request_id}]" if request_id else ""
        return super().format(record)

    def formatException(self, ei) -> str:  # type: ignore[no-untyped-def]
        return mask(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return mask(super().formatStack(stack_info))


EXTRA_FIELDS = ("channel", "path", "method", "status", "duration_ms", "remote")
"""Record attributes copied into a JSON line when present (request logging, gunicorn access log)."""


class JsonFormatter(logging.Formatter):
    """One JSON object per line; `msg` is the masked message, `exc` the masked traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name in EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exc"] = mask(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = mask(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def make_formatter(fmt: str = "text") -> logging.Formatter:
    return JsonFormatter() if fmt.strip().lower() == "json" else TextFormatter()


def make_handler(fmt: str = "text", stream=None) -> logging.Handler:  # type: ignore[no-untyped-def]
    """A stream handler (stderr by default) that masks and formats as `fmt` (text | json)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(MaskingFilter())
    handler.setFormatter(make_formatter(fmt))
    return handler


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    root = logging.getLogger()
    root.handlers[:] = [make_handler(fmt)]
    root.setLevel(level)
    for chatty in ("alembic", "httpx", "httpcore"):  # one line per migration step / HTTP request
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
