"""Word segmentation for features and entity boundaries: khmercut's CRF on Khmer runs, spaces elsewhere.

reference/nlu.md measured khmercut 0.2.0, khmer-nltk 1.6 and ICU: khmercut gives khmer-nltk's
tokens at 0.15 ms a sentence, loads in 0.02 s and needs only python-crfsuite; ICU fragments words
it does not know. The text should already be normalised (coeng DA → TA matters to the CRF).
"""

from __future__ import annotations

import re
from functools import lru_cache

_RUN = re.compile(r"[\u1780-\u17ff]+|[^\s\u1780-\u17ff]+")


@lru_cache(maxsize=1)
def _khmercut():
    import khmercut

    return khmercut.tokenize


def tokens_with_offsets(text: str) -> list[tuple[str, int, int]]:
    """Tokens of `text` as (token, start, end); Khmer runs go through khmercut, others stay whole."""
    tokenize = _khmercut()
    out: list[tuple[str, int, int]] = []
    for run in _RUN.finditer(text):
        chunk, position = run.group(), run.start()
        if "\u1780" <= chunk[0] <= "\u17ff":
            for word in tokenize(chunk):
                if not word.strip() or word == "\u200b":
                    continue
                start = text.find(word, position)
                if start < 0:  # the segmenter never rewrites text, but stay safe
                    continue
                out.append((word, start, start + len(word)))
                position = start + len(word)
        else:
            out.append((chunk, position, run.end()))
    return out


def tokenize(text: str) -> list[str]:
    """The words of `text` (see `tokens_with_offsets`)."""
    return [token for token, _, _ in tokens_with_offsets(text)]
