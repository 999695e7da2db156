"""Rule-based entity extraction with the canonical values of SPEC §9, offsets into the raw text.

Vocabulary (programmes, provinces) comes from the synonyms of nlu/data/train/entities.yml; numbers
and dates are parsed here. Matching runs on the normalised text (ASCII digits, canonical spelling),
and spans are mapped back through `Normalized.raw_span`.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from nlu.data import synonyms
from nlu.normalize import Normalized, normalize, normalize_with_offsets
from nlu.segment import tokens_with_offsets

PROGRAMMES = ("idpoor", "family_package", "pregnant_child_cash", "disability", "elderly", "scholarship",
              "health_equity_fund", "nssf", "hiv")
_KHMER = re.compile(r"[\u1780-\u17ff]")

_MONTHS = {
    "មករា": 1, "កុម្ភៈ": 2, "កុម្ភះ": 2, "មីនា": 3, "មេសា": 4, "ឧសភា": 5, "មិថុនា": 6, "កក្កដា": 7,
    "សីហា": 8, "កញ្ញា": 9, "តុលា": 10, "វិច្ឆិកា": 11, "ធ្នូ": 12,
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12, "jan": 1, "feb": 2, "mar": 3,
    "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}
_MONTH_ALT = "|".join(sorted((re.escape(normalize(m)) for m in _MONTHS), key=len, reverse=True))
_YEAR = r"((?:19|20)\d{2})"
_DATE_PATTERNS = (  # (pattern, order of day / month / year groups)
    (re.compile(r"(?<!\d)(\d{1,2})[/.-](\d{1,2})[/.-]" + _YEAR + r"(?!\d)"), "dmy"),
    (re.compile(r"(?<!\d)" + _YEAR + r"-(\d{1,2})-(\d{1,2})(?!\d)"), "ymd"),
    (re.compile(r"(?:ថ្ងៃទី ?)?(?<!\d)(\d{1,2}) ?(?:ខែ ?)?(" + _MONTH_ALT + r")[ ,]*(?:ឆ្នាំ ?)?" + _YEAR
                + r"(?!\d)"), "dMy"),
    (re.compile(r"(" + _MONTH_ALT + r") (\d{1,2})(?:st|nd|rd|th)?,? " + _YEAR + r"(?!\d)"), "Mdy"),
)
_BIRTH_CONTEXT = re.compile(r"កំណើត|កើត|born|birth|dob|kert|kom nert|date")
_PHONE = re.compile(r"(?<![\d+])(?:\+ ?855[ -]?|855[ -]?|0)(\d{2})[ -]?(\d{3})[ -]?(\d{3,4})(?!\d)")
_EIGHT_DIGITS = re.compile(r"(?<![\d+])#?(\d{4})[ -]?(\d{4})(?![\d])")
_ID_NUMBER = re.compile(r"(?<![\d+])([1-9]\d{8,11})(?!\d)")


def _lower(text: str) -> str:
    """Lower-case without changing the length (offsets must keep pointing at the same characters)."""
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


@lru_cache(maxsize=1)
def _gazetteer() -> tuple[re.Pattern[str], dict[str, tuple[str, str]]]:
    """One alternation over every surface form; surface → (entity, canonical value)."""
    table: dict[str, tuple[str, str]] = {}
    for value, forms in synonyms().items():
        entity = "province" if value.isdigit() else "programme"
        for form in [*forms, value if entity == "programme" else ""]:
            key = _lower(normalize(form))
            if key:
                table.setdefault(key, (entity, value))
    alternation = "|".join(re.escape(k) for k in sorted(table, key=len, reverse=True))
    return re.compile(alternation), table


def _gazetteer_matches(text: str) -> list[tuple[str, str, int, int]]:
    pattern, table = _gazetteer()
    starts: set[int] | None = None
    ends: set[int] = set()
    found: list[tuple[str, str, int, int]] = []
    position = 0
    while True:
        match = pattern.search(text, position)
        if not match:
            return found
        start, end, surface = match.start(), match.end(), match.group()
        ok = True
        if _KHMER.search(surface):
            if len(surface) <= 5:  # short Khmer names must be whole words (កែប in កែប្រែ is not Kep)
                if starts is None:
                    spans = tokens_with_offsets(text)
                    starts, ends = {s for _, s, _ in spans}, {e for _, _, e in spans}
                ok = start in starts and end in ends
        else:
            before_ok = start == 0 or not text[start - 1].isalnum()
            ok = before_ok and (end == len(text) or not text[end].isalnum())
        if ok:
            entity, value = table[surface]
            found.append((entity, value, start, end))
            position = end
        else:
            position = start + 1


def _date(day: int, month: int, year: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _free(taken: list[tuple[int, int]], start: int, end: int) -> bool:
    return all(end <= s or start >= e for s, e in taken)


def extract(norm: Normalized) -> list[dict[str, object]]:
    """Entities of a normalised message, as SPEC §9 dicts with raw-text offsets, in text order."""
    text = _lower(norm.text)
    found: list[tuple[str, str, int, int]] = []
    taken: list[tuple[int, int]] = []

    def add(entity: str, value: str, start: int, end: int) -> None:
        if _free(taken, start, end):
            found.append((entity, value, start, end))
            taken.append((start, end))

    for pattern, order in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            groups = dict(zip(order, m.groups(), strict=True))
            month = _MONTHS.get(groups["M"]) if "M" in groups else int(groups["m"])
            value = _date(int(groups["d"]), month or 0, int(groups["y"]))
            if value:
                add("date", value, m.start(), m.end())
    for m in _PHONE.finditer(text):
        add("phone", "0" + "".join(m.groups()), m.start(), m.end())
    birth_context = bool(_BIRTH_CONTEXT.search(text))
    for m in _EIGHT_DIGITS.finditer(text):
        digits = "".join(m.groups())
        as_date = _date(int(digits[:2]), int(digits[2:4]), int(digits[4:])) if birth_context else None
        if as_date and digits[4:6] in ("19", "20"):
            add("date", as_date, m.start(), m.end())
        else:
            add("ticket_id", digits, m.start(1) if text[m.start()] == "#" else m.start(), m.end())
    for m in _ID_NUMBER.finditer(text):
        add("id_number", m.group(1), m.start(), m.end())
    for entity, value, start, end in _gazetteer_matches(text):
        add(entity, value, start, end)

    out: list[dict[str, object]] = []
    for entity, value, start, end in sorted(found, key=lambda f: f[2]):
        raw_start, raw_end = norm.raw_span(start, end)
        out.append({"entity": entity, "value": value, "start": raw_start, "end": raw_end})
    return out


def extract_entities(raw: str) -> list[dict[str, object]]:
    """Normalise `raw` and extract its entities (offsets index `raw`)."""
    return extract(normalize_with_offsets(raw))
