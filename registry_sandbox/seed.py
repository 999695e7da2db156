"""Seeding the sandbox: personas, compliance fixtures and N synthetic persons, deterministic from a seed.

Scale: rows are precomputed dicts with explicit keys, inserted with Core executemany in chunks;
secondary indexes are dropped before the load and rebuilt after; SQLite runs with
`synchronous=OFF` and a large cache during the load. 1,000,000 persons fit the 10-minute target
(figures from `chumnuoy bench registry` in the README).

Generated households: size 1–8 (mean ≈ 4.2), a head, usually a spouse, sometimes a parent of the
head, and children; IDPoor level 1 (12%), 2 (13%) or none, 85% of cards valid (to 2027–2029), the
rest expired; `poverty_score` 0–30 (level 1), 30–45 (level 2), 45–100 (no card), lower = poorer.
Members carry sex, birth date, pregnancy, disability (severity and card), school grade, NSSF
membership and HIV support. Households with a valid card have HEF for every member and the Family
Package components their members qualify for, each with dated payments (the last three monthly
payments; per-visit payments for pregnancies and births under two).
"""

from __future__ import annotations

import bisect
import itertools
import random
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, Engine, func, insert, select, text

from chumnuoy.db import make_engine
from registry_sandbox.gazetteer import SYNTHETIC_VERSION, ensure_gazetteer, load_units
from registry_sandbox.models import (
    DATA_TABLES,
    Enrolment,
    GazetteerUnit,
    Household,
    Payment,
    Person,
    Seeding,
    create_schema,
    registry_now,
)
from registry_sandbox.names import FEMALE_GIVEN, MALE_GIVEN, SURNAMES
from registry_sandbox.personas import seed_compliance_fixtures, seed_personas
from registry_sandbox.programmes import (
    ANTENATAL_RIEL,
    DELIVERY_RIEL,
    HIV_RIEL,
    POSTNATAL_RIEL,
    POSTNATAL_SCHEDULE,
    fp_disability_riel,
    fp_elderly_riel,
    scholarship_riel,
)
from registry_sandbox.rows import RowBuilder
from registry_sandbox.spid import IdentifierFactory, household_id, idpoor_number

SEED_VERSION = "chumnuoy-seed-1"
CHUNK_PERSONS = 50_000
GENERATED_HOUSEHOLD_BASE = 1_000  # household and IDPoor numbers below this are personas/fixtures
# Generated birth, card and payment dates are laid out around this fixed day (the day of the personas'
# situation in SPEC §8), so that a seed gives the same data whatever day it runs; ages are always
# computed on the registry's real today.
REFERENCE_DATE = date(2026, 11, 25)

_SIZE_WEIGHTS = (6, 12, 18, 22, 18, 12, 7, 5)  # household sizes 1..8
# Rough relative populations of the 25 provinces (codes 01–25).
_PROVINCE_WEIGHTS = (9, 11, 9, 5, 9, 7, 6, 12, 1, 4, 1, 23, 3, 11, 4, 2, 10, 3, 2, 5, 9, 3, 1, 1, 8)


def seed_database(database_url: str, *, persons: int, random_seed: int, if_needed: bool) -> str:
    """Seed (or re-seed) the sandbox database; returns a one-line report."""
    started = time.perf_counter()
    engine = make_engine(database_url)
    try:
        create_schema(engine)
        if if_needed:
            with engine.connect() as connection:
                latest = connection.execute(
                    select(Seeding.random_seed, Seeding.persons, Seeding.version)
                    .order_by(Seeding.id.desc()).limit(1)
                ).first()
            if latest is not None and tuple(latest) == (random_seed, persons, SEED_VERSION):
                return (f"registry already seeded (seed {random_seed}, {persons} synthetic persons); "
                        "nothing to do")
        counts = _seed(engine, persons=persons, random_seed=random_seed)
        seconds = time.perf_counter() - started
        with engine.begin() as connection:
            connection.execute(insert(Seeding), [{
                "random_seed": random_seed, "persons": persons, "version": SEED_VERSION,
                "seeded_at": registry_now(), "seconds": round(seconds, 2),
            }])
    finally:
        engine.dispose()
    total = counts["persons"]
    return (f"registry seeded (seed {random_seed}): {counts['households']} households, {total} persons "
            f"({persons} synthetic + personas and fixtures), {counts['enrolments']} enrolments, "
            f"{counts['payments']} payments in {seconds:.1f} s ({total / max(seconds, 1e-9):,.0f} persons/s)")


