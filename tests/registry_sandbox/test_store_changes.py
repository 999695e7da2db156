"""Store.apply_change: applied changes, old-value checks, unknown targets, household bookkeeping."""

from __future__ import annotations

import pytest

from chumnuoy.damm import is_valid
from chumnuoy.db import make_engine
from registry_sandbox.seed import seed_database
from registry_sandbox.store import Store


@pytest.fixture
def store(new_database) -> Store:
    url = new_database("changes")
    seed_database(url, persons=30, random_seed=2, if_needed=False)
    engine = make_engine(url)
    yield Store(engine)
    engine.dispose()


def _group(store: Store, uin: str) -> dict:
    records, _ = store.search_identifier("UIN", uin, "Group", 1, 10, [])
    return records[0]


def _member(store: Store, id_type: str, value: str) -> dict:
    records, total = store.search_identifier(id_type, value, "Member", 1, 10, [])
    assert total == 1
    return records[0]


def test_phone_change_checks_the_old_value(store: Store) -> None:
    before = _group(store, "100000104")["last_updated"]
    wrong = store.apply_change("phone", "UIN", "100000104", "+85510000999", "+85510000444", "officer:1")
    assert (wrong.applied, wrong.reason_code) == (False, "rjct.old_value.mismatch")
    done = store.apply_change("phone", "UIN", "100000104", "010000104", "+855 10 000 444", "officer:1")
    assert done.applied and done.reason_code is None and done.applied_at is not None
    assert done.applied_at.utcoffset().total_seconds() == 7 * 3600
    assert done.household_id == "HH-03-00000104" and done.person_spid
    member = _member(store, "UIN", "100000104")
    assert member["demographic_info"]["phone_number"] == ["+85510000444"]
    assert store.search_identifier("MOBILE", "+85510000104", "Member", 1, 10, [])[1] == 0
    assert _group(store, "100000104")["last_updated"] >= before


def test_unknown_targets_and_change_types(store: Store) -> None:
    missing = store.apply_change("phone", "UIN", "123456789", None, "+85512345678", "citizen")
    assert (missing.applied, missing.reason_code) == (False, "rjct.person_id.invalid")
    shared = store.apply_change("phone", "MOBILE", "+85512000108", None, "+85512345678", "citizen")
    assert shared.reason_code == "rjct.person_id.invalid"  # a shared phone does not name one person
    kind = store.apply_change("favourite_colour", "UIN", "100000101", None, "blue", "citizen")
    assert (kind.applied, kind.reason_code) == (False, "rjct.change_type.invalid")
    bad = store.apply_change("birth_date", "UIN", "100000101", None, "not a date", "citizen")
    assert (bad.applied, bad.reason_code) == (False, "rjct.new_value.invalid")


def test_name_birth_date_and_address(store: Store) -> None:
    assert not store.apply_change("name", "UIN", "100000105", {"surname": "សុខ"}, {"given_name": "ចិន្តាថ្មី"},
                                  "x").applied
    assert store.apply_change("name", "UIN", "100000105", {"surname": "ម៉ៅ", "given_name": "ចិន្តា"},
                              {"given_name": "ចិន្ដា", "given_name_latin": "Chinda"}, "x").applied
    member = _member(store, "UIN", "100000105")
    assert member["demographic_info"]["name"] == {"surname": "ម៉ៅ", "given_name": "ចិន្ដា"}
    assert store.apply_change("birth_date", "UIN", "100000105", "1979-11-06", "1979-11-15", "x").reason_code \
        == "rjct.old_value.mismatch"
    assert store.apply_change("birth_date", "UIN", "100000105", "1979-11-05", "1979-11-15", "x").applied
    assert _member(store, "UIN", "100000105")["demographic_info"]["birth_date"] == "1979-11-15T00:00:00+07:00"
    moved = store.apply_change("address", "HOUSEHOLD_ID", "HH-14-00000105", {"province_code": "14"},
                               {"village_code": "12010102", "line": "ផ្ទះលេខ ៥"}, "x")
    assert moved.applied and moved.person_spid is None
    address = _group(store, "100000105")["place"]["address"]
    codes = (address["region_code"], address["sub_region_code"], address["locality"])
    assert codes == ("12", "120101", "12010102")
    assert address["address_line1"] == "ផ្ទះលេខ ៥"
    attributes = {a["name"]: a["value"] for a in _group(store, "100000105")["additional_attributes"]}
    assert attributes["location"] == "central_region"


def test_member_birth_death_and_moving_out(store: Store) -> None:
    born = store.apply_change("member_birth", "UIN", "100000101", None,
                              {"surname": "សៅ", "given_name": "ទារក", "sex": "female",
                               "birth_date": "2026-11-20"}, "officer:2")
    assert born.applied and born.household_id == "HH-05-00000101"
    assert born.person_spid and is_valid(born.person_spid[2:])
    group = _group(store, "100000101")
    assert group["group_size"] == 4 == len(group["member_list"])
    baby = _member(store, "SPID", born.person_spid)
    assert baby["relationship_head"] == "CHILD"
    assert baby["demographic_info"]["household_identifier"] == "HH-05-00000101"

    died = store.apply_change("member_death", "UIN", "100000102", None, "2026-11-01", "officer:2")
    assert died.applied
    member = _member(store, "UIN", "100000102")
    assert member["demographic_info"]["is_deceased"] is True
    assert member["demographic_info"]["death_date"] == "2026-11-01T00:00:00+07:00"
    assert store.is_enrolled("UIN", "100000102", "elderly") is False
    assert {e["enrolment_status"] for e in store.enrolments("UIN", "100000102")} == {"Deceased"}
    assert _group(store, "100000102")["group_size"] == 1
    assert store.apply_change("member_death", "UIN", "100000102", None, "2026-11-02", "x").reason_code \
        == "rjct.old_value.mismatch"

    out = store.apply_change("member_moved_out", "UIN", "100000108", None, None, "officer:2")
    assert out.applied and out.household_id == "HH-12-00000108"
    household, _ = store.search_identifier("HOUSEHOLD_ID", "HH-12-00000108", "Member", 1, 10, [])
    assert "100000108" not in {i["identifier_value"] for m in household for i in m["member_identifier"]}
    assert store.search_identifier("UIN", "100000108", "Group", 1, 10, []) == ([], 0)
    assert store.search_identifier("UIN", "100000108", "Member", 1, 10, [])[1] == 1


def test_malformed_address_codes_are_refused(store: Store) -> None:
    refused = store.apply_change("address", "UIN", "100000101", None, {"village_code": "12-01"}, "x")
    assert (refused.applied, refused.reason_code) == (False, "rjct.new_value.invalid")
    assert _group(store, "100000101")["place"]["address"]["region_code"] == "05"
