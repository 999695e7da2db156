"""Database rows → DCI record dicts in the shapes of docs/registry-profile.md."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from registry_sandbox.models import CAMBODIA


def timestamp(value: datetime | None) -> str | None:
    """ISO 8601 with +07:00 (stored date-times are naive Cambodian local time)."""
    if value is None:
        return None
    if isinstance(value, str):  # tolerate drivers that hand back text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=CAMBODIA, microsecond=0).isoformat()


def day_time(value: date | None) -> str | None:
    """A date as a date-time at midnight +07:00 (birth and death dates)."""
    return None if value is None else f"{value.isoformat()}T00:00:00+07:00"


def iso_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def age_on(born: date | None, today: date) -> int | None:
    if born is None:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def address(household: Mapping[str, Any] | None) -> dict[str, Any]:
    if household is None:
        return {"country_code": "KHM"}
    fields = {
        "address_line1": household["address_line"],
        "locality": household["village_code"],
        "sub_region_code": household["commune_code"],
        "region_code": household["province_code"],
        "country_code": "KHM",
    }
    return {key: value for key, value in fields.items() if value is not None}


def member(person: Mapping[str, Any], household: Mapping[str, Any] | None, today: date) -> dict[str, Any]:
    identifiers = [{"identifier_type": "SPID", "identifier_value": person["spid"]}]
    if person["uin"]:
        identifiers.append({"identifier_type": "UIN", "identifier_value": person["uin"]})
    demographic: dict[str, Any] = {
        "@type": "SRPerson",
        "identifier": identifiers,
        "name": {"surname": person["surname_km"], "given_name": person["given_name_km"]},
        "sex": person["sex"],
        "birth_date": day_time(person["birth_date"]),
        "is_deceased": person["death_date"] is not None,
        "phone_number": [person["phone"]] if person["phone"] else [],
        "address": [address(household)],
    }
    if person["death_date"] is not None:
        demographic["death_date"] = day_time(person["death_date"])
    if household is not None:
        demographic["household_identifier"] = household["household_id"]
    record: dict[str, Any] = {
        "@type": "Member",
        "member_identifier": identifiers,
        "relationship_head": person["relationship_head"],
        "is_disabled": person["disability_severity"] is not None,
        "marital_status": person["marital_status"],
        "demographic_info": demographic,
        "registration_date": timestamp(person["registration_date"]),
        "last_update": timestamp(person["last_updated"]),
        "additional_attributes": [
            {"name": "name_latin", "value": {"surname": person["surname_latin"],
                                             "given_name": person["given_name_latin"]}},
            {"name": "is_pregnant", "value": bool(person["is_pregnant"])},
            {"name": "school_grade", "value": person["school_grade"]},
            {"name": "nssf_member", "value": bool(person["nssf_member"])},
            {"name": "nssf_number", "value": person["nssf_number"]},
            {"name": "hiv_support", "value": bool(person["hiv_support"])},
            {"name": "age", "value": age_on(person["birth_date"], today)},
        ],
    }
    if person["disability_severity"] is not None:
        record["disability_info"] = {"severity": person["disability_severity"],
                                     "card_number": person["disability_card_no"]}
    return record


def group(household: Mapping[str, Any], people: Sequence[Mapping[str, Any]], today: date) -> dict[str, Any]:
    identifiers = [{"identifier_type": "HOUSEHOLD_ID", "identifier_value": household["household_id"]}]
    if household["idpoor_number"]:
        identifiers.append({"identifier_type": "IDPOOR", "identifier_value": household["idpoor_number"]})
    members = [member(person, household, today) for person in people]
    head = next((m for m, p in zip(members, people, strict=True) if p["relationship_head"] == "SELF"),
                members[0] if members else None)
    record: dict[str, Any] = {
        "@type": "Group",
        "group_identifier": identifiers,
        "group_type": "household",
        "group_size": household["group_size"],
        "poverty_score": household["poverty_score"],
        "poverty_score_type": "IDPoor",
        "place": {"address": address(household)},
        "member_list": members,
        "registration_date": timestamp(household["registration_date"]),
        "last_updated": timestamp(household["last_updated"]),
        "additional_attributes": [
            {"name": "idpoor_level", "value": household["idpoor_level"]},
            {"name": "equity_card_valid_until", "value": iso_date(household["equity_card_valid_until"])},
            {"name": "district_code", "value": household["district_code"]},
            {"name": "location", "value": household["location"]},
            {"name": "gazetteer_version", "value": household["gazetteer_version"]},
        ],
    }
    if head is not None:
        record["group_head_info"] = head
    return record


def enrolment(row: Mapping[str, Any]) -> dict[str, Any]:
    benefits: dict[str, Any] = {"benefit_type": row["benefit_type"], "currency": "KHR"}
    if row["amount_riel"] is not None:
        benefits["benefit_value"] = row["amount_riel"]
    if row["frequency"] is not None:
        benefits["benefit_frequency"] = row["frequency"]
    entry: dict[str, Any] = {
        "programme": {"programme_identifier": row["programme"], "programme_name": row["programme_name"]},
        "enrolment_date": iso_date(row["enrolment_date"]),
        "enrolment_status": row["status"],
        "status_change_date": iso_date(row["status_change_date"]),
        "benefits": benefits,
    }
    if row["collection_point"]:
        entry["collection_point"] = row["collection_point"]
    return entry


def payment(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "payment_id": row["payment_id"],
        "programme_identifier": row["programme"],
        "amount": row["amount_riel"],
        "currency": "KHR",
        "status": row["status"],
        "due_date": iso_date(row["due_date"]),
        "paid_date": iso_date(row["paid_date"]),
        "component": row["component"],
        "collection_point": row["collection_point"],
    }
