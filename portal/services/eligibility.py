"""Eligibility: the programme catalogue (portal/catalogue/programmes.yaml) evaluated over facts.

One small rule interpreter serves every programme; no programme has a code path of its own.
Conditions (YAML mappings):
  {fact: F, eq: V} | {fact: F, ne: V} | {fact: F, is: true|false} | {fact: F, in: [..]}
  {fact: F, gte: N} | {fact: F, lt: N} | {all: [..]} | {any: [..]} | {not: C} | {always: true}
Logic is three-valued (Kleene): a fact that is missing (None) makes a comparison UNKNOWN, so a
questionnaire that did not ask something yields `maybe` instead of a wrong yes/no.
Rules of a programme are tried in order; the first TRUE rule gives the outcome; an UNKNOWN rule met
first gives `maybe` (reason "unknown"). An Active registry enrolment gives `enrolled` before any rule.

Facts: equity_card (valid | expired | none), idpoor_level (1|2), card_expiry (date), age, age_60_plus,
sex (male|female|…), pregnant_or_child_under_2, children_in_school, disability_card, hiv_support,
nssf_member, civil_servant (the registry does not hold it: False for registry persons; questionnaire
may give it), enrolled (set of programme codes).

Entry points: `evaluate_person` (level-2 person, facts from the registry) and
`evaluate_questionnaire` (anyone; answers → indicative outcomes; a positive answer is `maybe`).
"""

from __future__ import annotations

import os
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

from chumnuoy.i18n import format_date, format_riel, translate
from registry_client.types import Address, Enrolment, Household, Person, RegistryPort

CATALOGUE = Path(__file__).resolve().parent.parent / "catalogue" / "programmes.yaml"
Outcome = Literal["eligible", "enrolled", "not_eligible", "maybe"]
OUTCOMES = ("eligible", "enrolled", "not_eligible", "maybe")
Truth = bool | None  # None = unknown
MSG_YOUR_COMMUNE = "Your commune: {commune}."
OUTCOME_MSGIDS = {
    "eligible": "Outcome: eligible",
    "enrolled": "Outcome: enrolled",
    "not_eligible": "Outcome: not eligible",
    "maybe": "Outcome: maybe eligible",
}


# ---------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class Benefit:
    component: str
    amount_riel: int
    frequency: str
    count: int | None = None
    sourced: bool = True
    configured_by: str | None = None
    """The environment variable that sets an unsourced amount."""


@dataclass(frozen=True)
class Rule:
    when: Mapping[str, Any]
    outcome: Outcome
    reason: str
    guidance: str | None = None


@dataclass(frozen=True)
class Programme:
    code: str
    name: str
    """msgid of the programme's short name."""
    agency: str
    family_package: bool
    scope: Literal["person", "household"]
    benefits: tuple[Benefit, ...]
    how_to_apply: str
    """msgid."""
    rules: tuple[Rule, ...]
    since: date | None = None
    """Date from which these rules and amounts apply."""
    sources: tuple[str, ...] = ()
    """Source tags of reference/programmes.md (g)."""


@dataclass(frozen=True)
class Catalogue:
    version: str
    reasons: Mapping[str, str]
    """reason key → msgid (English source text)."""
    guidance: Mapping[str, str]
    programmes: tuple[Programme, ...]

    def programme(self, code: str) -> Programme:
        return next(p for p in self.programmes if p.code == code)

    def msgids(self) -> set[str]:
        ids = set(self.reasons.values()) | set(self.guidance.values()) | set(OUTCOME_MSGIDS.values())
        ids.add(MSG_YOUR_COMMUNE)
        for p in self.programmes:
            ids |= {p.name, p.how_to_apply}
        return ids


def _amount(value: Any) -> tuple[int, str | None]:
    if isinstance(value, Mapping):
        return int(os.environ.get(value["env"], value["default"])), str(value["env"])
    return int(value), None


