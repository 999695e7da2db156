"""The sandbox registry's record store: searches, enrolments, payments and change application.

The DCI layer (registry_sandbox.api) calls it with parsed queries and gets records as plain dicts
in the shapes of docs/registry-profile.md. All SQL is parameterised.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import Engine, bindparam, func, select, update
from sqlalchemy.engine import Connection, RowMapping

from chumnuoy.digits import to_ascii_digits
from registry_sandbox import query, records
from registry_sandbox.conditions import Compiler, group_condition, invalid
from registry_sandbox.models import (
    CAMBODIA,
    Enrolment,
    Household,
    Payment,
    Person,
    registry_now,
    registry_today,
)
from registry_sandbox.spid import SPID_GENERATED_BASE, spid_from_body

Entity = Literal["Group", "Member"]
_P = Person.__table__
_H = Household.__table__
_E = Enrolment.__table__
_PAY = Payment.__table__
_PERSON_ID_TYPES = {"UIN", "SPID", "MOBILE"}
_HOUSEHOLD_ID_TYPES = {"HOUSEHOLD_ID", "IDPOOR"}
_PERSON_COLUMNS = tuple(column.label(f"p_{column.name}") for column in _P.c)
_HOUSEHOLD_COLUMNS = tuple(column.label(f"h_{column.name}") for column in _H.c)


def _split(row: RowMapping) -> tuple[dict | None, dict | None]:
    """A joined row → (person, household) dicts; None for the side an outer join left empty."""
    person = {column.name: row[f"p_{column.name}"] for column in _P.c}
    household = {column.name: row[f"h_{column.name}"] for column in _H.c}
    return (person if person["id"] is not None else None,
            household if household["id"] is not None else None)


_MEMBERS_BY_ID = (select(*_PERSON_COLUMNS, *_HOUSEHOLD_COLUMNS)
                  .select_from(_P.outerjoin(_H, _P.c.household_pk == _H.c.id))
                  .where(_P.c.id.in_(bindparam("ids", expanding=True))))
_GROUPS_BY_ID = (select(*_HOUSEHOLD_COLUMNS, *_PERSON_COLUMNS)
                 .select_from(_H.outerjoin(_P, _P.c.household_pk == _H.c.id))
                 .where(_H.c.id.in_(bindparam("ids", expanding=True))).order_by(_H.c.id, _P.c.id))


def _identifier_value(id_type: str, value: str) -> str:
    value = str(value).strip()
    if id_type == "MOBILE":
        return normalise_mobile(value)
    return value if id_type == "UIN" else value.upper()


def _identifier_clause(id_type: str) -> Any:
    """The WHERE clause of an identifier type, on the bound parameter `value`."""
    column = {"UIN": _P.c.uin, "SPID": _P.c.spid, "MOBILE": _P.c.phone,
              "HOUSEHOLD_ID": _H.c.household_id, "IDPOOR": _H.c.idpoor_number}[id_type]
    return column == bindparam("value")


@functools.cache
def _identifier_ids_query(entity: str, id_type: str) -> Any:
    """Ids of the records an identifier names (built once per entity and type; values are bound)."""
    clause = _identifier_clause(id_type)
    if entity == "Member":
        return select(_P.c.id).select_from(_P.outerjoin(_H, _P.c.household_pk == _H.c.id)).where(clause)
    if id_type in _HOUSEHOLD_ID_TYPES:
        return select(_H.c.id).where(clause)
    return select(_H.c.id).where(
        _H.c.id.in_(select(_P.c.household_pk).where(clause, _P.c.household_pk.is_not(None))))


def normalise_mobile(value: str) -> str:
    """E.164 for Cambodian numbers given as `+855…`, `00855…`, `855…` or `0…` (Khmer digits too)."""
    text = to_ascii_digits(value).strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.startswith("+"):
        return "+" + digits
    if digits.startswith("00855"):
        return "+" + digits[2:]
    if digits.startswith("855") and len(digits) >= 11:
        return "+" + digits
    if digits.startswith("0"):
        return "+855" + digits[1:]
    if 8 <= len(digits) <= 9:
        return "+855" + digits
    return "+" + digits if digits else text


@dataclass(frozen=True)
class ChangeOutcome:
    applied: bool
    reason_code: str | None = None
    household_id: str | None = None
    person_spid: str | None = None
    applied_at: datetime | None = None


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- searching -----------------------------------------------------------------------------
    def _page(self, connection: Connection, ids_query: Any, page: int, page_size: int,
              order: list[Any], tiebreak: Any, params: dict[str, Any] | None = None) -> tuple[list[int], int]:
        page = max(1, int(page))
        page_size = max(1, int(page_size))
        statement = ids_query.order_by(*order, tiebreak).limit(page_size).offset((page - 1) * page_size)
        ids = [row[0] for row in connection.execute(statement, params or {})]
        if page == 1 and len(ids) < page_size:
            return ids, len(ids)
        count = select(func.count()).select_from(ids_query.order_by(None).subquery())
        return ids, int(connection.execute(count, params or {}).scalar_one())

    def search_identifier(self, id_type: str, value: str, entity: Entity, page: int, page_size: int,
                          sort: Sequence[query.Sort]) -> tuple[list[dict], int]:
        if id_type not in query.IDENTIFIER_TYPES:
            raise invalid(f"unknown identifier type {id_type!r}")
        today = registry_today()
        compiler = Compiler(today, _P, _H)
        order = [compiler.sort_key(s, entity) for s in sort]
        params = {"value": _identifier_value(id_type, value)}
        with self.engine.connect() as connection:
            tiebreak = _P.c.id if entity == "Member" else _H.c.id
            ids, total = self._page(connection, _identifier_ids_query(entity, id_type), page, page_size,
                                    order, tiebreak, params)
            if entity == "Member":
                return self._members(connection, ids, today), total
            return self._groups(connection, ids, today), total

    def search_condition(self, condition: query.Condition, entity: Entity, page: int, page_size: int,
                         sort: Sequence[query.Sort]) -> tuple[list[dict], int]:
        today = registry_today()
        compiler = Compiler(today, _P, _H)
        order = [compiler.sort_key(s, entity) for s in sort]
        with self.engine.connect() as connection:
            if entity == "Member":
                where = compiler.compile(condition)
                ids_query = select(_P.c.id).select_from(
                    _P.outerjoin(_H, _P.c.household_pk == _H.c.id)).where(where)
                ids, total = self._page(connection, ids_query, page, page_size, order, _P.c.id)
                return self._members(connection, ids, today), total
            ids_query = select(_H.c.id).where(group_condition(condition, today))
            ids, total = self._page(connection, ids_query, page, page_size, order, _H.c.id)
            return self._groups(connection, ids, today), total

    def _members(self, connection: Connection, ids: list[int], today: date) -> list[dict]:
        """Member records of `ids` (in that order), in one query: persons joined to households."""
        if not ids:
            return []
        by_id: dict[int, dict] = {}
        for row in connection.execute(_MEMBERS_BY_ID, {"ids": ids}).mappings():
            person, household = _split(row)
            by_id[person["id"]] = records.member(person, household, today)
        return [by_id[i] for i in ids]

    def _groups(self, connection: Connection, ids: list[int], today: date) -> list[dict]:
        """Group records of `ids` (in that order), in one query: households joined to members."""
        if not ids:
            return []
        households: dict[int, dict] = {}
        members: dict[int, list[dict]] = {}
        for row in connection.execute(_GROUPS_BY_ID, {"ids": ids}).mappings():
            person, household = _split(row)
            assert household is not None
            households.setdefault(household["id"], household)
            people = members.setdefault(household["id"], [])
            if person is not None:
                people.append(person)
        return [records.group(households[i], members[i], today) for i in ids if i in households]

    # -- enrolments and payments -----------------------------------------------------------------
    def _person(self, connection: Connection, id_type: str, value: str) -> RowMapping | None:
        """The one person an identifier names (a MOBILE shared by several names nobody)."""
        if id_type not in query.IDENTIFIER_TYPES:
            raise invalid(f"unknown identifier type {id_type!r}")
        if id_type not in _PERSON_ID_TYPES:
            return None
        statement = select(_P).where(_identifier_clause(id_type)).limit(2)
        found = connection.execute(statement, {"value": _identifier_value(id_type, value)}).mappings().all()
        return found[0] if len(found) == 1 else None

    def enrolments(self, id_type: str, value: str) -> list[dict] | None:
        with self.engine.connect() as connection:
            person = self._person(connection, id_type, value)
            if person is None:
                return None
            rows = connection.execute(
                select(_E).where(_E.c.person_pk == person["id"]).order_by(_E.c.enrolment_date, _E.c.id)
            ).mappings()
            return [records.enrolment(row) for row in rows]

    def payments(self, id_type: str, value: str, programme: str | None = None,
                 since: date | None = None) -> list[dict] | None:
        with self.engine.connect() as connection:
            person = self._person(connection, id_type, value)
            if person is None:
                return None
            statement = select(_PAY).where(_PAY.c.person_pk == person["id"])
            if programme:
                statement = statement.where(_PAY.c.programme == programme)
            if since is not None:
                statement = statement.where(_PAY.c.due_date >= since)
            rows = connection.execute(statement.order_by(_PAY.c.due_date, _PAY.c.id)).mappings()
            return [records.payment(row) for row in rows]

    def is_enrolled(self, id_type: str, value: str, programme: str | None) -> bool | None:
        """Active enrolment in `programme` (in any programme when None); None when no such person."""
        with self.engine.connect() as connection:
            person = self._person(connection, id_type, value)
            if person is None:
                return None
            statement = select(_E.c.id).where(_E.c.person_pk == person["id"], _E.c.status == "Active")
            if programme:
                statement = statement.where(_E.c.programme == programme)
            return connection.execute(statement.limit(1)).first() is not None

    # -- change application ------------------------------------------------------------------------
    def apply_change(self, change_type: str, target_type: str, target_value: str, old_value: object,
                     new_value: object, requested_by: str) -> ChangeOutcome:
        """Apply one change (see _CHANGES). `old_value` None skips the check; a dict is compared on its
        keys only. `requested_by` is accepted for the audit trail of the caller, not stored here."""
        handler = _CHANGES.get(change_type)
        if handler is None:
            return ChangeOutcome(False, "rjct.change_type.invalid")
        if target_type not in query.IDENTIFIER_TYPES or not isinstance(target_value, str):
            return ChangeOutcome(False, "rjct.person_id.invalid")
        with self.engine.begin() as connection:
            if target_type in _HOUSEHOLD_ID_TYPES:
                person = None
                household = connection.execute(
                    select(_H).where(_identifier_clause(target_type)),
                    {"value": _identifier_value(target_type, target_value)}).mappings().first()
            else:
                person = self._person(connection, target_type, target_value)
                household = None
                if person is not None and person["household_pk"] is not None:
                    household = connection.execute(
                        select(_H).where(_H.c.id == person["household_pk"])).mappings().first()
            if person is None and household is None:
                return ChangeOutcome(False, "rjct.person_id.invalid")
            now = registry_now()
            try:
                outcome = handler(self, connection, person, household, old_value, new_value, now)
            except (TypeError, ValueError, KeyError):
                return ChangeOutcome(False, "rjct.new_value.invalid",
                                     household["household_id"] if household else None,
                                     person["spid"] if person else None)
            if outcome is not None:
                return outcome
            if household is not None:
                connection.execute(update(_H).where(_H.c.id == household["id"]).values(last_updated=now))
            return ChangeOutcome(True, None, household["household_id"] if household else None,
                                 person["spid"] if person else None, now.replace(tzinfo=CAMBODIA))

    # Each handler returns None when applied, or a refusing ChangeOutcome.
    def _change_phone(self, c: Connection, person: RowMapping | None, household: RowMapping | None,
                      old: object, new: object, now: datetime) -> ChangeOutcome | None:
        if person is None:
            return ChangeOutcome(False, "rjct.person_id.invalid")
        if old is not None and (normalise_mobile(str(old)) if old else None) != person["phone"]:
            return _mismatch(person, household)
        phone = normalise_mobile(str(new)) if new else None
        if phone is not None and not (phone.startswith("+855") and 12 <= len(phone) <= 13):
            raise ValueError("not a Cambodian mobile number")
        c.execute(update(_P).where(_P.c.id == person["id"]).values(phone=phone, last_updated=now))
        return None

    def _change_address(self, c: Connection, person: RowMapping | None, household: RowMapping | None,
                        old: object, new: object, now: datetime) -> ChangeOutcome | None:
        if household is None:
            return ChangeOutcome(False, "rjct.person_id.invalid", None, person["spid"] if person else None)
        current = {"province_code": household["province_code"], "district_code": household["district_code"],
                   "commune_code": household["commune_code"], "village_code": household["village_code"],
                   "line": household["address_line"]}
        if isinstance(old, dict) and any(current.get(k) != v for k, v in old.items() if k in current):
            return _mismatch(person, household)
        if not isinstance(new, dict):
            raise TypeError("address must be an object")
        codes = {"province_code": 2, "district_code": 4, "commune_code": 6, "village_code": 8}
        values = {k: new[k] for k in codes if k in new}
        for key, value in values.items():
            well_formed = isinstance(value, str) and value.isdigit() and len(value) == codes[key]
            if value is not None and not well_formed:
                raise ValueError(f"{key} must be {codes[key]} digits")
        village = values.get("village_code")
        if village:
            values.setdefault("commune_code", village[:6])
            values.setdefault("district_code", village[:4])
            values.setdefault("province_code", village[:2])
        if "line" in new or "address_line" in new:
            values["address_line"] = new.get("line", new.get("address_line"))
        if "province_code" in values:
            from registry_sandbox.gazetteer import province_locations

            values["location"] = province_locations().get(values["province_code"], household["location"])
        c.execute(update(_H).where(_H.c.id == household["id"]).values(**values, last_updated=now))
        return None

    def _change_name(self, c: Connection, person: RowMapping | None, household: RowMapping | None,
                     old: object, new: object, now: datetime) -> ChangeOutcome | None:
        if person is None:
            return ChangeOutcome(False, "rjct.person_id.invalid")
        keys = {"surname": "surname_km", "given_name": "given_name_km",
                "surname_latin": "surname_latin", "given_name_latin": "given_name_latin"}
        if isinstance(old, dict) and any(person[keys[k]] != v for k, v in old.items() if k in keys):
            return _mismatch(person, household)
        if not isinstance(new, dict) or not any(k in keys for k in new):
            raise TypeError("name must be an object with surname and/or given_name")
        values = {keys[k]: str(v).strip() for k, v in new.items() if k in keys and str(v).strip()}
        c.execute(update(_P).where(_P.c.id == person["id"]).values(**values, last_updated=now))
        return None

    def _change_birth_date(self, c: Connection, person: RowMapping | None, household: RowMapping | None,
                           old: object, new: object, now: datetime) -> ChangeOutcome | None:
        if person is None:
            return ChangeOutcome(False, "rjct.person_id.invalid")
        if old is not None and _as_date(old) != person["birth_date"]:
            return _mismatch(person, household)
        c.execute(update(_P).where(_P.c.id == person["id"])
                  .values(birth_date=_as_date(new), last_updated=now))
        return None

    def _change_member_birth(self, c: Connection, person: RowMapping | None, household: RowMapping | None,
                             old: object, new: object, now: datetime) -> ChangeOutcome | None:
        if household is None or not isinstance(new, dict):
            if household is None:
                return ChangeOutcome(False, "rjct.person_id.invalid")
            raise TypeError("member_birth needs an object")
        sex = str(new.get("sex", "")).lower()
        if sex not in {"male", "female"}:
            raise ValueError("sex must be male or female")
        spid = _new_spid(c)
        c.execute(_P.insert().values(
            spid=spid, uin=None, household_pk=household["id"],
            relationship_head=str(new.get("relationship", "CHILD")).upper(),
            surname_km=str(new["surname"]), given_name_km=str(new["given_name"]),
            surname_latin=new.get("surname_latin"), given_name_latin=new.get("given_name_latin"),
            sex=sex, birth_date=_as_date(new["birth_date"]), death_date=None, phone=None, is_pregnant=False,
            disability_severity=None, disability_card_no=None, school_grade=None, nssf_member=False,
            nssf_number=None, hiv_support=False, marital_status="S", registration_date=now, last_updated=now,
        ))
        c.execute(update(_H).where(_H.c.id == household["id"]).values(group_size=_H.c.group_size + 1))
        _touch(c, household, now)
        return ChangeOutcome(True, None, household["household_id"], spid, now.replace(tzinfo=CAMBODIA))

    def _change_member_death(self, c: Connection, person: RowMapping | None, household: RowMapping | None,
                             old: object, new: object, now: datetime) -> ChangeOutcome | None:
        if person is None:
            return ChangeOutcome(False, "rjct.person_id.invalid")
        if person["death_date"] is not None:
            return _mismatch(person, household)
        died = _as_date(new.get("death_date") if isinstance(new, dict) else new) if new else now.date()
        c.execute(update(_P).where(_P.c.id == person["id"]).values(death_date=died, is_pregnant=False,
                                                                   last_updated=now))
        c.execute(update(_E).where(_E.c.person_pk == person["id"], _E.c.status == "Active")
                  .values(status="Deceased", status_change_date=died))
        if household is not None:
            c.execute(update(_H).where(_H.c.id == household["id"], _H.c.group_size > 0)
                      .values(group_size=_H.c.group_size - 1))
        return None

    def _change_member_moved_out(self, c: Connection, person: RowMapping | None, household: RowMapping | None,
                                 old: object, new: object, now: datetime) -> ChangeOutcome | None:
        if person is None:
            return ChangeOutcome(False, "rjct.person_id.invalid")
        if household is None:
            return _mismatch(person, household)
        c.execute(update(_P).where(_P.c.id == person["id"])
                  .values(household_pk=None, relationship_head="OTHER", last_updated=now))
        if person["death_date"] is None:
            c.execute(update(_H).where(_H.c.id == household["id"], _H.c.group_size > 0)
                      .values(group_size=_H.c.group_size - 1))
        return None


_CHANGES = {
    "phone": Store._change_phone,
    "address": Store._change_address,
    "name": Store._change_name,
    "birth_date": Store._change_birth_date,
    "member_birth": Store._change_member_birth,
    "member_death": Store._change_member_death,
    "member_moved_out": Store._change_member_moved_out,
}


def _touch(c: Connection, household: RowMapping, now: datetime) -> None:
    c.execute(update(_H).where(_H.c.id == household["id"]).values(last_updated=now))


def _mismatch(person: RowMapping | None, household: RowMapping | None) -> ChangeOutcome:
    return ChangeOutcome(False, "rjct.old_value.mismatch", household["household_id"] if household else None,
                         person["spid"] if person else None)


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip()[:10])


def _new_spid(c: Connection) -> str:
    """A fresh SPID for a person added by a change (random body, checked against the table)."""
    while True:
        spid = spid_from_body(SPID_GENERATED_BASE + secrets.randbelow(1_000_000_000 - SPID_GENERATED_BASE))
        if c.execute(select(_P.c.id).where(_P.c.spid == spid)).first() is None:
            return spid
