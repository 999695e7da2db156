"""Row builder for bulk seeding: precomputed dicts with explicit primary keys, flushed in chunks
with SQLAlchemy Core executemany (households, persons, enrolments, payments, in key order)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection

from chumnuoy.digits import to_khmer_digits
from registry_sandbox.gazetteer import province_locations
from registry_sandbox.models import Enrolment, Household, Payment, Person
from registry_sandbox.programmes import PROGRAMME_NAMES
from registry_sandbox.spid import payment_id


class RowBuilder:
    def __init__(self, units: dict[str, dict], gazetteer_version: str) -> None:
        self.units = units
        self.gazetteer_version = gazetteer_version
        self.locations = province_locations()
        self.households: list[dict] = []
        self.persons: list[dict] = []
        self.enrolments: list[dict] = []
        self.payments: list[dict] = []
        self.next_household = 1
        self.next_person = 1
        self.next_enrolment = 1
        self.next_payment = 1
        self.payment_number = 1
        self.counts = {"households": 0, "persons": 0, "enrolments": 0, "payments": 0}

    # -- addresses ---------------------------------------------------------------------------
    def address_line(self, village_code: str | None, province_code: str, house_number: int) -> str:
        """A Khmer address line: house number, village, commune, district, province."""
        parts = [f"ផ្ទះលេខ {to_khmer_digits(str(house_number))}"]
        code = village_code
        prefixes = {8: "ភូមិ", 6: "ឃុំ", 4: "ស្រុក", 2: "ខេត្ត"}
        while code:
            unit = self.units.get(code)
            if unit is not None:
                name = unit["name_km"]
                prefix = prefixes[len(code)]
                if province_code == "12":
                    prefix = {6: "សង្កាត់", 4: "ខណ្ឌ", 2: "រាជធានី"}.get(len(code), prefix)
                parts.append(name if name.startswith(prefix) else f"{prefix}{name}")
            code = code[:-2] if len(code) > 2 else None
        if not village_code:
            province = self.units.get(province_code)
            if province is not None:
                parts.append(f"ខេត្ត{province['name_km']}")
        return ", ".join(parts)

    def collection_point(self, village_code: str | None) -> str | None:
        if not village_code:
            return None
        commune = self.units.get(village_code[:6])
        return f"Wing, {commune['name_km']}" if commune else None

    # -- rows --------------------------------------------------------------------------------
    def household(self, *, household_id: str, province_code: str, village_code: str | None,
                  idpoor_number: str | None, idpoor_level: int | None, valid_until: date | None,
                  poverty_score: float, group_size: int, registered: datetime, house_number: int,
                  location: str | None = None) -> int:
        pk = self.next_household
        self.next_household += 1
        self.households.append({
            "id": pk, "household_id": household_id, "idpoor_number": idpoor_number,
            "idpoor_level": idpoor_level, "equity_card_valid_until": valid_until,
            "poverty_score": poverty_score,
            "location": location or self.locations.get(province_code, "central_region"),
            "province_code": province_code,
            "district_code": village_code[:4] if village_code else None,
            "commune_code": village_code[:6] if village_code else None,
            "village_code": village_code,
            "address_line": self.address_line(village_code, province_code, house_number),
            "group_size": group_size, "gazetteer_version": self.gazetteer_version,
            "registration_date": registered, "last_updated": registered,
        })
        return pk

    def person(self, *, household_pk: int | None, spid: str, uin: str | None, relationship: str,
               surname_km: str, given_km: str, surname_latin: str, given_latin: str, sex: str,
               birth_date: date, phone: str | None, marital_status: str, registered: datetime,
               is_pregnant: bool = False, disability: str | None = None, disability_card: str | None = None,
               school_grade: int | None = None, nssf_number: str | None = None, hiv_support: bool = False,
               death_date: date | None = None) -> int:
        pk = self.next_person
        self.next_person += 1
        self.persons.append({
            "id": pk, "spid": spid, "uin": uin, "household_pk": household_pk,
            "relationship_head": relationship, "surname_km": surname_km, "given_name_km": given_km,
            "surname_latin": surname_latin, "given_name_latin": given_latin, "sex": sex,
            "birth_date": birth_date, "death_date": death_date, "phone": phone,
            "is_pregnant": is_pregnant, "disability_severity": disability,
            "disability_card_no": disability_card, "school_grade": school_grade,
            "nssf_member": nssf_number is not None, "nssf_number": nssf_number,
            "hiv_support": hiv_support, "marital_status": marital_status,
            "registration_date": registered, "last_updated": registered,
        })
        return pk

    def enrolment(self, *, person_pk: int, programme: str, enrolment_date: date, status: str = "Active",
                  status_change_date: date | None = None, benefit_type: str | None = None,
                  amount: int | None = None, frequency: str | None = None,
                  collection_point: str | None = None) -> int:
        pk = self.next_enrolment
        self.next_enrolment += 1
        self.enrolments.append({
            "id": pk, "person_pk": person_pk, "programme": programme,
            "programme_name": PROGRAMME_NAMES[programme], "enrolment_date": enrolment_date,
            "status": status, "status_change_date": status_change_date or enrolment_date,
            "benefit_type": benefit_type, "amount_riel": amount, "frequency": frequency,
            "collection_point": collection_point,
        })
        return pk

    def payment(self, *, enrolment_pk: int, person_pk: int, programme: str, amount: int, status: str,
                due_date: date, paid_date: date | None, component: str,
                collection_point: str | None) -> None:
        pk = self.next_payment
        self.next_payment += 1
        self.payments.append({
            "id": pk, "payment_id": payment_id(self.payment_number), "enrolment_pk": enrolment_pk,
            "person_pk": person_pk, "programme": programme, "amount_riel": amount, "status": status,
            "due_date": due_date, "paid_date": paid_date, "component": component,
            "collection_point": collection_point,
        })
        self.payment_number += 1

    def flush(self, connection: Connection) -> None:
        for table, rows, key in (
            (Household.__table__, self.households, "households"),
            (Person.__table__, self.persons, "persons"),
            (Enrolment.__table__, self.enrolments, "enrolments"),
            (Payment.__table__, self.payments, "payments"),
        ):
            if rows:
                connection.execute(table.insert(), rows)
                self.counts[key] += len(rows)
                rows.clear()
