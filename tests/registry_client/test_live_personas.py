"""The client against the live sandbox over HTTP: every persona, typed, by UIN and by phone."""

from __future__ import annotations

from datetime import date

import pytest

from chumnuoy.digits import to_khmer_digits
from registry_client.types import Household, Person
from tests.registry_client.personas import ABSENT_PHONE, BY_KEY, FAMILY_PACKAGE, PERSONAS, TODAY, Persona


@pytest.fixture
def client(live_registry, make_client):
    client, _ = make_client(live_registry.settings)
    return client


def _check_person(person: Person, persona: Persona) -> None:
    assert person.uin == persona.uin
    assert (person.surname, person.given_name) == persona.khmer
    assert person.full_name == f"{persona.khmer[0]} {persona.khmer[1]}"
    assert (person.surname_latin, person.given_name_latin) == persona.latin
    assert person.sex == persona.sex
    assert person.birth_date == persona.born
    assert persona.phone in person.phones
    assert person.spid.startswith("KH") and len(person.spid) == 12
    assert person.household_id and person.household_id.startswith("HH-")


def _check_household(household: Household, person: Person, persona: Persona) -> None:
    assert household.household_id == person.household_id
    assert person.spid in {m.spid for m in household.members}
    if persona.idpoor_level == "expired":
        assert household.equity_card_valid_until is not None and household.equity_card_valid_until < TODAY
    elif persona.idpoor_level is None:
        assert household.idpoor_level is None and household.idpoor_number is None
    else:
        assert household.idpoor_level == persona.idpoor_level
        assert household.equity_card_valid_until is not None and household.equity_card_valid_until >= TODAY
        assert household.idpoor_number and household.idpoor_number.startswith("IDP-")
    assert household.address.province_code and household.address.village_code
    assert household.address.village_code.startswith(household.address.province_code)
    assert household.last_updated is not None and household.last_updated.utcoffset() is not None


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p.key)
def test_persona_by_uin_with_household(client, persona: Persona) -> None:
    people = client.find_people("UIN", persona.uin)
    assert len(people) == 1
    _check_person(people[0], persona)
    household = client.household_of(people[0])
    assert household is not None
    _check_household(household, people[0], persona)
    assert client.get_household(household.household_id) == household


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p.key)
def test_persona_by_phone_in_every_usual_form(client, persona: Persona) -> None:
    local = "0" + persona.phone[4:]
    for typed in (persona.phone, local, to_khmer_digits(local), f"{local[:3]} {local[3:6]} {local[6:]}"):
        people = client.find_people("MOBILE", typed)
        assert persona.uin in {p.uin for p in people}, typed
        _check_person(next(p for p in people if p.uin == persona.uin), persona)


def test_shared_phone_gives_both_spouses_of_one_household(client) -> None:
    people = client.find_people("MOBILE", "012 000 108")
    assert sorted(p.uin for p in people) == ["100000108", "100000109"]
    assert len({p.household_id for p in people}) == 1
    assert {p.relationship for p in people} == {"SELF", "SPS"}
    household = client.household_of(people[0])
    assert household.idpoor_level == 1
    assert {"100000108", "100000109"} <= {m.uin for m in household.members}


def test_absent_phone_and_unknown_uin_give_nobody(client) -> None:
    assert client.find_people("MOBILE", ABSENT_PHONE) == []
    assert client.find_people("MOBILE", "012000199") == []
    assert client.find_people("UIN", "999999999") == []
    assert client.get_household("HH-12-99999999") is None


def test_compliance_fixture_uin(client) -> None:
    people = client.find_people("UIN", "TEST-001")
    assert [p.uin for p in people] == ["TEST-001"]
    assert client.household_of(people[0]) is not None


def test_every_identifier_type_round_trips(client) -> None:
    p1 = client.find_people("UIN", BY_KEY["P1"].uin)[0]
    household = client.household_of(p1)
    assert [p.uin for p in client.find_people("SPID", p1.spid.lower())] == [p1.uin]
    by_household = client.find_people("HOUSEHOLD_ID", household.household_id)
    assert {p.spid for p in by_household} == {m.spid for m in household.members}
    assert p1.spid in {p.spid for p in client.find_people("IDPOOR", household.idpoor_number)}


