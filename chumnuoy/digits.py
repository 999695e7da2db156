"""Khmer digits (០–៩, U+17E0–U+17E9) are accepted wherever ASCII digits are."""

from __future__ import annotations

_TO_ASCII = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")
_TO_KHMER = str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩")


def to_ascii_digits(text: str) -> str:
    """Replace Khmer digits by ASCII digits, leaving everything else as it is."""
    return text.translate(_TO_ASCII)


def to_khmer_digits(text: str) -> str:
    """Replace ASCII digits by Khmer digits (for Khmer text shown to citizens)."""
    return text.translate(_TO_KHMER)
