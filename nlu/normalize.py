"""Khmer text normalisation (SPEC §9), applied to training data and to every message.

The same function feeds the embedded classifier, the entity matchers and the Rasa server, so two
spellings a reader sees as equal become the same string. Each output character remembers the span
of raw input it came from (`Normalized.raw_span`), so entity offsets can point into the raw text.

Steps, in order: NFC; zero-width characters removed; Khmer digits to ASCII; deprecated characters
replaced; Khmer clusters put in canonical order (base, robat, coengs with coeng RO last, register
shifters, vowels, signs) with key-bounce duplicates dropped; split vowels joined (េ+ី → ើ, េ+ា → ោ);
coeng DA → coeng TA; lexical variants (អោយ → ឲ្យ, ជំរាប → ជម្រាប); ។ ៕ and every kind of space
collapsed to one ASCII space, trimmed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# A piece of output text with the raw span [start, end) it replaces.
_Piece = tuple[str, int, int]

_ZERO_WIDTH = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u17b4", "\u17b5"}
_SPACE_LIKE = {"\u00a0", "\u2000", "\u2001", "\u2002", "\u2003", "\u2004", "\u2005", "\u2006",
               "\u2007", "\u2008", "\u2009", "\u200a", "\u202f", "\u205f", "\u3000", "\t", "\n",
               "\r", "\v", "\f", "\u17d4", "\u17d5"}  # ។ ៕ end a sentence: a boundary, not content
_DIGITS = {chr(0x17E0 + i): str(i) for i in range(10)} | {chr(0x17F0 + i): str(i) for i in range(10)}
_DEPRECATED = {"\u17a3": "\u17a2", "\u17a4": "\u17a2\u17b6", "\u17a8": "\u17a7\u1780",
               "\u17d8": "\u17d4\u179b\u17d4", "\u17d3": "\u17c6"}
_SPLIT_VOWELS = {
    "\u17c1\u17b8": "\u17be", "\u17b8\u17c1": "\u17be",  # េ + ី → ើ
    "\u17c1\u17b6": "\u17c4", "\u17b6\u17c1": "\u17c4",  # េ + ា → ោ
}
_COENG = "\u17d2"
_RO = "\u179a"
_LEXICAL_VARIANTS = {
    "អោយ": "ឲ្យ",
    "ឱ្យ": "ឲ្យ",
    "ជំរាប": "ជម្រាប",
}
_LEXICAL_RE = re.compile("|".join(sorted(map(re.escape, _LEXICAL_VARIANTS), key=len, reverse=True)))


def _is_base(char: str) -> bool:
    """Khmer consonants and independent vowels start a cluster."""
    return "\u1780" <= char <= "\u17b3"


def _is_mark(char: str) -> bool:
    return "\u17b6" <= char <= "\u17d1" or char in ("\u17d3", "\u17dd")


def _mark_rank(unit: str) -> int:
    """Canonical position of a cluster mark (a coeng unit is two characters)."""
    first = unit[0]
    if first == "\u17cc":
        return 0  # robat directly after the base
    if first == _COENG:
        return 2 if unit[1:] == _RO else 1  # coeng RO after the other subscripts
    if first in ("\u17c9", "\u17ca"):
        return 3  # register shifters
    if "\u17b6" <= first <= "\u17c5":
        return 4  # dependent vowels
    return 5  # nikahit, reahmuk and the other signs


@dataclass(frozen=True)
class Normalized:
    """Normalised text plus, for each of its characters, the raw span it came from."""

    raw: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Map [start, end) of the normalised text to the covering span of the raw text."""
        if not self.text or start >= end:
            return (0, 0)
        return (self.starts[start], self.ends[end - 1])


def _nfc(raw: str) -> list[_Piece]:
    """NFC per combining run, so composed characters keep the span of what they replace."""
    pieces: list[_Piece] = []
    index = 0
    while index < len(raw):
        end = index + 1
        while end < len(raw) and unicodedata.combining(raw[end]) and not "\u1780" <= raw[end] <= "\u17ff":
            end += 1
        chunk = raw[index:end]
        composed = unicodedata.normalize("NFC", chunk)
        if composed == chunk:
            pieces.extend((char, index + k, index + k + 1) for k, char in enumerate(chunk))
        else:
            pieces.extend((char, index, end) for char in composed)
        index = end
    return pieces


