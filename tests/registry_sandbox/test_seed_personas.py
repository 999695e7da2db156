"""The personas P1–P8 and the compliance fixtures as the Store serves them (SPEC §8)."""

from __future__ import annotations

from datetime import date

import pytest

from registry_sandbox import query as q
from registry_sandbox.models import registry_today
from registry_sandbox.seed import seed_database
from registry_sandbox.store import Store


@pytest.fixture(scope="module")
def store(new_session_database) -> Store:
    from chumnuoy.db import make_engine

    url = new_session_database("personas")
    seed_database(url, persons=300, random_seed=11, if_needed=False)
    engine = make_engine(url)
    yield Store(engine)
    engine.dispose()


def _attrs(record: dict) -> dict:
    return {a["name"]: a["value"] for a in record["additional_attributes"]}


def _ids(record: dict, key: str) -> dict:
    return {i["identifier_type"]: i["identifier_value"] for i in record[key]}


def _member(store: Store, uin: str) -> dict:
    records, total = store.search_identifier("UIN", uin, "Member", 1, 10, [])
    assert total == 1
    return records[0]


def _group(store: Store, uin: str) -> dict:
    records, total = store.search_identifier("UIN", uin, "Group", 1, 10, [])
    assert total == 1
    return records[0]


def _age(born: date) -> int:
    today = registry_today()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def test_p1_pregnant_with_two_antenatal_payments_and_a_pending_one(store: Store) -> None:
    member = _member(store, "100000101")
    person = member["demographic_info"]
    assert person["name"] == {"surname": "ចាន់", "given_name": "សុខា"}
    assert _attrs(member)["name_latin"] == {"surname": "CHAN", "given_name": "Sokha"}
    assert person["sex"] == "female" and person["birth_date"] == "1996-04-12T00:00:00+07:00"
    assert person["phone_number"] == ["+85512000101"]
    assert _attrs(member)["is_pregnant"] is True
    assert _attrs(member)["age"] == _age(date(1996, 4, 12))
    group = _group(store, "100000101")
    assert _attrs(group)["idpoor_level"] == 1
    assert len(group["member_list"]) == group["group_size"] == 3
    assert group["group_head_info"]["member_identifier"] == member["member_identifier"]
    payments = store.payments("UIN", "100000101", "pregnant_child_cash")
    assert [(p["component"], p["amount"], p["status"], p["paid_date"]) for p in payments] == [
        ("antenatal_1", 80_000, "paid", "2026-09-15"),
        ("antenatal_2", 80_000, "paid", "2026-10-20"),
        ("antenatal_3", 80_000, "pending", None),
    ]
    assert store.is_enrolled("UIN", "100000101", "pregnant_child_cash") is True


def test_p2_elderly_paid_then_failed(store: Store) -> None:
    member = _member(store, "100000102")
    assert member["demographic_info"]["name"] == {"surname": "សុខ", "given_name": "ដារ៉ា"}
    assert _attrs(member)["age"] == _age(date(1958, 9, 3)) >= 68
    assert _attrs(_group(store, "100000102"))["idpoor_level"] == 2
    payments = store.payments("UIN", "100000102", "elderly")
    assert [(p["status"], p["due_date"], p["paid_date"]) for p in payments] == [
        ("paid", "2026-09-10", "2026-09-10"), ("failed", "2026-10-10", None)]
    enrolment = next(e for e in store.enrolments("UIN", "100000102")
                     if e["programme"]["programme_identifier"] == "elderly")
    assert enrolment["benefits"]["benefit_frequency"] == "monthly"
    assert enrolment["benefits"]["benefit_value"] == payments[0]["amount"] == 40_000  # default, unsourced


def test_p3_birth_payments_and_son_scholarship(store: Store) -> None:
    group = _group(store, "100000103")
    assert _attrs(group)["idpoor_level"] == 1
    births = {m["demographic_info"]["birth_date"][:10]: m for m in group["member_list"]}
    assert "2025-08-10" in births
    son = next(m for m in group["member_list"] if _attrs(m)["school_grade"] == 4)
    assert son["relationship_head"] == "CHILD" and son["demographic_info"]["sex"] == "male"
    payments = store.payments("UIN", "100000103", "pregnant_child_cash")
    delivery = [p for p in payments if p["component"] == "delivery"]
    assert [(p["amount"], p["status"]) for p in delivery] == [(400_000, "paid")]
    after = [p for p in payments if p["component"] != "delivery"]
    assert len(after) == 6 and all(p["amount"] == 80_000 and p["status"] == "paid" for p in after)
    son_spid = _ids(son, "member_identifier")["SPID"]
    scholarship = store.payments("SPID", son_spid, "scholarship")
    assert len(scholarship) == 6 and {p["amount"] for p in scholarship} == {20_000}
    assert store.is_enrolled("SPID", son_spid, "scholarship") is True


