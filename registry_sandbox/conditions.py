"""The query tree (registry_sandbox.query) → parameterised SQLAlchemy expressions.

Household-level attributes read the household row; person-level ones the person row. `age` is
turned into a range on `birth_date` around the registry's today, so it can use the index. For the
Group entity, a condition that mentions a person-level attribute means "the household has a member
for whom the whole condition holds" (an EXISTS over its members).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, case, exists, false, not_, or_, select, true

from registry_sandbox import query
from registry_sandbox.models import Household, Person

HOUSEHOLD_ATTRIBUTES: dict[str, str] = {
    "poverty_score": "float", "idpoor_level": "int", "group_size": "int", "location": "str",
    "province_code": "str", "district_code": "str", "commune_code": "str", "village_code": "str",
}
PERSON_ATTRIBUTES: dict[str, str] = {
    "age": "number", "sex": "sex", "is_disabled": "bool", "is_pregnant": "bool", "birth_date": "date",
}


def invalid(message: str, code: str = "rjct.search_criteria.invalid") -> query.QueryError:
    return query.QueryError(message, code)


def _coerce(attribute: str, kind: str, value: object) -> Any:
    if value is None:
        return None
    try:
        if kind == "float" or kind == "number":
            if isinstance(value, bool):
                raise ValueError
            number = float(str(value).strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
            if math.isnan(number) or math.isinf(number):
                raise ValueError
            return number
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError
            number = float(str(value).strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
            if number != int(number):
                raise ValueError
            return int(number)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"true", "1", "yes"}:
                return True
            if text in {"false", "0", "no"}:
                return False
            raise ValueError
        if kind == "date":
            if isinstance(value, datetime):
                return value.date()
            if isinstance(value, date):
                return value
            return date.fromisoformat(str(value).strip()[:10])
        if kind == "sex":
            text = str(value).strip().lower()
            return {"m": "male", "f": "female"}.get(text, text)
        if isinstance(value, (dict, list, tuple)):
            raise ValueError
        return str(value).strip()
    except (TypeError, ValueError, OverflowError) as exc:
        raise invalid(f"{attribute}: {value!r} is not a valid value") from exc


def _years_before(today: date, years: int) -> date:
    year = today.year - years
    try:
        return today.replace(year=year)
    except ValueError:  # 29 February
        return date(year, 2, 28)


class Compiler:
    def __init__(self, today: date, person: Table, household: Table) -> None:
        self.today = today
        self.p = person
        self.h = household

    # -- age as birth-date ranges --------------------------------------------------------------
    def _age_at_least(self, years: int) -> ColumnElement[bool]:
        if years <= 0:
            return self.p.c.birth_date.is_not(None)
        if years > 200:
            return false()
        return and_(self.p.c.birth_date.is_not(None), self.p.c.birth_date <= _years_before(self.today, years))

    def _age_below(self, years: int) -> ColumnElement[bool]:
        if years <= 0:
            return false()
        if years > 200:
            return self.p.c.birth_date.is_not(None)
        return and_(self.p.c.birth_date.is_not(None), self.p.c.birth_date > _years_before(self.today, years))

    def _age(self, operator: str, value: float) -> ColumnElement[bool]:
        if operator == "ge":
            return self._age_at_least(math.ceil(value))
        if operator == "gt":
            return self._age_at_least(math.floor(value) + 1)
        if operator == "lt":
            return self._age_below(math.ceil(value))
        if operator == "le":
            return self._age_below(math.floor(value) + 1)
        if value != int(value):
            equal: ColumnElement[bool] = false()
        else:
            equal = and_(self._age_at_least(int(value)), self._age_below(int(value) + 1))
        return equal if operator == "eq" else and_(self.p.c.birth_date.is_not(None), not_(equal))

    # -- comparisons ---------------------------------------------------------------------------
    def _column(self, attribute: str) -> ColumnElement[Any]:
        if attribute in HOUSEHOLD_ATTRIBUTES:
            return self.h.c[attribute]
        if attribute == "is_disabled":
            return self.p.c.disability_severity.is_not(None)
        return self.p.c[attribute]

    def _compare(self, node: query.Compare) -> ColumnElement[bool]:
        attribute = node.attribute
        kind = HOUSEHOLD_ATTRIBUTES.get(attribute) or PERSON_ATTRIBUTES.get(attribute)
        if kind is None:
            raise invalid(f"unknown attribute {attribute!r}")
        operator = node.operator
        if operator == "in":
            values = node.value
            if isinstance(values, str):
                values = [part for part in values.split(",") if part.strip()]
            if not isinstance(values, (list, tuple, set, frozenset)) or not values:
                raise invalid(f"{attribute}: 'in' needs a non-empty list")
            return or_(*(self._compare(query.Compare(attribute, "eq", item)) for item in values))
        if operator not in {"eq", "ne", "lt", "le", "gt", "ge"}:
            raise invalid(f"unknown operator {operator!r}")
        value = _coerce(attribute, kind, node.value)
        if kind == "bool" and operator not in {"eq", "ne"}:
            raise invalid(f"{attribute}: only eq, ne and in apply to a boolean")
        if attribute == "age":
            if value is None:
                raise invalid("age: a number is required")
            return self._age(operator, value)
        column = self._column(attribute)
        if value is None:
            if operator == "eq":
                return column.is_(None)
            if operator == "ne":
                return column.is_not(None)
            raise invalid(f"{attribute}: null only compares with eq or ne")
        if kind == "bool":
            expression = column if value else not_(column)
            return expression if operator == "eq" else not_(expression)
        # Two-valued logic: a missing value (no Equity Card level, no household) never equals
        # anything and always differs, so that `not` negates exactly.
        if operator == "ne":
            return or_(column.is_(None), column != value)
        comparators: dict[str, Callable[[Any], ColumnElement[bool]]] = {
            "eq": column.__eq__, "lt": column.__lt__, "le": column.__le__,
            "gt": column.__gt__, "ge": column.__ge__,
        }
        return and_(column.is_not(None), comparators[operator](value))

    def compile(self, node: query.Condition) -> ColumnElement[bool]:
        if isinstance(node, query.Compare):
            return self._compare(node)
        if isinstance(node, query.And):
            return and_(true(), *(self.compile(part) for part in node.parts))
        if isinstance(node, query.Or):
            return or_(false(), *(self.compile(part) for part in node.parts))
        if isinstance(node, query.Not):
            return not_(self.compile(node.part))
        raise invalid(f"unsupported query node {type(node).__name__}")

    # -- sorting -------------------------------------------------------------------------------
    def sort_key(self, sort: query.Sort, entity: str) -> ColumnElement[Any]:
        attribute = sort.attribute
        if attribute not in HOUSEHOLD_ATTRIBUTES and attribute not in PERSON_ATTRIBUTES:
            raise invalid(f"unknown sort attribute {attribute!r}", "rjct.sort.invalid")
        descending = sort.descending
        if attribute == "age":  # older = earlier birth date
            attribute, descending = "birth_date", not descending
        if attribute in HOUSEHOLD_ATTRIBUTES or entity == "Member":
            column: ColumnElement[Any] = self._column(attribute)
            if attribute == "is_disabled":
                column = case((self.p.c.disability_severity.is_not(None), 1), else_=0)
        else:  # a person attribute for households: the head's value
            head = Person.__table__.alias("sort_head")
            value = (case((head.c.disability_severity.is_not(None), 1), else_=0)
                     if attribute == "is_disabled" else head.c[attribute])
            column = (select(value).where(head.c.household_pk == self.h.c.id,
                                          head.c.relationship_head == "SELF")
                      .limit(1).scalar_subquery())
        return column.desc() if descending else column.asc()


def mentions_person(node: query.Condition) -> bool:
    if isinstance(node, query.Compare):
        return node.attribute in PERSON_ATTRIBUTES
    if isinstance(node, (query.And, query.Or)):
        return any(mentions_person(part) for part in node.parts)
    if isinstance(node, query.Not):
        return mentions_person(node.part)
    return False


def group_condition(node: query.Condition, today: date) -> ColumnElement[bool]:
    """The condition over `households` for the Group entity."""
    households = Household.__table__
    if not mentions_person(node):
        return Compiler(today, Person.__table__, households).compile(node)
    members = Person.__table__.alias("member")
    inner = Compiler(today, members, households).compile(node)
    return exists().where(members.c.household_pk == households.c.id, inner)