def _map_chars(pieces: list[_Piece]) -> list[_Piece]:
    """Zero-width removal, spaces, digits and deprecated characters: one character at a time."""
    expanded: list[_Piece] = []
    for char, start, end in pieces:
        if char in _DEPRECATED:
            expanded.extend((replacement, start, end) for replacement in _DEPRECATED[char])
        else:
            expanded.append((char, start, end))
    out: list[_Piece] = []
    for char, start, end in expanded:
        if char in _ZERO_WIDTH:
            continue
        if char in _SPACE_LIKE or (char.isspace() and char != " "):
            out.append((" ", start, end))
        elif char in _DIGITS:
            out.append((_DIGITS[char], start, end))
        else:
            out.append((char, start, end))
    return out


def _reorder_clusters(pieces: list[_Piece]) -> list[_Piece]:
    """Sort the marks of each Khmer cluster into canonical order; drop repeated marks."""
    out: list[_Piece] = []
    index = 0
    while index < len(pieces):
        char = pieces[index][0]
        if not (_is_base(char) or _is_mark(char) or char == _COENG):
            out.append(pieces[index])
            index += 1
            continue
        # A cluster: an optional base followed by marks and coeng units.
        end = index + 1 if _is_base(char) else index
        units: list[list[_Piece]] = []
        while end < len(pieces):
            mark = pieces[end][0]
            if mark == _COENG and end + 1 < len(pieces) and _is_base(pieces[end + 1][0]):
                units.append([pieces[end], pieces[end + 1]])
                end += 2
            elif _is_mark(mark) or mark == _COENG:
                units.append([pieces[end]])
                end += 1
            else:
                break
        if end == index:  # a lone mark without base: keep it as it is
            out.append(pieces[index])
            index += 1
            continue
        ordered = sorted(units, key=lambda unit: _mark_rank("".join(p[0] for p in unit)))
        deduped: list[list[_Piece]] = []
        for unit in ordered:
            if deduped and [p[0] for p in deduped[-1]] == [p[0] for p in unit]:
                continue
            deduped.append(unit)
        head = pieces[index:index + 1] if _is_base(char) else []
        if deduped == units:
            out.extend(head)
            for unit in units:
                out.extend(unit)
        else:  # changed: every character of the cluster covers the whole raw cluster
            span_start, span_end = pieces[index][1], pieces[end - 1][2]
            for piece in head + [p for unit in deduped for p in unit]:
                out.append((piece[0], span_start, span_end))
        index = end
    return out


def _replace(pieces: list[_Piece], table: dict[str, str], pattern: re.Pattern[str]) -> list[_Piece]:
    """Replace substrings; replacement characters cover the raw span of what they replace."""
    text = "".join(p[0] for p in pieces)
    out: list[_Piece] = []
    last = 0
    for match in pattern.finditer(text):
        out.extend(pieces[last:match.start()])
        start, end = pieces[match.start()][1], pieces[match.end() - 1][2]
        out.extend((char, start, end) for char in table[match.group()])
        last = match.end()
    out.extend(pieces[last:])
    return out


_SPLIT_RE = re.compile("|".join(map(re.escape, _SPLIT_VOWELS)))
_COENG_DA = {"\u17d2\u178a": "\u17d2\u178f"}
_COENG_DA_RE = re.compile("\u17d2\u178a")


def _collapse_spaces(pieces: list[_Piece]) -> list[_Piece]:
    out: list[_Piece] = []
    for piece in pieces:
        if piece[0] == " " and (not out or out[-1][0] == " "):
            continue
        out.append(piece)
    while out and out[-1][0] == " ":
        out.pop()
    return out


def normalize_with_offsets(raw: str) -> Normalized:
    """Normalise `raw`, keeping for every output character the raw span it stands for."""
    pieces = _map_chars(_nfc(raw))
    pieces = _reorder_clusters(pieces)
    pieces = _replace(pieces, _SPLIT_VOWELS, _SPLIT_RE)
    pieces = _replace(pieces, _COENG_DA, _COENG_DA_RE)
    pieces = _replace(pieces, _LEXICAL_VARIANTS, _LEXICAL_RE)
    pieces = _reorder_clusters(pieces)  # again: joining vowels or DA → TA can leave a duplicate mark
    pieces = _collapse_spaces(pieces)
    return Normalized(
        raw=raw,
        text="".join(p[0] for p in pieces),
        starts=tuple(p[1] for p in pieces),
        ends=tuple(p[2] for p in pieces),
    )


def normalize(raw: str) -> str:
    """The normalised form of `raw` (see the module docstring)."""
    return normalize_with_offsets(raw).text
