"""Places for the citizen journeys: the portal's gazetteer copy (`places`), by code, by parent, and by a
typed name.

Typed names are matched within one parent (the districts of a province, the villages of a commune),
so a list never holds more than a few dozen units and matching is done here in Python:
- both Khmer and Latin names; Khmer normalised as the NLU does (NFC, cluster order, coeng DA → TA,
  Khmer digits → ASCII), Latin case-folded; level words ("ខេត្ត", "ស្រុក", "district", "phum", …),
  spaces and punctuation ignored;
- romanisation variants through a consonant skeleton ("Kompong Chnang" = "Kampong Chhnang",
  "Pnom Penh" = "Phnom Penh");
- typos through a similarity ratio; a bare number ("ស្រុក ៣") matches a unit whose name ends with it.
`search` returns the matches best first; `resolve` decides between one clear match and a short list.

The bundled rows are loaded by migration 0005_places (and by `ensure_loaded` when the table is empty);
`chumnuoy gazetteer import FILE` replaces them with the sandbox's freshly imported table
(`copy_from_sandbox`), so both copies come from one import code path.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from portal.models.places import Place

MATCH = 0.72
"""Lowest score shown at all (in a short list)."""
CLEAR = 0.9
"""A match this good, with no other close to it, is taken without asking."""
CLOSE = 0.05
SHORT_LIST = 6

_KM_LEVEL_WORDS = ("រាជធានី", "ខេត្ត", "ស្រុក", "ក្រុង", "ខណ្ឌ", "ឃុំ", "សង្កាត់", "ភូមិ")
_LATIN_LEVEL_WORDS = frozenset({"province", "capital", "city", "district", "khan", "krong", "srok",
                                "municipality", "commune", "sangkat", "khum", "village", "phum", "khet",
                                "town"})
_VOWELS_AND_H = re.compile(r"[aeiouyh]")
_REPEATS = re.compile(r"(.)\1+")
_TRAILING_NUMBER = re.compile(r"(\d+)$")


@dataclass(frozen=True)
class Match:
    place: Place
    score: float


# ------------------------------------------------------------------------------------------ reading

def get(session: Session, code: str | None) -> Place | None:
    return session.get(Place, code) if code else None


def children(session: Session, parent_code: str | None) -> list[Place]:
    """The units directly under `parent_code` (None: the provinces), by code."""
    condition = Place.parent_code.is_(None) if parent_code is None else Place.parent_code == parent_code
    return list(session.scalars(select(Place).where(condition).order_by(Place.code)))


def name(place: Place, locale: str) -> str:
    return place.name_km if locale == "km" else place.name_en


_KM_WORDS = {"district": ("ស្រុក", "ខណ្ឌ"), "commune": ("ឃុំ", "សង្កាត់")}
_EN_WORDS = {"district": ("district", "khan"), "commune": ("commune", "sangkat")}


def label(place: Place, locale: str) -> str:
    """The name with its level word when the name lacks one: imported NCDD names are bare
    ("ស្រុក កណ្ដាលស្ទឹង", "Kandal Stueng district"); generated ones already say "ស្រុកគំរូ ១"."""
    text = name(place, locale)
    if place.level not in _KM_WORDS:
        return text
    capital = place.code.startswith("12")
    if locale == "km":
        if text.startswith(_KM_LEVEL_WORDS):
            return text
        return _KM_WORDS[place.level][capital] + text
    if set(text.casefold().split()) & _LATIN_LEVEL_WORDS:
        return text
    return f"{text} {_EN_WORDS[place.level][capital]}"


def address_view(session: Session, codes: dict[str, str | None]) -> dict[str, str]:
    """Codes and names of an address, as change requests store it: `province_code`, `province`, … down
    to the deepest code known (names in Khmer with the Latin name in brackets, for the officer)."""
    view: dict[str, str] = {}
    deepest: Place | None = None
    for level in ("province", "district", "commune", "village"):
        code = codes.get(f"{level}_code")
        if not code:
            continue
        view[f"{level}_code"] = code
        place = get(session, code)
        view[level] = f"{place.name_km} ({place.name_en})" if place else "?"
        deepest = place or deepest
    if deepest is not None:  # the officer sees when the names are generated stand-ins
        view["gazetteer"] = deepest.version + (" (synthetic)" if deepest.synthetic else "")
    return view


# ------------------------------------------------------------------------------------------ matching

def _strip_level_words(text: str) -> str:
    words = []
    for word in text.split(" "):
        if word in _LATIN_LEVEL_WORDS:
            continue
        for prefix in _KM_LEVEL_WORDS:
            if word.startswith(prefix):
                word = word[len(prefix):]
                break
        words.append(word)
    return " ".join(words)


@cache
def key(text: str) -> str:
    """The comparable form of a name or of what the citizen typed."""
    from nlu.normalize import normalize

    folded = _strip_level_words(normalize(text).casefold())
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LMN")


@cache
def skeleton(text: str) -> str:
    """Latin only: consonants without h, doubled letters once ("" for Khmer script)."""
    folded = key(text)
    if not folded.isascii() or not folded.isalpha():
        return ""
    return _REPEATS.sub(r"\1", _VOWELS_AND_H.sub("", folded))


def _similarity(query: str, target: str) -> float:
    if not query or not target:
        return 0.0
    if query == target:
        return 1.0
    if len(query) >= 3 and target.startswith(query):
        return 0.92
    if len(query) >= 3 and query in target:
        return 0.88
    return SequenceMatcher(None, query, target).ratio()


def score(typed: str, place: Place) -> float:
    query = key(typed)
    if not query:
        return 0.0
    if query.isdigit():  # "ស្រុក ៣", "phum 3": the unit whose name ends with that number
        numbers = {m.group(1) for n in (place.name_km, place.name_en)
                   if (m := _TRAILING_NUMBER.search(key(n)))}
        return 0.95 if query.lstrip("0") in {n.lstrip("0") for n in numbers} else 0.0
    best = max(_similarity(query, key(place.name_km)), _similarity(query, key(place.name_en)))
    typed_skeleton, name_skeleton = skeleton(typed), skeleton(place.name_en)
    if typed_skeleton and name_skeleton and len(typed_skeleton) >= 2:
        if typed_skeleton == name_skeleton:
            best = max(best, 0.93)
        elif len(typed_skeleton) >= 3 and name_skeleton.startswith(typed_skeleton):
            best = max(best, 0.9)
        else:
            best = max(best, 0.95 * SequenceMatcher(None, typed_skeleton, name_skeleton).ratio())
    return best


def search(session: Session, parent_code: str | None, typed: str) -> list[Match]:
    """Units under `parent_code` whose name matches `typed`, best first (only those scoring ≥ MATCH)."""
    found = [Match(place, score(typed, place)) for place in children(session, parent_code)]
    return sorted((m for m in found if m.score >= MATCH), key=lambda m: (-m.score, m.place.code))


def resolve(matches: list[Match]) -> tuple[Place | None, list[Place]]:
    """(the one clear match, None) or (None, a short list to choose from; empty when nothing matched)."""
    if not matches:
        return None, []
    top = matches[0].score
    if top >= CLEAR and (len(matches) == 1 or matches[1].score < top - CLOSE):
        return matches[0].place, []
    floor = max(MATCH, top - 0.15)
    return None, [m.place for m in matches if m.score >= floor][:SHORT_LIST]


# ------------------------------------------------------------------------------------------ loading

def is_empty(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(Place)) == 0


def ensure_loaded(session: Session) -> bool:
    """Load the bundled gazetteer (25 real provinces, synthetic units below) when the table is empty.
    True when it loaded something."""
    if not is_empty(session):
        return False
    from registry_sandbox.gazetteer import synthetic_units

    session.execute(insert(Place), synthetic_units())
    session.commit()
    return True


def replace_all(session: Session, units: list[dict]) -> int:
    """Replace every place with `units` (dicts with the columns of `places`); committed."""
    columns = ("code", "level", "parent_code", "name_km", "name_en", "synthetic", "version")
    session.execute(delete(Place))
    if units:
        session.execute(insert(Place), [{c: unit[c] for c in columns} for unit in units])
    session.commit()
    return len(units)


def copy_from_sandbox(portal_database_url: str, registry_database_url: str) -> int:
    """Make the portal's places the sandbox registry's gazetteer (after `gazetteer import`)."""
    from chumnuoy.db import make_engine
    from portal.db import upgrade
    from registry_sandbox.gazetteer import load_units

    source = make_engine(registry_database_url)
    try:
        with source.connect() as connection:
            units = list(load_units(connection).values())
    finally:
        source.dispose()
    upgrade(portal_database_url)
    target = make_engine(portal_database_url)
    try:
        with Session(target) as session:
            return replace_all(session, units)
    finally:
        target.dispose()
