"""Sizes that matter on phones: USSD screen budget and SMS segments (SPEC §10).

A USSD screen (after `CON `/`END `) holds 182 GSM-7 septets when every character is in the GSM-7
alphabet (extension characters take 2), otherwise 80 UTF-16 code units. An SMS in UCS-2 (any Khmer)
holds 70 units in one segment, 67 per segment when split; in GSM-7, 160 / 153 septets.
"""

from __future__ import annotations

import math

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")

USSD_GSM7_LIMIT = 182
USSD_UCS2_LIMIT = 80
SMS_MAX_SEGMENTS = 3


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def gsm7_septets(text: str) -> int:
    return sum(2 if char in GSM7_EXTENSION else 1 for char in text)


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def ussd_fits(screen: str) -> bool:
    """Whether a screen body (without `CON `/`END `) fits one USSD screen."""
    if is_gsm7(screen):
        return gsm7_septets(screen) <= USSD_GSM7_LIMIT
    return utf16_units(screen) <= USSD_UCS2_LIMIT


def sms_segments(text: str) -> int:
    if is_gsm7(text):
        size = gsm7_septets(text)
        return 1 if size <= 160 else math.ceil(size / 153)
    size = utf16_units(text)
    return 1 if size <= 70 else math.ceil(size / 67)