def _validate_condition(cond: Mapping[str, Any]) -> None:
    keys = set(cond)
    if keys & {"all", "any"}:
        for sub in cond.get("all", cond.get("any")):
            _validate_condition(sub)
    elif "not" in keys:
        _validate_condition(cond["not"])
    elif "fact" in keys:
        ops = keys - {"fact"}
        if len(ops) != 1 or not ops <= set(_OPS):
            raise ValueError(f"bad condition {dict(cond)}")
    elif keys != {"always"}:
        raise ValueError(f"bad condition {dict(cond)}")


def load_catalogue(path: Path = CATALOGUE) -> Catalogue:
    """Parse and check the catalogue (unknown reasons, outcomes or operators fail loudly)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    reasons = dict(data["reasons"])
    guidance = dict(data.get("guidance") or {})
    programmes = []
    for entry in data["programmes"]:
        benefits = []
        for b in entry.get("benefits") or []:
            amount, env = _amount(b["amount_riel"])
            benefits.append(
                Benefit(
                    component=b["component"],
                    amount_riel=amount,
                    frequency=b["frequency"],
                    count=b.get("count"),
                    sourced=bool(b.get("sourced", True)),
                    configured_by=env,
                )
            )
        rules = []
        for r in entry["rules"]:
            _validate_condition(r["when"])
            if r["outcome"] not in OUTCOMES or r["reason"] not in reasons:
                raise ValueError(f"{entry['code']}: bad rule {r}")
            if r.get("guidance") and r["guidance"] not in guidance:
                raise ValueError(f"{entry['code']}: unknown guidance {r['guidance']}")
            rules.append(
                Rule(when=r["when"], outcome=r["outcome"], reason=r["reason"], guidance=r.get("guidance"))
            )
        programmes.append(
            Programme(
                code=entry["code"],
                name=entry["name"],
                agency=entry["agency"],
                family_package=bool(entry.get("family_package")),
                scope=entry.get("scope", "person"),
                benefits=tuple(benefits),
                how_to_apply=entry["how_to_apply"],
                rules=tuple(rules),
                since=date.fromisoformat(entry["since"]) if entry.get("since") else None,
                sources=tuple(entry.get("sources") or ()),
            )
        )
    if "unknown" not in reasons:
        raise ValueError("the catalogue needs an 'unknown' reason")
    return Catalogue(
        version=str(data["version"]), reasons=reasons, guidance=guidance, programmes=tuple(programmes)
    )


@cache
def default_catalogue() -> Catalogue:
    return load_catalogue()


# ---------------------------------------------------------------- interpreter


def _cmp(op: str, value: Any, expected: Any) -> Truth:
    if value is None:
        return None
    return _OPS[op](value, expected)


_OPS: dict[str, Any] = {
    "eq": lambda v, e: v == e,
    "ne": lambda v, e: v != e,
    "is": lambda v, e: bool(v) is bool(e),
    "in": lambda v, e: v in e,
    "gte": lambda v, e: v >= e,
    "gt": lambda v, e: v > e,
    "lte": lambda v, e: v <= e,
    "lt": lambda v, e: v < e,
}


def evaluate_condition(cond: Mapping[str, Any], facts: Mapping[str, Any]) -> Truth:
    """Kleene three-valued evaluation: True, False or None (unknown)."""
    if "always" in cond:
        return bool(cond["always"])
    if "not" in cond:
        inner = evaluate_condition(cond["not"], facts)
        return None if inner is None else not inner
    if "all" in cond:
        results = [evaluate_condition(c, facts) for c in cond["all"]]
        if False in results:
            return False
        return None if None in results else True
    if "any" in cond:
        results = [evaluate_condition(c, facts) for c in cond["any"]]
        if True in results:
            return True
        return None if None in results else False
    (op,) = set(cond) - {"fact"}
    return _cmp(op, facts.get(cond["fact"]), cond[op])


@dataclass(frozen=True)
class ProgrammeOutcome:
    programme: str
    name: str
    agency: str
    family_package: bool
    outcome: Outcome
    reason: str
    """msgid of the one-line reason."""
    reason_params: Mapping[str, Any] = field(default_factory=dict)
    guidance: str | None = None
    """msgid of what to do next (e.g. On-Demand IDPoor), when there is something to do."""
    how_to_apply: str = ""
    indicative: bool = False
    benefits: tuple[Benefit, ...] = ()
    commune: str | None = None
    """The citizen's commune/sangkat as the registry writes it, when known (registry mode)."""

    def reason_text(self, locale: str) -> str:
        return translate(locale, self.reason, **_params(self.reason_params, locale))

    def guidance_text(self, locale: str) -> str | None:
        return translate(locale, self.guidance) if self.guidance else None

    def how_to_apply_text(self, locale: str) -> str:
        """Where and how to apply, naming the citizen's commune office when it is known."""
        text = translate(locale, self.how_to_apply)
        if self.commune:
            text = f"{text} {translate(locale, MSG_YOUR_COMMUNE, commune=self.commune)}"
        return text

    def line(self, locale: str) -> str:
        """The short line shown per programme: name: reason."""
        return f"{translate(locale, self.name)}: {self.reason_text(locale)}"