def _seed(engine: Engine, *, persons: int, random_seed: int) -> dict[str, int]:
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as connection:
        if sqlite:
            connection.exec_driver_sql("PRAGMA synchronous=OFF")
            connection.exec_driver_sql("PRAGMA cache_size=-400000")
            connection.exec_driver_sql("PRAGMA temp_store=MEMORY")
        # Re-seeding drops and recreates the data tables: far faster than DELETE, whose per-row
        # foreign-key checks are quadratic at a million rows. No other table references them.
        for table in reversed(DATA_TABLES):
            table.drop(connection, checkfirst=True)
        for table in DATA_TABLES:
            table.create(connection)
        ensure_gazetteer(connection)
        units = load_units(connection)
        for table in DATA_TABLES:
            for index in table.indexes:
                index.drop(connection, checkfirst=True)
        version = _gazetteer_version(connection)
        builder = RowBuilder(units, version)
        seed_personas(builder)
        seed_compliance_fixtures(builder)
        builder.flush(connection)
        generator = SyntheticGenerator(builder, random_seed)
        for _ in generator.generate(persons):
            builder.flush(connection)
        builder.flush(connection)
        for table in DATA_TABLES:
            for index in table.indexes:
                index.create(connection)
        if engine.dialect.name == "postgresql":
            for table in DATA_TABLES:
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608 (our table names)
                    f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}), false)"
                ))
            connection.exec_driver_sql("ANALYZE")
        try:
            from registry_sandbox.api.fixtures import seed_fixtures  # type: ignore[import-not-found]
        except ImportError:
            seed_fixtures = None
        if seed_fixtures is not None:
            seed_fixtures(connection)
    if sqlite:
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return builder.counts


def _gazetteer_version(connection: Connection) -> str:
    version = connection.execute(
        select(GazetteerUnit.version).where(GazetteerUnit.level == "village").limit(1)
    ).scalar()
    return version or SYNTHETIC_VERSION


