"""DCI SR records (Group / Member / SRPerson dicts, docs/registry-profile.md) → typed results.

Lenient in what it reads: unknown fields are ignored, missing ones give None/defaults, dates are
taken from their calendar part (a birth date `1996-04-12T00:00:00+07:00` is 12 April whatever the
offset).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from chumnuoy.digits import to_ascii_digits
from registry_client.types import Address, Household, Person

_SEXES = {"male", "female", "other", "unknown"}
_SEVERITIES = {"mild", "medium", "severe"}


def normalise_mobile(value: str) -> str:
    """E.164 for a Cambodian number typed any usual way: `012 000 101`, `+855 12 000101`,
    `85512000101`, `០១២០០០១០១`. Anything else is returned digits-only with a `+` if it had one."""
    text = to_ascii_digits(value.strip())
    plus = text.startswith("+") or text.startswith("00")
    digits = re.sub(r"\D", "", text)
    if text.startswith("00"):
        digits = digits[2:]
    if digits.startswith("855"):
        national = digits[3:]
        return "+855" + (national[1:] if national.startswith("0") else national)
    if digits.startswith("0") and not plus:
        return "+855" + digits[1:]
    if not plus and 8 <= len(digits) <= 9:
        return "+855" + digits
    return ("+" if plus else "") + digits


def attributes(record: Mapping[str, Any]) -> dict[str, Any]:
    """`additional_attributes: [{name, value}]` as a dict (a dict form is accepted too)."""
    raw = record.get("additional_attributes")
    if isinstance(raw, Mapping):
        return dict(raw)
    result: dict[str, Any] = {}
    for entry in raw or []:
        if isinstance(entry, Mapping) and "name" in entry:
            result[str(entry["name"])] = entry.get("value")
    return result


def identifiers(entries: Iterable[Any] | None) -> dict[str, str]:
    result: dict[str, str] = {}
    for entry in entries or []:
        if isinstance(entry, Mapping) and entry.get("identifier_type") and entry.get("identifier_value"):
            result.setdefault(str(entry["identifier_type"]), str(entry["identifier_value"]))
    return result


def parse_date(value: object) -> date | None:
    if isinstance(value, date):
        return value if not isinstance(value, datetime) else value.date()
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def parse_datetime(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _bool(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value)


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _float(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def parse_address(raw: object, district_code: str | None = None) -> Address:
    """The profile's address object. The district is not part of it: it comes from the household's
    `district_code` attribute when known, else from the commune code's first 4 digits (NCDD codes
    nest: province 2, district 4, commune 6, village 8 digits)."""
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    if not isinstance(raw, Mapping):
        return Address(district_code=district_code)
    commune = raw.get("sub_region_code")
    if district_code is None and isinstance(commune, str) and len(commune) == 6 and commune.isdigit():
        district_code = commune[:4]
    return Address(
        province_code=raw.get("region_code"),
        district_code=district_code,
        commune_code=commune,
        village_code=raw.get("locality"),
        line=raw.get("address_line1"),
    )


def person_from_member(member: Mapping[str, Any], district_code: str | None = None) -> Person:
    """A `Member` record (or a bare `SRPerson`) as a typed Person."""
    demographic = member.get("demographic_info")
    if not isinstance(demographic, Mapping):
        demographic = member if member.get("@type") == "SRPerson" or "name" in member else {}
    # The Member's own fields win over the SRPerson's.
    ids = identifiers(demographic.get("identifier")) | identifiers(member.get("member_identifier"))
    extra = attributes(demographic) | attributes(member)
    name = demographic.get("name") or {}
    latin = extra.get("name_latin") or {}
    disability = member.get("disability_info") or demographic.get("disability_info") or {}
    severity = disability.get("severity") if isinstance(disability, Mapping) else None
    is_disabled = _bool(member.get("is_disabled", demographic.get("is_disabled", False)))
    sex = str(demographic.get("sex") or "unknown").lower()
    phones = demographic.get("phone_number") or []
    if isinstance(phones, str):
        phones = [phones]
    return Person(
        spid=ids.get("SPID", ""),
        uin=ids.get("UIN"),
        surname=str(name.get("surname") or ""),
        given_name=str(name.get("given_name") or ""),
        surname_latin=latin.get("surname") if isinstance(latin, Mapping) else None,
        given_name_latin=latin.get("given_name") if isinstance(latin, Mapping) else None,
        sex=sex if sex in _SEXES else "unknown",  # type: ignore[arg-type]
        birth_date=parse_date(demographic.get("birth_date")),
        phones=tuple(str(p) for p in phones),
        household_id=demographic.get("household_identifier") or ids.get("HOUSEHOLD_ID"),
        relationship=str(member.get("relationship_head") or "OTHER"),
        is_pregnant=_bool(extra.get("is_pregnant", False)),
        disability=(severity if is_disabled and severity in _SEVERITIES else None),  # type: ignore[arg-type]
        school_grade=_int(extra.get("school_grade")),
        nssf_member=_bool(extra.get("nssf_member", False)),
        hiv_support=_bool(extra.get("hiv_support", False)),
        is_deceased=_bool(demographic.get("is_deceased", False)),
        address=parse_address(demographic.get("address"), district_code),
    )


def household_from_group(group: Mapping[str, Any]) -> Household:
    ids = identifiers(group.get("group_identifier"))
    extra = attributes(group)
    district = extra.get("district_code")
    place = group.get("place") or {}
    members = tuple(person_from_member(m, district) for m in group.get("member_list") or []
                    if isinstance(m, Mapping))
    level = _int(extra.get("idpoor_level"))
    return Household(
        household_id=ids.get("HOUSEHOLD_ID", ""),
        idpoor_number=ids.get("IDPOOR"),
        idpoor_level=level if level in (1, 2) else None,
        equity_card_valid_until=parse_date(extra.get("equity_card_valid_until")),
        poverty_score=_float(group.get("poverty_score")),
        address=parse_address(place.get("address") if isinstance(place, Mapping) else None, district),
        members=members,
        last_updated=parse_datetime(group.get("last_updated")),
    )
