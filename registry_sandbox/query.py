"""The query tree shared by the DCI layer and the record store.

The DCI API layer parses `expression` and `predicate` queries into this tree (and rejects what it
cannot parse); the store turns the tree into SQL. Neither side needs to know the other's format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Operator = Literal["eq", "ne", "lt", "le", "gt", "ge", "in"]
Entity = Literal["Group", "Member"]

# Attributes that `expression` and `predicate` queries may use (SPEC §8; more may be added).
ATTRIBUTES: frozenset[str] = frozenset(
    {
        "age", "sex", "poverty_score", "idpoor_level", "group_size", "location", "province_code",
        "district_code", "commune_code", "village_code", "is_disabled", "is_pregnant", "birth_date",
    }
)
IDENTIFIER_TYPES: frozenset[str] = frozenset({"UIN", "SPID", "MOBILE", "HOUSEHOLD_ID", "IDPOOR"})


@dataclass(frozen=True)
class Compare:
    attribute: str
    operator: Operator
    value: object


@dataclass(frozen=True)
class And:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    part: Condition


Condition = Compare | And | Or | Not


@dataclass(frozen=True)
class Sort:
    attribute: str
    descending: bool = False


class QueryError(ValueError):
    """A query the registry cannot answer; `reason_code` is the DCI `rjct.*` code to report."""

    def __init__(self, message: str, reason_code: str = "rjct.search_criteria.invalid") -> None:
        super().__init__(message)
        self.reason_code = reason_code
