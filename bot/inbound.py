"""Cleaning what channel gateways send, before it reaches the engine or the database (SPEC §14).

Gateways are trusted to authenticate, not to send sane values: a field may hold NUL or other control
characters (PostgreSQL refuses NUL in text), a phone number may be 200 digits, an id longer than any
column. Citizen text keeps every printable character (Khmer, emoji, bidi marks) and loses only
control characters; ids too long for a key are replaced by a digest (still unique per value).
"""

from __future__ import annotations

import hashlib
import re

MAX_TEXT = 2000
"""Characters of citizen text kept: a concatenated SMS is at most ~1,600; USSD text far less."""
MAX_ID = 64
"""Longer session and message ids are replaced by a digest of the same length class."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_E164 = re.compile(r"\+\d{5,15}")


def clean_text(value: object, limit: int = MAX_TEXT) -> str:
    """The text without control characters (tab and newlines stay), at most `limit` characters."""
    text = value if isinstance(value, str) else "" if value is None else str(value)
    return _CONTROL.sub("", text)[:limit]


def clean_id(value: object) -> str:
    """A gateway id usable as a key: cleaned, and a digest when longer than MAX_ID."""
    text = clean_text(value, 10_000).strip()
    if len(text) <= MAX_ID:
        return text
    return "h:" + hashlib.sha256(text.encode()).hexdigest()[: MAX_ID - 2]


def phone_or_none(raw: object) -> str | None:
    """The E.164 form of a sender's number, or None when it cannot be a phone number (5–15 digits)."""
    from portal.services.identity import normalise_phone

    if not isinstance(raw, (str, int)) or isinstance(raw, bool):
        return None
    text = clean_text(raw, 100).strip()
    if not text:
        return None
    phone = normalise_phone(text)
    return phone if _E164.fullmatch(phone) else None
