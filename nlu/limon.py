"""Detect text typed with a legacy Limon font keyboard (Khmer glyphs stored as Latin-1 letters).

Such text reaches us as Latin letters and symbols, e.g. "sYsþI" for សួស្តី; it cannot be normalised,
so the dialogue asks the citizen politely to switch to a Unicode Khmer keyboard.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\S+")
_KHMER = re.compile(r"[\u1780-\u17ff]")
_LATIN1_LETTERISH = re.compile(r"[\u00a1-\u00ff]")  # þ Á ú © ¬ µ …: Limon glyph slots
_CASE_FLIP = re.compile(r"[a-z][A-Z]")  # "sYs": lower then upper inside a word
_SYMBOL_INSIDE = re.compile(r"[A-Za-z][\[\]{}|\\;:)(^~`]+[A-Za-z]|[\[\]{}|\\][A-Za-z]{2}")


def _looks_limon(word: str) -> bool:
    if not re.search(r"[A-Za-z]", word):
        return False
    flips = len(_CASE_FLIP.findall(word))  # one flip is common in Latin ("iPhone"), several are not
    return bool(_LATIN1_LETTERISH.search(word) or flips >= 2 or _SYMBOL_INSIDE.search(word))


def is_limon(text: str) -> bool:
    """True when most words of `text` look like Limon-encoded Khmer rather than Latin or Khmer."""
    if _KHMER.search(text):
        return False
    words = [w for w in _WORD.findall(text) if re.search(r"[A-Za-z\u00a1-\u00ff]", w)]
    if not words:
        return False
    suspicious = sum(1 for w in words if _looks_limon(w))
    return suspicious >= max(1, (len(words) + 1) // 2)