def test_p4_no_card_nssf_member(store: Store) -> None:
    member = _member(store, "100000104")
    assert _attrs(member)["nssf_member"] is True and _attrs(member)["nssf_number"]
    group = _group(store, "100000104")
    assert _attrs(group)["idpoor_level"] is None and _attrs(group)["equity_card_valid_until"] is None
    assert "IDPOOR" not in _ids(group, "group_identifier")
    assert store.is_enrolled("UIN", "100000104", "nssf") is True
    for programme in ("elderly", "disability", "health_equity_fund", "pregnant_child_cash"):
        assert store.is_enrolled("UIN", "100000104", programme) is False


def test_p5_disability_medium_paid_monthly(store: Store) -> None:
    member = _member(store, "100000105")
    assert member["is_disabled"] is True and member["disability_info"]["severity"] == "medium"
    assert member["disability_info"]["card_number"]
    assert _attrs(_group(store, "100000105"))["idpoor_level"] == 2
    payments = store.payments("UIN", "100000105", "disability")
    assert len(payments) >= 3 and all(p["status"] == "paid" and p["component"] == "monthly" for p in payments)
    months = [p["due_date"][:7] for p in payments]
    assert months == sorted(set(months))  # one a month


def test_p6_phone_not_in_registry(store: Store) -> None:
    assert store.search_identifier("MOBILE", "+85512000199", "Member", 1, 10, []) == ([], 0)
    assert store.search_identifier("MOBILE", "+85512000199", "Group", 1, 10, []) == ([], 0)
    assert store.enrolments("MOBILE", "+85512000199") is None


def test_p7_expired_equity_card(store: Store) -> None:
    group = _group(store, "100000107")
    assert _attrs(group)["equity_card_valid_until"] == "2025-06-30"
    assert store.is_enrolled("UIN", "100000107", "health_equity_fund") is False
    hef = [e for e in store.enrolments("UIN", "100000107")
           if e["programme"]["programme_identifier"] == "health_equity_fund"]
    assert [(e["enrolment_status"], e["status_change_date"]) for e in hef] == [("Suspended", "2025-06-30")]


def test_p8_shared_phone_one_household_two_members(store: Store) -> None:
    members, total = store.search_identifier("MOBILE", "+85512000108", "Member", 1, 10, [])
    assert total == 2
    assert {_ids(m, "member_identifier")["UIN"] for m in members} == {"100000108", "100000109"}
    names = {m["demographic_info"]["name"]["surname"] + " " + m["demographic_info"]["name"]["given_name"]
             for m in members}
    assert names == {"ឡុង វិចិត្រ", "ឈឹម សុភាព"}  # the wife keeps her own family name
    groups, total = store.search_identifier("MOBILE", "+85512000108", "Group", 1, 10, [])
    assert total == 1 and _attrs(groups[0])["idpoor_level"] == 1
    in_group = {_ids(m, "member_identifier").get("UIN") for m in groups[0]["member_list"]}
    assert {"100000108", "100000109"} <= in_group
    assert store.enrolments("MOBILE", "+85512000108") is None  # a shared phone names nobody alone


def test_compliance_fixtures(store: Store) -> None:
    records, total = store.search_identifier("UIN", "TEST-001", "Member", 1, 10, [])
    assert total == 1 and _ids(records[0], "member_identifier")["UIN"] == "TEST-001"
    poor = q.Compare("poverty_score", "lt", 5)
    central = q.Compare("location", "eq", "central_region")
    small = q.Compare("group_size", "lt", 5)
    for condition in (poor, central, small, q.And((poor, central, small))):
        groups, total = store.search_condition(condition, "Group", 1, 50, [])
        assert total >= 1
        assert "HH-12-00000901" in {_ids(g, "group_identifier")["HOUSEHOLD_ID"] for g in groups} or total > 50
    groups, _ = store.search_condition(q.And((poor, central, small)), "Group", 1, 1000, [])
    assert all(g["poverty_score"] < 5 and g["group_size"] < 5 and _attrs(g)["location"] == "central_region"
               for g in groups)
    young_poor = q.And((q.Compare("age", "lt", 25), q.Compare("poverty_score", "lt", 2.5)))
    members, total = store.search_condition(young_poor, "Member", 1, 1000, [])
    uins = {_ids(m, "member_identifier").get("UIN") for m in members}
    assert total >= 2 and {"TEST-003", "TEST-004"} <= uins
    assert all(_attrs(m)["age"] < 25 for m in members)
