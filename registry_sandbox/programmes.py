"""Programme codes, names and benefit amounts used by the generator (reference programmes.md (b)).

Sourced amounts: pregnant women and children under 2 (v2023: 80,000 riel per antenatal visit x4,
400,000 at delivery, 10 x 80,000 post-natal/vaccination), scholarship 20,000 riel a month (primary
and lower secondary) and 30,000 (upper secondary), HIV support 28,000 riel a month.
Unsourced, configurable: the Family Package allowances for older persons and persons with
disabilities (`CHUMNUOY_FP_ELDERLY_RIEL`, `CHUMNUOY_FP_DISABILITY_RIEL`); the default 40,000 riel
is the Covid-era monthly top-up for these groups (Poor 1, urban), not an FP figure.
"""

from __future__ import annotations

import os

PROGRAMME_NAMES: dict[str, str] = {
    "idpoor": "IDPoor (Identification of Poor Households)",
    "pregnant_child_cash": "Family Package: cash transfer for pregnant women and children under 2",
    "scholarship": "Family Package: scholarship for poor primary and secondary students",
    "disability": "Family Package: support for persons with disabilities",
    "elderly": "Family Package: support for older persons (60+)",
    "hiv": "Family Package: support for members living with HIV",
    "health_equity_fund": "Health Equity Fund",
    "nssf": "National Social Security Fund",
}

ANTENATAL_RIEL = 80_000
DELIVERY_RIEL = 400_000
POSTNATAL_RIEL = 80_000
SCHOLARSHIP_LOWER_RIEL = 20_000  # grades 1–9
SCHOLARSHIP_UPPER_RIEL = 30_000  # grades 10–12
HIV_RIEL = 28_000
DEFAULT_FP_ELDERLY_RIEL = 40_000  # configurable, unsourced
DEFAULT_FP_DISABILITY_RIEL = 40_000  # configurable, unsourced

# Post-natal check-ups and vaccination visits after a birth: (component, days after birth).
POSTNATAL_SCHEDULE: tuple[tuple[str, int], ...] = (
    ("postnatal_1", 3), ("postnatal_2", 7), ("postnatal_3", 42), ("vaccination_1", 45),
    ("vaccination_2", 75), ("vaccination_3", 105), ("vaccination_4", 270), ("vaccination_5", 365),
    ("vaccination_6", 456), ("vaccination_7", 540),
)


def fp_elderly_riel() -> int:
    return int(os.environ.get("CHUMNUOY_FP_ELDERLY_RIEL", DEFAULT_FP_ELDERLY_RIEL))


def fp_disability_riel() -> int:
    return int(os.environ.get("CHUMNUOY_FP_DISABILITY_RIEL", DEFAULT_FP_DISABILITY_RIEL))


def scholarship_riel(grade: int) -> int:
    return SCHOLARSHIP_UPPER_RIEL if grade >= 10 else SCHOLARSHIP_LOWER_RIEL
