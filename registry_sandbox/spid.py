"""Identifiers the generator hands out: SPIDs, UINs, phones, household and card numbers.

Every sequence is a seeded affine permutation `(a*i + b) mod M`, so numbers look random, depend on
the seed, and are unique without any lookup. The ranges keep generated values clear of the
reserved persona and fixture identifiers (SPEC §8):
- SPID `KH` + 9 digits + Damm check digit; personas and fixtures use 9-digit bodies below 1,000,000,
  generated persons bodies from 1,000,000 up.
- UIN 9 digits from 200000000 up (personas and their relatives use 1000001xx; fixtures `TEST-…`).
- Mobile `+855` + a real operator prefix + 6 digits whose first digit is never 0; every reserved
  persona number (`+855 12|97|10 0001xx`, P6's `+85512000199`) has a subscriber part starting with 0.
"""

from __future__ import annotations

import math
import random

from chumnuoy.damm import with_check_digit

# Mobile prefixes of Smart, Cellcard and Metfone (reference programmes.md d.3), without the trunk 0.
MOBILE_PREFIXES = (
    "10", "15", "16", "69", "70", "81", "86", "87", "93", "96", "98",
    "11", "12", "14", "17", "61", "76", "77", "78", "79", "85", "89", "92", "95", "99",
    "31", "60", "66", "67", "68", "71", "88", "90", "97",
)
_SUBSCRIBERS = 900_000  # 100000 … 999999

SPID_GENERATED_BASE = 1_000_000
_SPID_SPACE = 1_000_000_000 - SPID_GENERATED_BASE
UIN_GENERATED_BASE = 200_000_000
_UIN_SPACE = 1_000_000_000 - UIN_GENERATED_BASE


def spid_from_body(body: int) -> str:
    return "KH" + with_check_digit(f"{body:09d}")


class Permutation:
    """A bijection of range(modulus) chosen by the seed."""

    def __init__(self, modulus: int, rng: random.Random) -> None:
        self.modulus = modulus
        while True:
            multiplier = rng.randrange(modulus // 3, modulus - 1)
            if math.gcd(multiplier, modulus) == 1:
                break
        self.multiplier = multiplier
        self.offset = rng.randrange(modulus)

    def __call__(self, index: int) -> int:
        return (self.multiplier * index + self.offset) % self.modulus


class IdentifierFactory:
    """Deterministic unique identifiers for generated persons and households."""

    def __init__(self, random_seed: int) -> None:
        rng = random.Random(f"identifiers-{random_seed}")
        self._spid = Permutation(_SPID_SPACE, rng)
        self._uin = Permutation(_UIN_SPACE, rng)
        self._phone = Permutation(len(MOBILE_PREFIXES) * _SUBSCRIBERS, rng)
        self._spid_next = 0
        self._uin_next = 0
        self._phone_next = 0

    def spid(self) -> str:
        body = SPID_GENERATED_BASE + self._spid(self._spid_next)
        self._spid_next += 1
        return spid_from_body(body)

    def uin(self) -> str:
        value = UIN_GENERATED_BASE + self._uin(self._uin_next)
        self._uin_next += 1
        return str(value)

    def phone(self) -> str:
        value = self._phone(self._phone_next)
        self._phone_next += 1
        prefix, subscriber = divmod(value, _SUBSCRIBERS)
        return f"+855{MOBILE_PREFIXES[prefix]}{100_000 + subscriber}"


def household_id(province_code: str, number: int) -> str:
    return f"HH-{province_code}-{number:08d}"


def idpoor_number(number: int) -> str:
    return f"IDP-{number:010d}"


def payment_id(number: int) -> str:
    return f"PAY-{number:010d}"


def is_reserved_phone(phone: str) -> bool:
    """The persona blocks of SPEC §8 (`+855 12|97|10 0001xx`), P6 included."""
    return len(phone) == 12 and phone[:6] in {"+85512", "+85597", "+85510"} and phone[6:10] == "0001"


def is_reserved_uin(uin: str) -> bool:
    return uin.startswith("TEST-") or (len(uin) == 9 and uin.startswith("1000001"))
