"""Sandbox extensions (proposals for the SPR operator), in the DCI envelope style:

    POST /ext/registry/sync/enrolments   action enrolments → on-enrolments
    POST /ext/registry/sync/payments     action payments   → on-payments
    POST /ext/registry/sync/changes      action changes    → on-changes

Same rules as the SR endpoints: bearer token with scope `registry.ext`, signature per
REGISTRY_SIGNATURES, batches with unique `reference_id`s, per-item `status`/`status_reason_code`,
signed responses with a callback header. Item reason codes: `rjct.reference_id.duplicate`,
`rjct.timestamp.invalid`, `rjct.search_criteria.invalid` (bad identifier or date),
`rjct.person_id.invalid` (unknown person), and for changes whatever the store reports. An applied
change is followed (in the background) by `notify` to matching subscriptions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Blueprint, jsonify

from registry_sandbox import query
from registry_sandbox.api import envelope, search, subscriptions
from registry_sandbox.api.context import ApiContext, accept, ctx
from registry_sandbox.api.queries import parse_identifier

bp = Blueprint("dci_ext", __name__)


class ItemError(ValueError):
    def __init__(self, message: str, reason_code: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code


def _identifier(value: object, where: str) -> tuple[str, str]:
    try:
        return parse_identifier(value)
    except query.QueryError as error:
        raise ItemError(f"{where}: {error}", "rjct.search_criteria.invalid") from error


def _date(value: object, where: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):
        stamp = envelope.parse_timestamp(value)
        if stamp is not None:
            return stamp.astimezone(envelope.CAMBODIA).date()
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ItemError(
        f"{where} must be a date (YYYY-MM-DD) or a date-time with an offset", "rjct.search_criteria.invalid"
    )


def _batch_answer(
    context: ApiContext, items: list[dict[str, Any]], handle: Callable[[dict[str, Any]], dict[str, Any]]
) -> list[dict[str, Any]]:
    answers = []
    seen: set[str] = set()
    for item in items:
        reference_id = item["reference_id"]
        answer: dict[str, Any] = {"reference_id": reference_id, "timestamp": envelope.now_ts()}
        try:
            if reference_id in seen:
                raise ItemError(
                    "reference_id repeats an earlier item of this batch", "rjct.reference_id.duplicate"
                )
            seen.add(reference_id)
            if envelope.parse_timestamp(item.get("timestamp")) is None:
                raise ItemError("timestamp must be ISO 8601 with an offset", "rjct.timestamp.invalid")
            answer.update(status="succ", **handle(item))
        except ItemError as error:
            answer.update(
                status="rjct", status_reason_code=error.reason_code, status_reason_message=str(error)
            )
        answers.append(answer)
    return answers


def _respond(context: ApiContext, accepted: Any, action: str, key: str, answers: list[dict[str, Any]]):
    response = {
        "transaction_id": accepted.message["transaction_id"],
        "correlation_id": envelope.new_id("corr"),
        key: answers,
    }
    header = envelope.callback_header(
        action,
        search.header_status(answers),
        accepted.header,
        context.sender_id,
        total=len(answers),
        completed=len(answers),
        reason_message=search.summary(answers),
    )
    return jsonify(context.sign(header, response))


def _reader(key: str) -> Callable[[dict[str, Any]], None]:
    def read(message: dict[str, Any]) -> None:
        envelope.read_batch(message, key)

    return read


@bp.post("/ext/registry/sync/enrolments")
def enrolments():  # type: ignore[no-untyped-def]
    context = ctx()
    accepted = accept("registry.ext", "enrolments", "sync", "on-enrolments", _reader("enrolment_request"))

    def handle(item: dict[str, Any]) -> dict[str, Any]:
        id_type, value = _identifier(item.get("person_identifier"), "person_identifier")
        found = context.store.enrolments(id_type, value)
        if found is None:
            raise ItemError("person not found in the registry", "rjct.person_id.invalid")
        return {
            "beneficiary": {
                "member_identifier": [{"identifier_type": id_type, "identifier_value": value}],
                "programme_identifier": found,
            },
            "locale": envelope.LOCALE,
        }

    answers = _batch_answer(context, accepted.message["enrolment_request"], handle)
    return _respond(context, accepted, "on-enrolments", "enrolment_response", answers)


@bp.post("/ext/registry/sync/payments")
def payments():  # type: ignore[no-untyped-def]
    context = ctx()
    accepted = accept("registry.ext", "payments", "sync", "on-payments", _reader("payment_request"))

    def handle(item: dict[str, Any]) -> dict[str, Any]:
        id_type, value = _identifier(item.get("person_identifier"), "person_identifier")
        programme = item.get("programme_identifier")
        if programme is not None and (not isinstance(programme, str) or not programme):
            raise ItemError("programme_identifier must be a programme code", "rjct.search_criteria.invalid")
        since = _date(item.get("since"), "since")
        found = context.store.payments(id_type, value, programme=programme, since=since)
        if found is None:
            raise ItemError("person not found in the registry", "rjct.person_id.invalid")
        return {"payments": found, "locale": envelope.LOCALE}

    answers = _batch_answer(context, accepted.message["payment_request"], handle)
    return _respond(context, accepted, "on-payments", "payment_response", answers)


def _change_target(item: dict[str, Any]) -> tuple[str, str]:
    if item.get("person_identifier") is not None:
        return _identifier(item["person_identifier"], "person_identifier")
    household = item.get("household_identifier")
    if isinstance(household, str) and household:
        return "HOUSEHOLD_ID", household
    if household is not None:
        return _identifier(household, "household_identifier")
    raise ItemError("person_identifier or household_identifier is required", "rjct.search_criteria.invalid")


@bp.post("/ext/registry/sync/changes")
def changes():  # type: ignore[no-untyped-def]
    context = ctx()
    accepted = accept("registry.ext", "changes", "sync", "on-changes", _reader("change_request"))
    applied: list[subscriptions.Change] = []

    def handle(item: dict[str, Any]) -> dict[str, Any]:
        change_type = item.get("change_type")
        if not isinstance(change_type, str) or not change_type:
            raise ItemError("change_type is required", "rjct.search_criteria.invalid")
        target_type, target_value = _change_target(item)
        requested_by = item.get("requested_by")
        outcome = context.store.apply_change(
            change_type,
            target_type,
            target_value,
            item.get("old_value"),
            item.get("new_value"),
            requested_by if isinstance(requested_by, str) else accepted.sender_id,
        )
        if not outcome.applied:
            raise ItemError(
                f"change not applied: {outcome.reason_code}",
                outcome.reason_code or "rjct.search_criteria.invalid",
            )
        events = {"update"}
        if change_type == "member_birth":  # a person added to the household
            events.add("new_household_member")
        applied.append(
            subscriptions.Change(outcome.household_id, outcome.person_spid, frozenset(events), change_type)
        )
        applied_at = outcome.applied_at
        stamp = applied_at if isinstance(applied_at, str) else envelope.render_datetime(applied_at)
        return {"applied_at": stamp}

    answers = _batch_answer(context, accepted.message["change_request"], handle)
    for change in applied:
        context.dispatcher.submit(lambda change=change: subscriptions.notify_change(context, change))
    return _respond(context, accepted, "on-changes", "change_response", answers)