def _params(params: Mapping[str, Any], locale: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, date):
            out[name] = format_date(value, locale)
        elif name.endswith("_riel") and isinstance(value, int):
            out[name] = format_riel(value, locale)
        else:
            out[name] = value
    return out


def evaluate(
    catalogue: Catalogue, facts: Mapping[str, Any], *, indicative: bool, commune: str | None = None
) -> list[ProgrammeOutcome]:
    """Every programme's outcome for `facts`, in catalogue order."""
    enrolled = set(facts.get("enrolled") or ())
    params = {k: facts[k] for k in ("card_expiry", "idpoor_level") if facts.get(k) is not None}
    results = []
    for programme in catalogue.programmes:
        outcome, reason, guidance = _decide(programme, facts, enrolled)
        if (
            _placeholders(catalogue.reasons[reason]) - params.keys()
            and f"{reason}_plain" in catalogue.reasons
        ):
            reason = f"{reason}_plain"  # e.g. the questionnaire gave no card level or expiry date
        if indicative and outcome == "eligible":
            outcome = "maybe"
        results.append(
            ProgrammeOutcome(
                programme=programme.code,
                name=programme.name,
                agency=programme.agency,
                family_package=programme.family_package,
                outcome=outcome,
                reason=catalogue.reasons[reason],
                reason_params=params,
                guidance=catalogue.guidance.get(guidance) if guidance else None,
                how_to_apply=programme.how_to_apply,
                indicative=indicative,
                benefits=programme.benefits,
                commune=commune,
            )
        )
    return results


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _decide(
    programme: Programme, facts: Mapping[str, Any], enrolled: set[str]
) -> tuple[Outcome, str, str | None]:
    if programme.code in enrolled:
        return "enrolled", "enrolled" if programme.scope == "person" else "enrolled_household", None
    for rule in programme.rules:
        truth = evaluate_condition(rule.when, facts)
        if truth is None:
            return "maybe", "unknown", None
        if truth:
            return rule.outcome, rule.reason, rule.guidance
    return "maybe", "unknown", None


# ---------------------------------------------------------------- facts from the registry


def age_on(born: date | None, today: date) -> int | None:
    if born is None:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def equity_card_state(household: Household | None, today: date) -> tuple[str, date | None]:
    """valid | expired | none, and the expiry date when known."""
    if household is None or (household.idpoor_level is None and household.equity_card_valid_until is None):
        return "none", None
    until = household.equity_card_valid_until
    if until is not None and until < today:
        return "expired", until
    if household.idpoor_level is None:
        return "none", until
    return "valid", until


def _under_two(person: Person, today: date) -> bool:
    age = age_on(person.birth_date, today)
    return age is not None and age < 2


