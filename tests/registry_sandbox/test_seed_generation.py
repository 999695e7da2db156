"""The synthetic generator: determinism, reserved identifiers, shapes, amounts, `--if-needed`."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from chumnuoy.damm import is_valid
from chumnuoy.db import make_engine
from registry_sandbox.models import Enrolment, Household, Payment, Person, Seeding
from registry_sandbox.seed import seed_database
from registry_sandbox.spid import MOBILE_PREFIXES, SPID_GENERATED_BASE, is_reserved_phone, is_reserved_uin
from registry_sandbox.store import Store


def _people(url: str) -> list[tuple]:
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(select(
            Person.spid, Person.uin, Person.phone, Person.surname_km, Person.given_name_km,
            Person.surname_latin, Person.birth_date, Person.sex,
        ).order_by(Person.id)).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def _generated(rows: list[tuple]) -> list[tuple]:
    return [row for row in rows if int(row[0][2:11]) >= SPID_GENERATED_BASE]


def test_same_seed_same_people_other_seed_other_people(new_database) -> None:
    first, second, other = new_database("a"), new_database("b"), new_database("c")
    seed_database(first, persons=200, random_seed=5, if_needed=False)
    seed_database(second, persons=200, random_seed=5, if_needed=False)
    seed_database(other, persons=200, random_seed=6, if_needed=False)
    a, b, c = _generated(_people(first)), _generated(_people(second)), _generated(_people(other))
    assert len(a) == 200 and a == b
    assert {row[0] for row in a}.isdisjoint({row[0] for row in c}) or a != c
    assert [row[0] for row in a] != [row[0] for row in c]
    assert [(row[3], row[4]) for row in a] != [(row[3], row[4]) for row in c]


def test_reserved_identifiers_never_generated_and_spids_valid(new_database) -> None:
    url = new_database("reserved")
    seed_database(url, persons=3000, random_seed=20261125, if_needed=False)
    rows = _people(url)
    generated = _generated(rows)
    assert len(generated) == 3000
    spids = [row[0] for row in rows]
    assert len(set(spids)) == len(spids)
    assert all(s.startswith("KH") and len(s) == 12 and is_valid(s[2:]) for s in spids)
    uins = [row[1] for row in rows if row[1]]
    assert len(set(uins)) == len(uins)
    for _spid, uin, phone, *_ in generated:
        assert uin is None or (len(uin) == 9 and uin.isdigit() and not is_reserved_uin(uin))
        assert phone is None or (not is_reserved_phone(phone) and phone[4:6] in MOBILE_PREFIXES
                                 and len(phone) == 12)
    assert not any(row[2] == "+85512000199" for row in rows)
    persona_phones = {row[2] for row in rows if row[2] and is_reserved_phone(row[2])}
    assert {"+85512000101", "+85597000103", "+85510000104", "+85512000108"} <= persona_phones


def test_households_are_realistic(new_database) -> None:
    url = new_database("shape")
    seed_database(url, persons=2000, random_seed=3, if_needed=False)
    engine = make_engine(url)
    with engine.connect() as connection:
        sizes = dict(connection.execute(select(Household.id, Household.group_size)).all())
        members = Counter(row[0] for row in connection.execute(select(Person.household_pk)).all())
        heads = Counter(row[0] for row in connection.execute(
            select(Person.household_pk).where(Person.relationship_head == "SELF")).all())
        levels = Counter(row[0] for row in connection.execute(select(Household.idpoor_level)).all())
        scores = connection.execute(select(Household.idpoor_level, Household.poverty_score)).all()
        sexes = Counter(row[0] for row in connection.execute(select(Person.sex)).all())
        flags = connection.execute(select(
            func.sum(func.cast(Person.is_pregnant, type_=Person.school_grade.type)),
            func.count(Person.disability_severity), func.count(Person.school_grade),
            func.count(Person.nssf_number),
        )).one()
        amounts = connection.execute(select(Enrolment.programme, Enrolment.amount_riel).distinct()).all()
        statuses = Counter(row[0] for row in connection.execute(select(Payment.status)).all())
    engine.dispose()
    assert all(sizes[pk] == count for pk, count in members.items())
    assert set(sizes.values()) <= set(range(1, 9)) and max(sizes.values()) == 8
    assert all(heads[pk] == 1 for pk in sizes)  # exactly one head per household
    assert levels[1] > 0 and levels[2] > 0 and levels[None] > levels[1]
    for level, score in scores:
        assert 0 <= score <= 100
        if level is None:
            assert score >= 45 or score < 5  # fixtures aside, non-poor households score high
    assert sexes["male"] > 0 and sexes["female"] > 0
    assert all(value > 0 for value in flags)
    by_programme: dict[str, set] = {}
    for programme, amount in amounts:
        by_programme.setdefault(programme, set()).add(amount)
    assert by_programme["scholarship"] <= {20_000, 30_000}
    assert by_programme["pregnant_child_cash"] <= {80_000}
    assert by_programme["health_equity_fund"] == {None}
    assert by_programme.get("hiv", {28_000}) == {28_000}
    assert statuses["paid"] > statuses["pending"] > 0


def test_if_needed_is_a_no_op_for_the_same_seeding(new_database) -> None:
    url = new_database("ifneeded")
    first = seed_database(url, persons=100, random_seed=9, if_needed=True)
    assert "seeded" in first and "already" not in first
    store = Store(make_engine(url))
    store.apply_change("phone", "UIN", "100000104", "+85510000104", "+85510000777", "test")
    again = seed_database(url, persons=100, random_seed=9, if_needed=True)
    assert "already seeded" in again
    assert store.search_identifier("MOBILE", "+85510000777", "Member", 1, 10, [])[1] == 1  # untouched
    reseeded = seed_database(url, persons=120, random_seed=9, if_needed=True)
    assert "already" not in reseeded
    assert store.search_identifier("MOBILE", "+85510000104", "Member", 1, 10, [])[1] == 1
    baby = {"surname": "សៅ", "given_name": "ថ្មី", "sex": "male", "birth_date": "2026-11-01"}
    born = store.apply_change("member_birth", "UIN", "100000101", None, baby, "t")  # keys go on after re-seed
    assert born.applied
    with store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Seeding)).scalar_one() == 2
    store.engine.dispose()


def test_family_package_amounts_are_configurable(new_database, monkeypatch) -> None:
    monkeypatch.setenv("CHUMNUOY_FP_ELDERLY_RIEL", "55000")
    monkeypatch.setenv("CHUMNUOY_FP_DISABILITY_RIEL", "33000")
    url = new_database("amounts")
    seed_database(url, persons=50, random_seed=1, if_needed=False)
    store = Store(make_engine(url))
    assert {p["amount"] for p in store.payments("UIN", "100000102", "elderly")} == {55_000}
    assert {p["amount"] for p in store.payments("UIN", "100000105", "disability")} == {33_000}
    store.engine.dispose()