def _one(client, key: str) -> Person:
    return client.find_people("UIN", BY_KEY[key].uin)[0]


def test_p1_pregnant_with_antenatal_payments(client) -> None:
    p1 = _one(client, "P1")
    assert p1.is_pregnant
    enrolments = {e.programme: e for e in client.enrolments(p1)}
    assert enrolments["pregnant_child_cash"].status == "Active"
    payments = client.payments(p1, "pregnant_child_cash")
    assert [(p.amount_riel, p.status, p.paid_date) for p in payments] == [
        (80_000, "paid", date(2026, 9, 15)), (80_000, "paid", date(2026, 10, 20)), (80_000, "pending", None)]
    assert all(p.programme == "pregnant_child_cash" and p.payment_id for p in payments)


def test_p2_elderly_paid_then_failed(client) -> None:
    p2 = _one(client, "P2")
    elderly = {e.programme: e for e in client.enrolments(p2)}["elderly"]
    assert elderly.frequency == "monthly" and elderly.amount_riel and elderly.amount_riel > 0
    payments = client.payments(p2, "elderly")
    assert [(p.status, p.due_date) for p in payments] == [
        ("paid", date(2026, 9, 10)), ("failed", date(2026, 10, 10))]
    assert payments[0].paid_date == date(2026, 9, 10) and payments[1].paid_date is None
    assert {p.amount_riel for p in payments} == {elderly.amount_riel}


def test_p3_delivery_postnatal_and_her_sons_scholarship(client) -> None:
    p3 = _one(client, "P3")
    payments = client.payments(p3, "pregnant_child_cash")
    delivery = [p for p in payments if p.amount_riel == 400_000]
    assert len(delivery) == 1 and delivery[0].status == "paid"
    assert delivery[0].paid_date >= date(2025, 8, 10)
    later = [p for p in payments if p.amount_riel == 80_000]
    assert len(later) == 6 and all(p.status == "paid" and p.paid_date for p in later)
    household = client.household_of(p3)
    son = next(m for m in household.members if m.school_grade == 4)
    assert son.sex == "male" and son.relationship == "CHILD"
    scholarship = {e.programme: e for e in client.enrolments(son)}["scholarship"]
    assert (scholarship.amount_riel, scholarship.frequency) == (20_000, "monthly")
    son_payments = client.payments(son)
    assert son_payments
    assert all(p.programme == "scholarship" and p.amount_riel == 20_000 for p in son_payments)
    assert any(m.birth_date == date(2025, 8, 10) for m in household.members)


def test_p4_nssf_member_without_family_package(client) -> None:
    p4 = _one(client, "P4")
    assert p4.nssf_member
    programmes = {e.programme for e in client.enrolments(p4)}
    assert "nssf" in programmes and not programmes & FAMILY_PACKAGE
    assert client.household_of(p4).idpoor_level is None


def test_p5_disability_paid_monthly(client) -> None:
    p5 = _one(client, "P5")
    assert p5.disability == "medium"
    disability = {e.programme: e for e in client.enrolments(p5)}["disability"]
    payments = client.payments(p5, "disability")
    assert len(payments) >= 2 and all(p.status == "paid" for p in payments)
    assert {p.amount_riel for p in payments} == {disability.amount_riel}
    months = [p.paid_date.month for p in payments]
    assert months == sorted(months) and len(set(months)) == len(months)


def test_p7_expired_card_no_active_family_package(client) -> None:
    p7 = _one(client, "P7")
    household = client.household_of(p7)
    assert household.equity_card_valid_until == date(2025, 6, 30)
    active = {e.programme for e in client.enrolments(p7) if e.status == "Active"}
    assert not active & FAMILY_PACKAGE and "health_equity_fund" not in active


def test_ibr_enrolled_matches_the_extension(client) -> None:
    p1 = _one(client, "P1")
    assert client.is_enrolled(p1, "pregnant_child_cash") is True
    assert client.is_enrolled(p1, "elderly") is False


def test_ping(client) -> None:
    assert client.ping() is True
    assert client.circuit_state == "closed"
