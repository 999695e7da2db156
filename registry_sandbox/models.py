"""The sandbox registry's tables (SQLAlchemy 2 declarative, its own database).

Surrogate integer keys (`id`) join the tables; the DCI identifiers (`household_id`, `spid`, `uin`,
`idpoor_number`, `payment_id`) are indexed columns. Date-times are stored naive in Cambodian local
time (+07:00) and rendered with that offset. Secondary indexes are declared as named `Index`
objects so that bulk seeding can drop them before the load and rebuild them after (see seed.py).
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

CAMBODIA = timezone(timedelta(hours=7))


class Base(DeclarativeBase):
    pass


class GazetteerUnit(Base):
    __tablename__ = "gazetteer_units"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    level: Mapped[str] = mapped_column(String(10))  # province | district | commune | village
    parent_code: Mapped[str | None] = mapped_column(String(8), index=True)
    name_km: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[str] = mapped_column(String(60))


class Household(Base):
    __tablename__ = "households"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    household_id: Mapped[str] = mapped_column(String(20))
    idpoor_number: Mapped[str | None] = mapped_column(String(20))
    idpoor_level: Mapped[int | None] = mapped_column(Integer)
    equity_card_valid_until: Mapped[date | None] = mapped_column(Date)
    poverty_score: Mapped[float | None] = mapped_column(Float)
    location: Mapped[str] = mapped_column(String(40))
    province_code: Mapped[str] = mapped_column(String(2))
    district_code: Mapped[str | None] = mapped_column(String(4))
    commune_code: Mapped[str | None] = mapped_column(String(6))
    village_code: Mapped[str | None] = mapped_column(String(8))
    address_line: Mapped[str | None] = mapped_column(Text)
    group_size: Mapped[int] = mapped_column(Integer, default=0)
    gazetteer_version: Mapped[str | None] = mapped_column(String(60))
    registration_date: Mapped[datetime] = mapped_column(DateTime)
    last_updated: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        Index("ix_households_household_id", "household_id", unique=True),
        Index("ix_households_idpoor_number", "idpoor_number", unique=True),
        Index("ix_households_province_code", "province_code"),
    )


class Person(Base):
    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    spid: Mapped[str] = mapped_column(String(12))
    uin: Mapped[str | None] = mapped_column(String(20))
    household_pk: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    relationship_head: Mapped[str] = mapped_column(String(8))  # SELF | SPS | CHILD | PARENT | OTHER
    surname_km: Mapped[str] = mapped_column(String(100))
    given_name_km: Mapped[str] = mapped_column(String(100))
    surname_latin: Mapped[str | None] = mapped_column(String(100))
    given_name_latin: Mapped[str | None] = mapped_column(String(100))
    sex: Mapped[str] = mapped_column(String(8))  # male | female
    birth_date: Mapped[date | None] = mapped_column(Date)
    death_date: Mapped[date | None] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(16))
    is_pregnant: Mapped[bool] = mapped_column(Boolean, default=False)
    disability_severity: Mapped[str | None] = mapped_column(String(8))  # mild | medium | severe
    disability_card_no: Mapped[str | None] = mapped_column(String(20))
    school_grade: Mapped[int | None] = mapped_column(Integer)
    nssf_member: Mapped[bool] = mapped_column(Boolean, default=False)
    nssf_number: Mapped[str | None] = mapped_column(String(20))
    hiv_support: Mapped[bool] = mapped_column(Boolean, default=False)
    marital_status: Mapped[str] = mapped_column(String(1))  # S | M | W | D | U
    registration_date: Mapped[datetime] = mapped_column(DateTime)
    last_updated: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        Index("ix_persons_spid", "spid", unique=True),
        Index("ix_persons_uin", "uin", unique=True),
        Index("ix_persons_household_pk", "household_pk"),
        Index("ix_persons_phone", "phone"),
        Index("ix_persons_birth_date", "birth_date"),
    )


class Enrolment(Base):
    __tablename__ = "enrolments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_pk: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    programme: Mapped[str] = mapped_column(String(40))
    programme_name: Mapped[str] = mapped_column(String(200))
    enrolment_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))  # Active | Suspended | Graduated | Deceased
    status_change_date: Mapped[date | None] = mapped_column(Date)
    benefit_type: Mapped[str | None] = mapped_column(String(40))
    amount_riel: Mapped[int | None] = mapped_column(Integer)
    frequency: Mapped[str | None] = mapped_column(String(12))  # monthly | per_visit | once
    collection_point: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_enrolments_person_pk", "person_pk"),)


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    payment_id: Mapped[str] = mapped_column(String(20))
    enrolment_pk: Mapped[int] = mapped_column(ForeignKey("enrolments.id"))
    person_pk: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    programme: Mapped[str] = mapped_column(String(40))
    amount_riel: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))  # paid | failed | pending | unclaimed
    due_date: Mapped[date | None] = mapped_column(Date)
    paid_date: Mapped[date | None] = mapped_column(Date)
    component: Mapped[str | None] = mapped_column(String(20))
    collection_point: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_payments_payment_id", "payment_id", unique=True),
        Index("ix_payments_person_pk", "person_pk"),
    )


class Seeding(Base):
    """One row per completed seeding; `seed --if-needed` compares against the latest."""

    __tablename__ = "seedings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    random_seed: Mapped[int] = mapped_column(Integer)
    persons: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(40))
    seeded_at: Mapped[datetime] = mapped_column(DateTime)
    seconds: Mapped[float] = mapped_column(Float)


# The tables seed.py bulk-loads, in foreign-key order.
DATA_TABLES = (Household.__table__, Person.__table__, Enrolment.__table__, Payment.__table__)


def create_schema(engine: Engine) -> None:
    """Create every sandbox table (ours and, when present, the API layer's); idempotent."""
    with contextlib.suppress(ImportError):
        import registry_sandbox.api.models  # noqa: F401  (registers its tables on Base)
    Base.metadata.create_all(engine)


def registry_now() -> datetime:
    """The registry's clock: naive Cambodian local time (the offset is added when rendering)."""
    return datetime.now(CAMBODIA).replace(tzinfo=None, microsecond=0)


def registry_today() -> date:
    """The registry's 'today' (Cambodian calendar date), used for ages."""
    return datetime.now(CAMBODIA).date()
