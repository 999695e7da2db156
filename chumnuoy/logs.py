"""Logging set-up: one line per event, personal data masked before it is written."""

from __future__ import annotations

import logging
import re
import sys

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


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(record.getMessage())
        record.args = ()
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(MaskingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for chatty in ("alembic", "httpx", "httpcore"):  # one line per migration step / HTTP request
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