def active_enrolments(
    registry: RegistryPort, person: Person, household: Household | None
) -> dict[str, list[tuple[Person, Enrolment]]]:
    """Active enrolments of the person and of the household's other members, by programme."""
    by_programme: dict[str, list[tuple[Person, Enrolment]]] = {}
    members = [person] + [m for m in (household.members if household else ()) if m.spid != person.spid]
    for member in members:
        if member.is_deceased:
            continue
        for enrolment in registry.enrolments(member):
            if enrolment.status.lower() == "active":
                by_programme.setdefault(enrolment.programme, []).append((member, enrolment))
    return by_programme


def person_facts(
    person: Person,
    household: Household | None,
    enrolments: Mapping[str, list[tuple[Person, Enrolment]]],
    today: date,
    catalogue: Catalogue | None = None,
) -> dict[str, Any]:
    """The facts the rules need, derived from registry data as of `today`."""
    catalogue = catalogue or default_catalogue()
    card, until = equity_card_state(household, today)
    age = age_on(person.birth_date, today)
    members = household.members if household else (person,)
    child_under_2 = any(_under_two(m, today) and m.spid != person.spid for m in members)
    in_school = [m for m in members if m.school_grade is not None and 1 <= m.school_grade <= 12]
    household_scoped = {p.code for p in catalogue.programmes if p.scope == "household"}
    enrolled = {
        code
        for code, items in enrolments.items()
        if any(m.spid == person.spid for m, _ in items) or code in household_scoped
    }
    return {
        "equity_card": card,
        "card_expiry": until if card == "expired" else None,
        "idpoor_level": household.idpoor_level if household and card == "valid" else None,
        "age": age,
        "age_60_plus": None if age is None else age >= 60,
        "sex": person.sex,
        "pregnant_or_child_under_2": person.is_pregnant or (person.sex == "female" and child_under_2),
        "children_in_school": bool(in_school),
        "school_grades": sorted(m.school_grade for m in in_school if m.school_grade is not None),
        "disability_card": person.disability is not None,
        "disability_severity": person.disability,
        "hiv_support": person.hiv_support,
        "nssf_member": person.nssf_member
        or "nssf" in {c for c, items in enrolments.items() if any(m.spid == person.spid for m, _ in items)},
        "civil_servant": False,
        "enrolled": sorted(enrolled),
    }


def evaluate_person(
    registry: RegistryPort, person: Person, today: date, catalogue: Catalogue | None = None
) -> list[ProgrammeOutcome]:
    """Level 2 only (the caller checked): every programme evaluated against registry data."""
    catalogue = catalogue or default_catalogue()
    household = registry.household_of(person)
    enrolments = active_enrolments(registry, person, household)
    facts = person_facts(person, household, enrolments, today, catalogue)
    address = household.address if household and household.address.line else person.address
    return evaluate(catalogue, facts, indicative=False, commune=commune_of(address))


def commune_of(address: Address | None) -> str | None:
    """The commune (ឃុំ …) or sangkat (សង្កាត់ …) part of the registry's Khmer address line."""
    for part in (address.line or "").split(",") if address else ():
        part = part.strip()
        if part.startswith(("ឃុំ", "សង្កាត់")):
            return part
    return None


# ---------------------------------------------------------------- questionnaire


@dataclass(frozen=True)
class Questionnaire:
    """The short questionnaire of SPEC §4; None = not answered."""

    equity_card: Literal["valid", "expired", "none"] | None = None
    idpoor_level: int | None = None
    pregnant_or_child_under_2: bool | None = None
    age_60_plus: bool | None = None
    disability_card: bool | None = None
    children_in_school: bool | None = None
    hiv_support: bool | None = None
    nssf_member: bool | None = None
    sex: Literal["male", "female"] | None = None
    civil_servant: bool | None = False
    """Not in the spoken questionnaire (default: no); API clients may say otherwise."""

    def facts(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def evaluate_questionnaire(
    answers: Questionnaire, catalogue: Catalogue | None = None
) -> list[ProgrammeOutcome]:
    """Indicative outcomes for anyone (level 0): positive answers are `maybe`, with where to apply."""
    return evaluate(catalogue or default_catalogue(), answers.facts(), indicative=True)
