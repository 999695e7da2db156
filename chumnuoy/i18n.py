"""Translations for every user-facing string: Babel catalogs, Khmer (default) and English.

Messages live in `translations/<locale>/LC_MESSAGES/<domain>.po`; each part of the product owns
one domain (e.g. `portal`, `bot`) and they are merged at load time. The msgid is the English
source text; the English catalog may shorten it. Placeholders use `{name}` and are filled after
translation; in Khmer, numbers in placeholders are written with Khmer digits.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

from babel.dates import format_date as babel_format_date
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from chumnuoy import ROOT
from chumnuoy.digits import to_khmer_digits

TRANSLATIONS = ROOT / "translations"
LOCALES = ("km", "en")
DEFAULT_LOCALE = "km"


@cache
def catalog(locale: str) -> dict[str, str]:
    """msgid → translated text for `locale`, merged over every domain's .po file."""
    messages: dict[str, str] = {}
    for po_file in sorted((TRANSLATIONS / locale / "LC_MESSAGES").glob("*.po")):
        with Path(po_file).open("rb") as handle:
            for message in read_po(handle, locale=locale):
                if message.id and isinstance(message.id, str) and message.string and not message.fuzzy:
                    messages[message.id] = str(message.string)
    return messages


def _localise(value: object, locale: str) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        text = format_decimal(value, locale="en", group_separator=True)
        return to_khmer_digits(text) if locale == "km" else text
    if isinstance(value, date):
        return format_date(value, locale)
    text = str(value)
    return text


def translate(locale: str, msgid: str, /, **params: object) -> str:
    """The text of `msgid` in `locale` (falling back to the English source) with `params` filled in."""
    text = catalog(locale if locale in LOCALES else DEFAULT_LOCALE).get(msgid, msgid)
    if params:
        text = text.format(**{name: _localise(value, locale) for name, value in params.items()})
    return text


def format_riel(amount: int, locale: str) -> str:
    """`80,000 ៛` in English, `៨០,០០០ ៛` in Khmer (riel has no decimals in practice)."""
    text = f"{format_decimal(amount, locale='en', group_separator=True)} ៛"
    return to_khmer_digits(text) if locale == "km" else text


def format_date(value: date, locale: str) -> str:
    """`15 មីនា 2025` → with Khmer digits in Khmer; `15 Mar 2025` in English."""
    if locale == "km":
        return to_khmer_digits(babel_format_date(value, format="medium", locale="km"))
    return babel_format_date(value, format="d MMM yyyy", locale="en")
