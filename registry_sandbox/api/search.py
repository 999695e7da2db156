"""Answering a SearchRequest batch: every item gets its own status, reason code and page.

The header status is `rjct` only when every item was rejected (partial success is `succ`, with
`status_reason_message` counting the rejected items). An empty result is a success with zero
records. A repeated `reference_id` within the batch rejects the later items
(`rjct.reference_id.duplicate`); the first one is answered.
"""

from __future__ import annotations

from typing import Any

from registry_sandbox import query
from registry_sandbox.api import envelope
from registry_sandbox.api.queries import SearchSpec, parse_criteria


def _item(
    reference_id: str, status: str, reason: str | None = None, text: str | None = None
) -> dict[str, Any]:
    item: dict[str, Any] = {"reference_id": reference_id, "timestamp": envelope.now_ts(), "status": status}
    if reason:
        item["status_reason_code"] = reason
    if text:
        item["status_reason_message"] = text[:999]
    return item


def run_spec(store: Any, spec: SearchSpec) -> tuple[list[dict[str, Any]], int]:
    if spec.identifier is not None:
        id_type, value = spec.identifier
        return store.search_identifier(id_type, value, spec.entity, spec.page, spec.page_size, spec.sort)
    assert spec.condition is not None
    return store.search_condition(spec.condition, spec.entity, spec.page, spec.page_size, spec.sort)


def answer_item(store: Any, item: dict[str, Any]) -> dict[str, Any]:
    reference_id = item["reference_id"]
    if envelope.parse_timestamp(item.get("timestamp")) is None:
        return _item(
            reference_id,
            "rjct",
            "rjct.timestamp.invalid",
            "timestamp must be an ISO 8601 date-time with a timezone offset",
        )
    try:
        spec = parse_criteria(item.get("search_criteria"))
        records, total = run_spec(store, spec)
    except query.QueryError as error:
        return _item(reference_id, "rjct", error.reason_code, str(error))
    answered = _item(reference_id, "succ")
    answered["data"] = {
        "version": envelope.VERSION,
        "reg_type": envelope.REG_TYPE,
        "reg_record_type": spec.entity,
        "reg_records": records,
    }
    answered["pagination"] = {"page_size": spec.page_size, "page_number": spec.page, "total_count": total}
    answered["locale"] = envelope.LOCALE
    return answered


def answer_search(store: Any, message: dict[str, Any], correlation_id: str) -> tuple[str, dict[str, Any]]:
    """(header status, SearchResponse) for a validated SearchRequest message."""
    seen: set[str] = set()
    answers = []
    for item in message["search_request"]:
        reference_id = item["reference_id"]
        if reference_id in seen:
            answers.append(
                _item(
                    reference_id,
                    "rjct",
                    "rjct.reference_id.duplicate",
                    "reference_id repeats an earlier item of this batch",
                )
            )
            continue
        seen.add(reference_id)
        answers.append(answer_item(store, item))
    return header_status(answers), {
        "transaction_id": message["transaction_id"],
        "correlation_id": correlation_id,
        "search_response": answers,
    }


def header_status(items: list[dict[str, Any]]) -> str:
    return "rjct" if items and all(item["status"] == "rjct" for item in items) else "succ"


def summary(items: list[dict[str, Any]]) -> str | None:
    rejected = sum(1 for item in items if item["status"] == "rjct")
    if rejected and rejected < len(items):
        return f"{rejected} of {len(items)} requests rejected"
    if rejected:
        return "all requests rejected"
    return None
