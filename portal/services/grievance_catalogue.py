"""The grievance catalogue: categories (codes fixed by SPEC §6), SLA classes, agencies and routing.

Routing defaults (a programme named with the complaint wins over the category):
- programme → agency: idpoor → MoP; pregnant_child_cash, family_package, elderly, hiv → NSAF (cash
  transfers); disability → NSAF (the cash allowance) but MoSVY for a `card_account` complaint (the
  disability card); scholarship → MoEYS; health_equity_fund → MoH; nssf → NSSF.
- category → agency when no programme is given: non_payment, wrong_amount, unclaimed, misconduct,
  fraud, other → NSAF (the cash-transfer operator, who receives most complaints); exclusion,
  card_account, data_error → MoP (IDPoor: Equity Card, household data); service_quality → MoH (the
  sources' service complaints are about health facilities).
- level: the lowest level the address reaches (commune code → commune, district → district,
  province → province); no address → national (the national triage queue).
"""

from __future__ import annotations

from dataclasses import dataclass

from chumnuoy.i18n import translate
from portal.models.cases import LEVELS

AGENCIES = ("MoP", "NSAF", "NSSF", "MoH", "MoSVY", "MoEYS")


@dataclass(frozen=True)
class Category:
    code: str
    label_msgid: str
    """English source of the short label (Khmer in translations/km/LC_MESSAGES/cases.po)."""
    sla_days: int
    default_agency: str
    anonymity_allowed: bool = False


CATEGORIES: dict[str, Category] = {c.code: c for c in (
    Category("non_payment", "payment not received", 15, "NSAF"),
    Category("wrong_amount", "wrong amount", 15, "NSAF"),
    Category("unclaimed", "missed collection window", 15, "NSAF"),
    Category("exclusion", "left out, no Equity Card", 30, "MoP"),
    Category("card_account", "card or account problem", 15, "MoP"),
    Category("data_error", "wrong personal data", 15, "MoP"),
    Category("service_quality", "poor service", 30, "MoH"),
    Category("misconduct", "staff misconduct or bribe", 30, "NSAF", anonymity_allowed=True),
    Category("fraud", "fraud report", 30, "NSAF", anonymity_allowed=True),
    Category("other", "other", 30, "NSAF"),
)}

PROGRAMME_AGENCY = {
    "idpoor": "MoP",
    "pregnant_child_cash": "NSAF",
    "family_package": "NSAF",
    "elderly": "NSAF",
    "hiv": "NSAF",
    "disability": "NSAF",
    "scholarship": "MoEYS",
    "health_equity_fund": "MoH",
    "nssf": "NSSF",
}

FIRST_ACTION_DAYS = 2
AUTO_CLOSE_DAYS = 14
REOPEN_WINDOW_DAYS = 30


def category(code: str) -> Category:
    try:
        return CATEGORIES[code]
    except KeyError:
        raise ValueError(f"unknown grievance category {code!r}") from None


def category_label(code: str, locale: str) -> str:
    return translate(locale, category(code).label_msgid)


def agency_for(category_code: str, programme: str | None) -> str:
    if programme == "disability" and category_code == "card_account":
        return "MoSVY"
    if programme and programme in PROGRAMME_AGENCY:
        return PROGRAMME_AGENCY[programme]
    return category(category_code).default_agency


@dataclass(frozen=True)
class Area:
    province_code: str | None = None
    district_code: str | None = None
    commune_code: str | None = None
    village_code: str | None = None

    @classmethod
    def from_codes(cls, *, province_code: str | None = None, district_code: str | None = None,
                   commune_code: str | None = None, village_code: str | None = None) -> Area:
        """Fill the parents from the most precise code (gazetteer codes are prefixed by their parent's)."""
        village = village_code or None
        commune = commune_code or (village[:6] if village else None)
        district = district_code or (commune[:4] if commune else None)
        province = province_code or (district[:2] if district else None)
        for code, length in ((province, 2), (district, 4), (commune, 6), (village, 8)):
            if code is not None and not (code.isascii() and code.isdigit() and len(code) == length):
                raise ValueError(f"not a {length}-digit gazetteer code: {code!r}")
        return cls(province, district, commune, village)


def starting_level(area: Area) -> str:
    if area.commune_code:
        return "commune"
    if area.district_code:
        return "district"
    if area.province_code:
        return "province"
    return "national"


def next_level(level: str) -> str | None:
    index = LEVELS.index(level)
    return LEVELS[index + 1] if index + 1 < len(LEVELS) else None
