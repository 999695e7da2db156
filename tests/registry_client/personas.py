"""The personas of SPEC §8 as the tests expect them (the spec's table is the contract)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

TODAY = date(2026, 11, 25)
FAMILY_PACKAGE = {"pregnant_child_cash", "scholarship", "disability", "elderly", "hiv"}


@dataclass(frozen=True)
class Persona:
    key: str
    uin: str
    phone: str
    khmer: tuple[str, str]
    """(surname, given name)"""
    latin: tuple[str, str]
    sex: str
    born: date
    idpoor_level: int | str | None
    """1, 2, None (no Equity Card) or "expired"."""


PERSONAS = [
    Persona("P1", "100000101", "+85512000101", ("ចាន់", "សុខា"), ("CHAN", "Sokha"), "female",
            date(1996, 4, 12), 1),
    Persona("P2", "100000102", "+85512000102", ("សុខ", "ដារ៉ា"), ("SOK", "Dara"), "male", date(1958, 9, 3), 2),
    Persona("P3", "100000103", "+85597000103", ("កែវ", "ស្រីនាង"), ("KEO", "Sreyneang"), "female",
            date(1990, 1, 20), 1),
    Persona("P4", "100000104", "+85510000104", ("លឹម", "វណ្ណៈ"), ("LIM", "Vannak"), "male", date(1985, 6, 30),
            None),
    Persona("P5", "100000105", "+85512000105", ("ម៉ៅ", "ចិន្តា"), ("MAO", "Chenda"), "female", date(1979, 11, 5),
            2),
    Persona("P7", "100000107", "+85512000107", ("ហេង", "រតនា"), ("HENG", "Rathana"), "male",
            date(1970, 2, 14), "expired"),
    Persona("P8a", "100000109", "+85512000108", ("ឡុង", "វិចិត្រ"), ("LONG", "Vichet"), "male",
            date(1986, 3, 15), 1),
    Persona("P8b", "100000108", "+85512000108", ("ឈឹម", "សុភាព"), ("CHHIM", "Sopheap"), "female",
            date(1988, 7, 7), 1),
]
BY_KEY = {p.key: p for p in PERSONAS}
ABSENT_PHONE = "+85512000199"  # P6
