"""Features of a normalised message for the embedded classifier (training and inference alike).

Character n-grams (1-4, within space-separated words, like scikit-learn's `char_wb`) survive typos
and romanisation variants; khmercut words and word bigrams add Khmer word identity; a consonant
skeleton of Latin words ("luy", "lui", "loy" → "l y") ties together romanised spellings.
"""

from __future__ import annotations

import re
from itertools import pairwise

from nlu.segment import tokenize

_LATIN_WORD = re.compile(r"^[a-z']+$")
_SKELETON_RULES = ((re.compile(r"[’'`-]"), ""), (re.compile(r"^j"), "ch"), (re.compile(r"dt"), "t"),
                   (re.compile(r"(.)\1+"), r"\1"), (re.compile(r"(?<=.)[aeiouy]+"), ""))


def _skeleton(word: str) -> str:
    for pattern, replacement in _SKELETON_RULES:
        word = pattern.sub(replacement, word)
    return word


def _lower(text: str) -> str:
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def features(normalised: str) -> list[str]:
    """The feature strings of one normalised message (repeated features count several times)."""
    text = _lower(normalised)
    out: list[str] = []
    for word in text.split():
        padded = f" {word} "
        for n in range(1, 5):
            if len(padded) <= n:
                out.append("c:" + padded)
                break
            out.extend("c:" + padded[i:i + n] for i in range(len(padded) - n + 1))
    words = tokenize(text)
    out.extend("w:" + w for w in words)
    out.extend(f"b:{a}|{b}" for a, b in pairwise(words))
    for w in words:
        if _LATIN_WORD.match(w) and len(w) > 1:
            out.append("s:" + _skeleton(w))
    if not words:
        out.append("empty")
    return out
