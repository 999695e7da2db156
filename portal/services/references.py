"""Grievance reference numbers: 7 random digits + a Damm check digit (SPEC §6).

A Damm check digit catches every single-digit error and every swap of two adjacent digits, so a
mistyped reference is refused as invalid instead of finding somebody else's case.
"""

from __future__ import annotations

import re
import secrets

from chumnuoy.damm import is_valid, with_check_digit
from chumnuoy.digits import to_ascii_digits

_SEPARATORS = re.compile(r"[\s\-./·\u200b]+")


def new_reference() -> str:
    return with_check_digit(f"{secrets.randbelow(10**7):07d}")


def parse_reference(text: str) -> str | None:
    """The 8 ASCII digits of a typed reference (Khmer digits, spaces, dashes accepted); None when it
    is not 8 digits or its check digit is wrong."""
    candidate = _SEPARATORS.sub("", to_ascii_digits(text or "")).strip()
    if len(candidate) != 8 or not is_valid(candidate):
        return None
    return candidate


def leading_reference(text: str) -> tuple[str | None, str]:
    """For SMS add-details: a reference at the start of `text` and the rest of the text."""
    original = (text or "").lstrip()
    match = re.match(r"((?:\d[\s\-]?){7}\d)(?!\d)", to_ascii_digits(original))
    if not match:
        return None, text
    return parse_reference(match.group(1)), original[match.end():].lstrip(" :,-.\n\t")
