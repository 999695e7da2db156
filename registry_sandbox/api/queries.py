"""DCI search criteria → `registry_sandbox.query` trees (idtype-value, expression, predicate).

- `idtype-value`: `{"type": "UIN", "value": "100000101"}`; types are `query.IDENTIFIER_TYPES`.
- `expression`: `{"type": "ns:org:QueryType:expression", "value": {"expression": {"collection":
  "Group", "query": {...}}}}` where the query is the NoSQL-like shape: `{"$and": [...]}`,
  `{"$or": [...]}`, `{"$not": {...}}`, `{attr: {"$lt": 5, ...}}` or `{attr: value}` (equality);
  several keys in one object are ANDed.
- `predicate`: `[{seq_num, expression1: {attribute_name, operator, attribute_value}, condition:
  and|or|not, expression2}]`; each item is `e1 <condition> e2` (`not` = `e1 AND NOT e2`, or `NOT e1`
  without e2); items are ANDed in `seq_num` order.

Values arrive loosely typed (the compliance fixtures send "25" and "2.5"); numeric and boolean
attributes are coerced, `in` takes a list (or a comma-separated string).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from registry_sandbox import query
from registry_sandbox.api.envelope import check_reg_type

NUMERIC = frozenset({"age", "poverty_score", "idpoor_level", "group_size"})
BOOLEAN = frozenset({"is_disabled", "is_pregnant"})
_EXPRESSION_OPS: dict[str, query.Operator] = {
    "$eq": "eq",
    "$ne": "ne",
    "$lt": "lt",
    "$lte": "le",
    "$gt": "gt",
    "$gte": "ge",
    "$in": "in",
}
_PREDICATE_OPS = frozenset({"eq", "gt", "ge", "lt", "le", "in"})
_ENTITY_ALIASES = {
    "group": "Group",
    "household": "Group",
    "member": "Member",
    "srperson": "Member",
    "person": "Member",
    "individual": "Member",
}
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class SearchSpec:
    entity: query.Entity
    page: int
    page_size: int
    sort: list[query.Sort]
    identifier: tuple[str, str] | None = None  # (type, value) for idtype-value
    condition: query.Condition | None = None  # for expression / predicate


def _invalid(message: str, code: str = "rjct.search_criteria.invalid") -> query.QueryError:
    return query.QueryError(message, code)


def entity_of(value: object) -> query.Entity | None:
    if not isinstance(value, str):
        return None
    return _ENTITY_ALIASES.get(value.rsplit(":", 1)[-1].lower())  # type: ignore[return-value]


def _coerce(attribute: str, value: Any) -> Any:
    if isinstance(value, list):
        return [_coerce(attribute, item) for item in value]
    if attribute in NUMERIC:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise _invalid(f"{attribute} needs a number")
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError as error:
                raise _invalid(f"{attribute} needs a number, not {value!r}") from error
            return int(number) if number.is_integer() and attribute != "poverty_score" else number
        return value
    if attribute in BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "false", "1", "0", "yes", "no"}:
            return value.strip().lower() in {"true", "1", "yes"}
        raise _invalid(f"{attribute} needs true or false")
    if isinstance(value, (dict, type(None))):
        raise _invalid(f"{attribute} needs a scalar value")
    return value if isinstance(value, str) else str(value) if not isinstance(value, (int, float)) else value


def compare(attribute: object, operator: query.Operator, value: Any) -> query.Compare:
    if not isinstance(attribute, str) or attribute not in query.ATTRIBUTES:
        raise _invalid(f"unknown attribute: {attribute}")
    if operator == "in":
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list) or not value:
            raise _invalid(f"{attribute}: 'in' needs a non-empty list")
        return query.Compare(attribute, "in", tuple(_coerce(attribute, value)))
    if isinstance(value, list):
        raise _invalid(f"{attribute}: a list needs the 'in' operator")
    return query.Compare(attribute, operator, _coerce(attribute, value))


def parse_expression_node(node: object) -> query.Condition:
    if not isinstance(node, dict) or not node:
        raise _invalid("an expression must be a non-empty object")
    parts: list[query.Condition] = []
    for key, value in node.items():
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise _invalid(f"{key} needs a non-empty array")
            children = tuple(parse_expression_node(child) for child in value)
            parts.append(query.And(children) if key == "$and" else query.Or(children))
        elif key == "$not":
            parts.append(query.Not(parse_expression_node(value)))
        elif key.startswith("$"):
            raise _invalid(f"unknown operator {key}")
        elif isinstance(value, dict):
            if not value:
                raise _invalid(f"{key}: empty condition")
            for op, operand in value.items():
                if op not in _EXPRESSION_OPS:
                    raise _invalid(f"{key}: unknown operator {op}")
                parts.append(compare(key, _EXPRESSION_OPS[op], operand))
        else:
            parts.append(compare(key, "eq", value))
    return parts[0] if len(parts) == 1 else query.And(tuple(parts))


def parse_expression(q: object) -> tuple[query.Condition, query.Entity | None]:
    """The condition and the `collection` entity (if named) of an expression query."""
    if not isinstance(q, dict):
        raise _invalid("an expression query must be an object")
    value = q.get("value", q)
    expression = value.get("expression", value) if isinstance(value, dict) else None
    if not isinstance(expression, dict):
        raise _invalid("expression query needs value.expression")
    collection: query.Entity | None = None
    if "query" in expression:
        if "collection" in expression:
            collection = entity_of(expression["collection"])
            if collection is None:
                raise _invalid(f"unknown collection {expression['collection']!r}")
        expression = expression["query"]
    return parse_expression_node(expression), collection


def _predicate_expression(item: object, where: str) -> query.Compare:
    if not isinstance(item, dict):
        raise _invalid(f"{where} must be an object")
    operator = item.get("operator")
    if operator not in _PREDICATE_OPS:
        raise _invalid(f"{where}: unknown operator {operator!r}")
    if "attribute_value" not in item:
        raise _invalid(f"{where}: attribute_value is required")
    return compare(item.get("attribute_name"), operator, item["attribute_value"])


def parse_predicate(q: object) -> query.Condition:
    if isinstance(q, dict):
        q = [q]
    if not isinstance(q, list) or not q:
        raise _invalid("a predicate query must be a non-empty array")
    ordered = sorted(enumerate(q), key=lambda pair: (_seq(pair[1]), pair[0]))
    parts: list[query.Condition] = []
    for index, item in ordered:
        if not isinstance(item, dict):
            raise _invalid(f"predicate[{index}] must be an object")
        first = _predicate_expression(item.get("expression1"), f"predicate[{index}].expression1")
        condition = item.get("condition")
        second = item.get("expression2")
        if condition is None and second is None:
            parts.append(first)
            continue
        if condition not in ("and", "or", "not"):
            raise _invalid(f"predicate[{index}]: condition must be and, or or not")
        if second is None:
            if condition != "not":
                raise _invalid(f"predicate[{index}]: {condition} needs expression2")
            parts.append(query.Not(first))
            continue
        other = _predicate_expression(second, f"predicate[{index}].expression2")
        if condition == "and":
            parts.append(query.And((first, other)))
        elif condition == "or":
            parts.append(query.Or((first, other)))
        else:
            parts.append(query.And((first, query.Not(other))))
    return parts[0] if len(parts) == 1 else query.And(tuple(parts))


def _seq(item: object) -> float:
    value = item.get("seq_num") if isinstance(item, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def parse_identifier(q: object) -> tuple[str, str]:
    if not isinstance(q, dict) or "type" not in q or "value" not in q:
        raise _invalid("an idtype-value query needs type and value")
    id_type = q["type"]
    if not isinstance(id_type, str) or id_type.strip().upper() not in query.IDENTIFIER_TYPES:
        raise _invalid(f"unknown identifier type: {id_type}")
    value = q["value"]
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or str(value).strip() == "":
        raise _invalid("the identifier value must be a non-empty string or number")
    return id_type.strip().upper(), str(value).strip()


def parse_sort(sort: object) -> list[query.Sort]:
    if sort is None:
        return []
    if not isinstance(sort, list):
        raise _invalid("sort must be an array", "rjct.sort.invalid")
    result = []
    for item in sort:
        if not isinstance(item, dict) or item.get("attribute_name") not in query.ATTRIBUTES:
            name = item.get("attribute_name") if isinstance(item, dict) else item
            raise _invalid(f"cannot sort by {name!r}", "rjct.sort.invalid")
        order = item.get("sort_order", "asc")
        if order not in ("asc", "desc"):
            raise _invalid(f"sort_order must be asc or desc, not {order!r}", "rjct.sort.invalid")
        result.append(query.Sort(item["attribute_name"], descending=order == "desc"))
    return result


def _positive_int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 1:
        return None
    return int(value)


def parse_pagination(pagination: object) -> tuple[int, int]:
    """(page_number, page_size); defaults 1 and 10; page_size ≤ 1000."""
    if pagination is None:
        return 1, DEFAULT_PAGE_SIZE
    if not isinstance(pagination, dict) or "page_size" not in pagination:
        raise _invalid("pagination needs page_size", "rjct.pagination.invalid")
    size = _positive_int(pagination["page_size"])
    if size is None or size > MAX_PAGE_SIZE:
        raise _invalid(f"page_size must be an integer from 1 to {MAX_PAGE_SIZE}", "rjct.pagination.invalid")
    number = _positive_int(pagination.get("page_number", 1))
    if number is None:
        raise _invalid("page_number must be an integer of at least 1", "rjct.pagination.invalid")
    return number, size


def parse_criteria(criteria: object) -> SearchSpec:
    """A search item's `search_criteria` → SearchSpec; raises QueryError with the `rjct.*` code."""
    if not isinstance(criteria, dict):
        raise _invalid("search_criteria is required")
    if "version" in criteria and criteria["version"] != "1.0.0":
        raise _invalid(f"search_criteria version {criteria['version']!r} is not supported")
    if not check_reg_type(criteria.get("reg_type")):
        raise _invalid(f"unknown reg_type {criteria.get('reg_type')!r}")
    entity: query.Entity | None = None
    if criteria.get("response_entity") is not None:
        entity = entity_of(criteria["response_entity"])
        if entity is None or criteria["response_entity"] not in ("Group", "Member"):
            raise _invalid("response_entity must be Group or Member")
    elif criteria.get("reg_record_type") is not None:
        entity = entity_of(criteria["reg_record_type"])
        if entity is None:
            raise _invalid(f"unknown reg_record_type {criteria['reg_record_type']!r}")
    page, page_size = parse_pagination(criteria.get("pagination"))
    sort = parse_sort(criteria.get("sort"))
    query_type = criteria.get("query_type")
    if "query" not in criteria:
        raise _invalid("search_criteria.query is required")
    if query_type == "idtype-value":
        return SearchSpec(
            entity or "Group", page, page_size, sort, identifier=parse_identifier(criteria["query"])
        )
    if query_type == "expression":
        condition, collection = parse_expression(criteria["query"])
        return SearchSpec(entity or collection or "Group", page, page_size, sort, condition=condition)
    if query_type == "predicate":
        return SearchSpec(
            entity or "Group", page, page_size, sort, condition=parse_predicate(criteria["query"])
        )
    raise _invalid(f"query_type must be idtype-value, expression or predicate, not {query_type!r}")
