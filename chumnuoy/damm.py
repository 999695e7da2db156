"""The Damm check digit: detects every single-digit error and every adjacent transposition.

Used for grievance reference numbers (7 random digits + 1 check digit) and SPIDs.
"""

from __future__ import annotations

# The totally anti-symmetric quasigroup of order 10 from Damm (2004).
_TABLE = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def check_digit(digits: str) -> str:
    """The Damm check digit of a string of ASCII digits."""
    interim = 0
    for char in digits:
        interim = _TABLE[interim][int(char)]
    return str(interim)


def with_check_digit(digits: str) -> str:
    return digits + check_digit(digits)


def is_valid(number: str) -> bool:
    """True when `number` (ASCII digits, check digit last) is non-empty and its check digit matches."""
    return number.isascii() and number.isdigit() and check_digit(number) == "0"
