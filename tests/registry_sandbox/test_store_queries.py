"""Store searches: identifiers, conditions (and/or/not, in, coercion, errors), pagination and sort."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from chumnuoy.db import make_engine
from registry_sandbox import query as q
from registry_sandbox.models import Household, Person, registry_today
from registry_sandbox.seed import seed_database
from registry_sandbox.store import Store, normalise_mobile


@pytest.fixture(scope="module")
def seeded(new_session_database):
    url = new_session_database("queries")
    seed_database(url, persons=600, random_seed=42, if_needed=False)
    engine = make_engine(url)
    with engine.connect() as connection:
        people = [dict(row) for row in connection.execute(
            select(Person.spid, Person.birth_date, Person.sex, Person.household_pk, Person.is_pregnant,
                   Person.disability_severity)).mappings()]
        households = {row.id: dict(row._mapping) for row in connection.execute(select(Household))}
    yield Store(engine), people, households
    engine.dispose()


def _age(born: date) -> int:
    today = registry_today()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _spids(records: list[dict]) -> set[str]:
    return {r["member_identifier"][0]["identifier_value"] for r in records}


def _household_ids(records: list[dict]) -> set[str]:
    return {r["group_identifier"][0]["identifier_value"] for r in records}


def _all(store: Store, condition: q.Condition, entity: str) -> list[dict]:
    records, total = store.search_condition(condition, entity, 1, 5000, [])  # type: ignore[arg-type]
    assert total == len(records)
    return records


@pytest.mark.parametrize("value", ["+85512000108", "012000108", "85512000108", "+855 12 000 108",
                                   "012-000-108", "០១២០០០១០៨", "0085512000108"])
def test_mobile_forms_are_normalised(seeded, value: str) -> None:
    store, _, _ = seeded
    assert normalise_mobile(value) == "+85512000108"
    assert store.search_identifier("MOBILE", value, "Member", 1, 10, [])[1] == 2


def test_unknown_identifier_type_is_rejected(seeded) -> None:
    store, _, _ = seeded
    with pytest.raises(q.QueryError) as error:
        store.search_identifier("PASSPORT", "X1", "Member", 1, 10, [])
    assert error.value.reason_code == "rjct.search_criteria.invalid"


def test_household_identifiers(seeded) -> None:
    store, _, _ = seeded
    members, total = store.search_identifier("HOUSEHOLD_ID", "HH-17-00000103", "Member", 1, 10, [])
    assert total == 4
    assert {m["demographic_info"]["household_identifier"] for m in members} == {"HH-17-00000103"}
    groups, total = store.search_identifier("IDPOOR", "IDP-0000000103", "Group", 1, 10, [])
    assert total == 1 and _household_ids(groups) == {"HH-17-00000103"}
    spid = groups[0]["member_list"][0]["member_identifier"][0]["identifier_value"]
    assert store.search_identifier("SPID", spid.lower(), "Member", 1, 10, [])[1] == 1
    assert store.search_identifier("UIN", "999999999", "Group", 1, 10, []) == ([], 0)


def test_age_conditions_match_computed_ages(seeded) -> None:
    store, people, _ = seeded
    for operator, value, check in (
        ("lt", "25", lambda a: a < 25), ("ge", 60, lambda a: a >= 60), ("eq", 40, lambda a: a == 40),
        ("le", 17.5, lambda a: a <= 17.5), ("gt", "64.2", lambda a: a > 64.2), ("ne", 30, lambda a: a != 30),
    ):
        expected = {p["spid"] for p in people if p["birth_date"] and check(_age(p["birth_date"]))}
        found = _spids(_all(store, q.Compare("age", operator, value), "Member"))  # type: ignore[arg-type]
        assert found == expected, (operator, value)
        records = _all(store, q.Compare("age", operator, value), "Member")  # type: ignore[arg-type]
        ages = [a["value"] for r in records for a in r["additional_attributes"] if a["name"] == "age"]
        assert all(isinstance(age, int) and check(age) for age in ages)


def test_and_or_not_in_and_coercion(seeded) -> None:
    store, people, households = seeded
    condition = q.And((
        q.Compare("sex", "eq", "female"),
        q.Or((q.Compare("idpoor_level", "eq", "1"), q.Compare("province_code", "in", ["12", "08"]))),
        q.Not(q.Compare("is_pregnant", "eq", "true")),
    ))
    expected = {
        p["spid"] for p in people
        if p["sex"] == "female" and not p["is_pregnant"] and p["household_pk"] is not None
        and (households[p["household_pk"]]["idpoor_level"] == 1
             or households[p["household_pk"]]["province_code"] in ("12", "08"))
    }
    assert _spids(_all(store, condition, "Member")) == expected and expected
    disabled = {p["spid"] for p in people if p["disability_severity"]}
    assert _spids(_all(store, q.Compare("is_disabled", "eq", True), "Member")) == disabled
    # Group entity with a person attribute: households with at least one member matching.
    groups = _all(store, q.Compare("is_disabled", "eq", "1"), "Group")
    with_disabled = {households[p["household_pk"]]["household_id"]
                     for p in people if p["disability_severity"]}
    assert _household_ids(groups) == with_disabled
    score = _all(store, q.Compare("poverty_score", "le", "30.5"), "Group")
    assert _household_ids(score) == {h["household_id"] for h in households.values()
                                     if h["poverty_score"] <= 30.5}
    sizes = _all(store, q.Compare("group_size", "in", "1,2"), "Group")
    assert _household_ids(sizes) == {h["household_id"] for h in households.values()
                                     if h["group_size"] in (1, 2)}
    born = _all(store, q.Compare("birth_date", "ge", "2020-01-01T00:00:00+07:00"), "Member")
    assert _spids(born) == {p["spid"] for p in people if p["birth_date"] >= date(2020, 1, 1)}


@pytest.mark.parametrize("condition", [
    q.Compare("income", "lt", 5), q.Compare("age", "lt", "young"), q.Compare("poverty_score", "in", []),
    q.Compare("is_pregnant", "gt", True), q.Compare("birth_date", "eq", "not a date"),
    q.And((q.Compare("sex", "eq", "male"), q.Compare("name", "eq", "x"))),
])
def test_bad_conditions_are_rejected(seeded, condition) -> None:
    store, _, _ = seeded
    with pytest.raises(q.QueryError) as error:
        store.search_condition(condition, "Group", 1, 10, [])
    assert error.value.reason_code == "rjct.search_criteria.invalid"


def test_unknown_sort_attribute(seeded) -> None:
    store, _, _ = seeded
    with pytest.raises(q.QueryError) as error:
        store.search_condition(q.Compare("sex", "eq", "male"), "Member", 1, 10, [q.Sort("salary")])
    assert error.value.reason_code == "rjct.sort.invalid"


def test_pagination_and_sort(seeded) -> None:
    store, _, households = seeded
    condition = q.Compare("poverty_score", "lt", 60)
    expected_total = sum(1 for h in households.values() if h["poverty_score"] < 60)
    sort = [q.Sort("poverty_score", descending=True)]
    first, total = store.search_condition(condition, "Group", 1, 7, sort)
    second, total2 = store.search_condition(condition, "Group", 2, 7, sort)
    assert total == total2 == expected_total > 14
    assert len(first) == len(second) == 7 and not _household_ids(first) & _household_ids(second)
    scores = [g["poverty_score"] for g in first + second]
    assert scores == sorted(scores, reverse=True)
    last_page = (expected_total - 1) // 7 + 1
    tail, _ = store.search_condition(condition, "Group", last_page, 7, sort)
    assert len(tail) == expected_total - 7 * (last_page - 1)
    assert store.search_condition(condition, "Group", last_page + 1, 7, sort) == ([], expected_total)
    oldest, _ = store.search_condition(q.Compare("sex", "eq", "male"), "Member", 1, 5, [q.Sort("age", True)])
    ages = [next(a["value"] for a in m["additional_attributes"] if a["name"] == "age") for m in oldest]
    assert ages == sorted(ages, reverse=True)
    by_head_age, _ = store.search_condition(condition, "Group", 1, 5, [q.Sort("age")])
    assert len(by_head_age) == 5


def test_enrolments_and_payments_filters(seeded) -> None:
    store, _, _ = seeded
    assert store.enrolments("UIN", "000000000") is None
    assert store.payments("SPID", "KH0000000000") is None
    assert store.is_enrolled("UIN", "000000000", None) is None
    everything = store.payments("UIN", "100000103")
    assert {p["programme_identifier"] for p in everything} == {"pregnant_child_cash"}
    recent = store.payments("UIN", "100000103", since=date(2025, 10, 1))
    assert recent and all(p["due_date"] >= "2025-10-01" for p in recent) and len(recent) < len(everything)
    assert store.payments("UIN", "100000103", "elderly") == []
    with pytest.raises(q.QueryError):
        store.enrolments("NICKNAME", "x")


def test_missing_values_use_two_valued_logic(seeded) -> None:
    store, _, households = seeded
    not_level_one = {h["household_id"] for h in households.values() if h["idpoor_level"] != 1}
    assert any(h["idpoor_level"] is None for h in households.values())
    ne = _all(store, q.Compare("idpoor_level", "ne", 1), "Group")
    negated = _all(store, q.Not(q.Compare("idpoor_level", "eq", "1")), "Group")
    assert _household_ids(ne) == _household_ids(negated) == not_level_one
    no_card = _all(store, q.Compare("idpoor_level", "eq", None), "Group")
    without = {h["household_id"] for h in households.values() if h["idpoor_level"] is None}
    assert _household_ids(no_card) == without