def _add_months(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    return date(month_index // 12, month_index % 12 + 1, min(day.day, 28))


def _monthly_dates(today: date, day_of_month: int, count: int) -> list[date]:
    """The last `count` monthly due dates on `day_of_month` not after today, oldest first."""
    current = date(today.year, today.month, day_of_month)
    if current > today:
        current = _add_months(current, -1)
    return [_add_months(current, -offset) for offset in range(count - 1, -1, -1)]


class SyntheticGenerator:
    """Households and members, deterministic from the seed (one `random.Random`)."""

    def __init__(self, builder: RowBuilder, random_seed: int) -> None:
        self.builder = builder
        self.rng = random.Random(random_seed)
        self.ids = IdentifierFactory(random_seed)
        self.today = REFERENCE_DATE
        self.today_ordinal = self.today.toordinal()
        villages: dict[str, list[str]] = {}
        for code, unit in builder.units.items():
            if unit["level"] == "village":
                villages.setdefault(code[:2], []).append(code)
        for codes in villages.values():
            codes.sort()
        self.villages = villages
        provinces = [f"{n:02d}" for n in range(1, 26)]
        weights = [w for p, w in zip(provinces, _PROVINCE_WEIGHTS, strict=True) if p in villages]
        self.provinces = [p for p in provinces if p in villages] or ["12"]
        if not weights:
            weights = [1]
        self.province_cum = list(itertools.accumulate(weights))
        self.size_cum = list(itertools.accumulate(_SIZE_WEIGHTS))
        self.elderly_riel = fp_elderly_riel()
        self.disability_riel = fp_disability_riel()
        self.monthly_10 = _monthly_dates(self.today, 10, 3)
        self.monthly_28 = _monthly_dates(self.today, 28, 3)
        self.household_number = GENERATED_HOUSEHOLD_BASE
        self.reg_start = date(2019, 1, 1).toordinal()
        self.reg_end = (self.today - timedelta(days=20)).toordinal()
        self.card_number = 0

    # -- helpers -----------------------------------------------------------------------------
    def _birth(self, age: int) -> date:
        return date.fromordinal(self.today_ordinal - age * 365 - self.rng.randrange(365) - age // 4)

    def _age(self, born: date) -> int:
        t = self.today
        return t.year - born.year - ((t.month, t.day) < (born.month, born.day))

    def generate(self, persons: int) -> Iterator[None]:
        """Add households until `persons` members exist; yields after each chunk of rows."""
        made = 0
        pending = 0
        while made < persons:
            size = bisect.bisect_right(self.size_cum, self.rng.random() * self.size_cum[-1]) + 1
            size = min(size, persons - made)
            self._household(size)
            made += size
            pending += size
            if pending >= CHUNK_PERSONS:
                pending = 0
                yield

    # -- one household -----------------------------------------------------------------------
    def _household(self, size: int) -> None:
        rng = self.rng
        b = self.builder
        cum = self.province_cum
        province = self.provinces[bisect.bisect_right(cum, rng.random() * cum[-1])]
        villages = self.villages.get(province)
        village = villages[rng.randrange(len(villages))] if villages else None
        r = rng.random()
        level = 1 if r < 0.12 else 2 if r < 0.25 else None
        valid_until: date | None = None
        if level is not None:
            if rng.random() < 0.85:
                valid_until = date(rng.randint(2027, 2029), rng.randint(1, 12), 28)
            else:
                valid_until = date.fromordinal(self.today_ordinal - rng.randint(30, 900))
            score = round(rng.uniform(0.5, 30.0), 1) if level == 1 else round(rng.uniform(30.0, 45.0), 1)
        else:
            score = round(rng.uniform(45.0, 100.0), 1)
        card_valid = valid_until is not None and valid_until >= self.today
        registered_day = date.fromordinal(rng.randint(self.reg_start, self.reg_end))
        registered = datetime(registered_day.year, registered_day.month, registered_day.day,
                              rng.randint(7, 17), rng.randrange(60))
        number = self.household_number
        self.household_number += 1
        hh = b.household(
            household_id=household_id(province, number), province_code=province, village_code=village,
            idpoor_number=idpoor_number(number) if level is not None else None, idpoor_level=level,
            valid_until=valid_until, poverty_score=score, group_size=size, registered=registered,
            house_number=rng.randint(1, 400),
        )
        point = b.collection_point(village)

        # Composition: head, spouse?, parent?, children.
        members: list[tuple[str, str, int]] = []  # (relationship, sex, age)
        head_age = rng.randint(20, 80) if size > 1 else rng.randint(20, 90)
        head_sex = "male" if rng.random() < 0.78 else "female"
        members.append(("SELF", head_sex, head_age))
        has_spouse = size >= 2 and rng.random() < 0.85
        if has_spouse:
            spouse_age = max(18, head_age + rng.randint(-3, 6) * (-1 if head_sex == "male" else 1))
            members.append(("SPS", "female" if head_sex == "male" else "male", spouse_age))
        if len(members) < size and size >= 4 and head_age < 60 and rng.random() < 0.3:
            members.append(("PARENT", "female" if rng.random() < 0.65 else "male",
                            min(95, head_age + rng.randint(20, 32))))
        mother_age = head_age if head_sex == "female" else (members[1][2] if has_spouse else head_age - 3)
        max_child = max(0, min(mother_age - 17, 30))
        while len(members) < size:
            members.append(("CHILD", "male" if rng.random() < 0.51 else "female", rng.randint(0, max_child)))

        head_surname = SURNAMES[rng.randrange(len(SURNAMES))]
        # Children take their father's family name; a female head's husband keeps his own.
        father_surname = head_surname if head_sex == "male" else SURNAMES[rng.randrange(len(SURNAMES))]
        mother_pk: int | None = None
        under_two: list[date] = []
        shared_phone: str | None = None
        for relationship, sex, age in members:
            if relationship == "SELF":
                surname = head_surname
            elif relationship == "CHILD" or (relationship == "SPS" and sex == "male"):
                surname = father_surname
            else:
                surname = SURNAMES[rng.randrange(len(SURNAMES))]  # women keep their maiden names
            given = (MALE_GIVEN if sex == "male" else FEMALE_GIVEN)[
                rng.randrange(len(MALE_GIVEN) if sex == "male" else len(FEMALE_GIVEN))]
            born = self._birth(age)
            age = self._age(born)
            adult = age >= 18
            if relationship in ("SELF", "SPS") and has_spouse:
                marital = "M"
            elif relationship == "PARENT":
                marital = "W"
            elif relationship == "SELF":
                marital = "W" if age >= 50 else rng.choice("SDW")
            else:
                marital = "S"
            pregnant = (sex == "female" and marital == "M" and 18 <= age <= 42 and rng.random() < 0.07)
            disability: str | None = None
            card: str | None = None
            if rng.random() < (0.02 if age < 60 else 0.08):
                disability = ("mild", "mild", "medium", "medium", "severe")[rng.randrange(5)]
                self.card_number += 1
                card = f"DC-{1_000_000 + self.card_number:08d}"
            grade = age - 5 if 6 <= age <= 17 and rng.random() < 0.85 else None
            nssf = adult and age < 60 and rng.random() < (0.06 if level else 0.14)
            hiv = adult and level is not None and rng.random() < 0.005
            uin = self.ids.uin() if age >= 15 and rng.random() < 0.93 else None
            phone: str | None = None
            if age >= 16 and rng.random() < 0.8:
                if relationship == "SPS" and shared_phone is not None and rng.random() < 0.1:
                    phone = shared_phone
                else:
                    phone = self.ids.phone()
                    if relationship == "SELF":
                        shared_phone = phone
            spid = self.ids.spid()
            pk = b.person(
                household_pk=hh, spid=spid, uin=uin, relationship=relationship, surname_km=surname[0],
                given_km=given[0], surname_latin=surname[1], given_latin=given[1], sex=sex,
                birth_date=born, phone=phone, marital_status=marital, registered=registered,
                is_pregnant=pregnant, disability=disability, disability_card=card, school_grade=grade,
                nssf_number=f"{self.ids_nssf():010d}" if nssf else None, hiv_support=hiv,
            )
            if relationship in ("SELF", "SPS") and sex == "female":
                mother_pk = pk
            if relationship == "CHILD" and age < 2:
                under_two.append(born)
            if nssf:
                b.enrolment(person_pk=pk, programme="nssf", enrolment_date=registered_day,
                            benefit_type="health_care")
            if level is None:
                continue
            if not card_valid:
                b.enrolment(person_pk=pk, programme="health_equity_fund", enrolment_date=registered_day,
                            status="Suspended", status_change_date=valid_until, benefit_type="health_care")
                continue
            b.enrolment(person_pk=pk, programme="health_equity_fund", enrolment_date=registered_day,
                        benefit_type="health_care")
            if pregnant:
                self._pregnancy(pk, point)
            if grade is not None:
                self._monthly(pk, "scholarship", scholarship_riel(grade), self.monthly_28, point)
            if age >= 60:
                self._monthly(pk, "elderly", self.elderly_riel, self.monthly_10, point)
            if disability is not None:
                self._monthly(pk, "disability", self.disability_riel, self.monthly_10, point)
            if hiv:
                self._monthly(pk, "hiv", HIV_RIEL, self.monthly_10, point)
        if card_valid and mother_pk is not None and under_two:
            self._births(mother_pk, max(under_two), point)

    _nssf_counter = 1_000_000

    def ids_nssf(self) -> int:
        self._nssf_counter += 1
        return self._nssf_counter

    # -- benefits ----------------------------------------------------------------------------
    def _status(self, latest: bool) -> str:
        r = self.rng.random()
        if latest:
            return "paid" if r < 0.85 else "pending" if r < 0.9 else "failed" if r < 0.95 else "unclaimed"
        return "paid" if r < 0.95 else "unclaimed"

    def _monthly(self, pk: int, programme: str, amount: int, dues: list[date], point: str | None) -> None:
        b = self.builder
        enrolment = b.enrolment(person_pk=pk, programme=programme, enrolment_date=_add_months(dues[0], -1),
                                benefit_type="cash", amount=amount, frequency="monthly",
                                collection_point=point)
        for index, due in enumerate(dues):
            status = self._status(index == len(dues) - 1)
            b.payment(enrolment_pk=enrolment, person_pk=pk, programme=programme, amount=amount,
                      status=status, due_date=due, paid_date=due if status == "paid" else None,
                      component="monthly", collection_point=point)

    def _pregnancy(self, pk: int, point: str | None) -> None:
        b = self.builder
        visits = self.rng.randint(0, 3)
        first = date.fromordinal(self.today_ordinal - 35 * visits - self.rng.randint(5, 30))
        enrolment = b.enrolment(person_pk=pk, programme="pregnant_child_cash", enrolment_date=first,
                                benefit_type="cash", amount=ANTENATAL_RIEL, frequency="per_visit",
                                collection_point=point)
        for visit in range(visits + 1):
            due = first + timedelta(days=35 * visit)
            status = "pending" if visit == visits else self._status(False)
            b.payment(enrolment_pk=enrolment, person_pk=pk, programme="pregnant_child_cash",
                      amount=ANTENATAL_RIEL, status=status, due_date=due,
                      paid_date=due if status == "paid" else None, component=f"antenatal_{visit + 1}",
                      collection_point=point)

    def _births(self, mother_pk: int, born: date, point: str | None) -> None:
        b = self.builder
        enrolment = b.enrolment(person_pk=mother_pk, programme="pregnant_child_cash",
                                enrolment_date=born - timedelta(days=200), benefit_type="cash",
                                amount=POSTNATAL_RIEL, frequency="per_visit", collection_point=point)
        delivery_due = born + timedelta(days=10)
        if delivery_due <= self.today:
            status = self._status(False)
            b.payment(enrolment_pk=enrolment, person_pk=mother_pk, programme="pregnant_child_cash",
                      amount=DELIVERY_RIEL, status=status, due_date=delivery_due,
                      paid_date=delivery_due if status == "paid" else None, component="delivery",
                      collection_point=point)
        for component, days in POSTNATAL_SCHEDULE:
            due = born + timedelta(days=days + self.rng.randrange(10))
            if due > self.today:
                break
            status = self._status(False)
            b.payment(enrolment_pk=enrolment, person_pk=mother_pk, programme="pregnant_child_cash",
                      amount=POSTNATAL_RIEL, status=status, due_date=due,
                      paid_date=due if status == "paid" else None, component=component,
                      collection_point=point)


def seeded_counts(engine: Engine) -> dict[str, int]:
    """Row counts of the data tables (used by the benchmark and tests)."""
    with engine.connect() as connection:
        return {
            table.__tablename__: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (Household, Person, Enrolment, Payment)
        }
