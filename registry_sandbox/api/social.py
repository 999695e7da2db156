"""DCI Social Registry endpoints: search (sync/async), txn status (sync/async), subscribe, unsubscribe."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from registry_sandbox.api import envelope, search, subscriptions, transactions
from registry_sandbox.api.callbacks import deliver
from registry_sandbox.api.context import ApiContext, accept, ctx

bp = Blueprint("dci_social", __name__)

TXN_TYPES = {"search": ("search",), "subscribe": ("subscribe", "unsubscribe")}


def _read_search(message: dict[str, Any]) -> None:
    envelope.read_batch(message, "search_request")


def _read_subscribe(message: dict[str, Any]) -> None:
    envelope.read_batch(message, "subscribe_request")


def _read_unsubscribe(message: dict[str, Any]) -> None:
    if envelope.parse_timestamp(message.get("timestamp")) is None:
        raise envelope.EnvelopeError("message.timestamp must be ISO 8601 with a timezone offset")
    codes = message.get("subscription_codes")
    if (
        not isinstance(codes, list)
        or not codes
        or not all(isinstance(code, str) and 0 < len(code) <= envelope.MAX_ID for code in codes)
    ):
        raise envelope.EnvelopeError(
            "message.subscription_codes must be a non-empty array of codes (≤99 chars)"
        )


def _read_txn_status(message: dict[str, Any]) -> None:
    request = message.get("txnstatus_request")
    if not isinstance(request, dict):
        raise envelope.EnvelopeError("message.txnstatus_request is required")
    if not isinstance(request.get("reference_id"), str):
        raise envelope.EnvelopeError("txnstatus_request.reference_id is required")
    if request.get("txn_type") not in ("search", "subscribe", "receipt"):
        raise envelope.EnvelopeError("txnstatus_request.txn_type must be search, subscribe or receipt")
    attribute_type = request.get("attribute_type")
    value = request.get("attribute_value")
    if attribute_type in ("transaction_id", "correlation_id"):
        if not isinstance(value, str) or len(value) > envelope.MAX_ID:
            raise envelope.EnvelopeError(f"attribute_value must be a {attribute_type} (≤99 chars)")
    elif attribute_type == "reference_id_list":
        if not isinstance(value, list) or not all(isinstance(ref, str) for ref in value):
            raise envelope.EnvelopeError("attribute_value must be a list of reference ids")
    else:
        raise envelope.EnvelopeError(
            "attribute_type must be transaction_id, reference_id_list or correlation_id"
        )
    envelope.check_locale(request.get("locale"), "txnstatus_request")


def _async_accept(scope: str, action: str, response_action: str, read) -> tuple[Any, str]:
    """Accept an async request; `accept` has checked that header.sender_uri is an http(s) URL."""
    accepted = accept(scope, action, "async", response_action, read)
    return accepted, accepted.header["sender_uri"]


def _search_envelope(
    context: ApiContext, request_header: dict[str, Any], status: str, response: dict[str, Any]
) -> dict[str, Any]:
    items = response["search_response"]
    header = envelope.callback_header(
        "on-search",
        status,
        request_header,
        context.sender_id,
        total=len(items),
        completed=len(items),
        reason_message=search.summary(items),
    )
    return context.sign(header, response)


# ---------------------------------------------------------------- search


@bp.post("/registry/sync/search")
def sync_search():  # type: ignore[no-untyped-def]
    context = ctx()
    accepted = accept("registry.search", "search", "sync", "on-search", _read_search)
    correlation_id = envelope.new_id("corr")
    status, response = search.answer_search(context.store, accepted.message, correlation_id)
    transactions.record(
        context.engine,
        correlation_id=correlation_id,
        transaction_id=accepted.message["transaction_id"],
        sender_id=accepted.sender_id,
        message_id=accepted.header["message_id"],
        txn_type="search",
        mode="sync",
        status=status,
        reference_ids=[i["reference_id"] for i in accepted.message["search_request"]],
        request=accepted.message,
        response=response,
        sender_uri=None,
    )
    return jsonify(_search_envelope(context, accepted.header, status, response))


@bp.post("/registry/search")
def async_search():  # type: ignore[no-untyped-def]
    context = ctx()
    accepted, uri = _async_accept("registry.search", "search", "on-search", _read_search)
    correlation_id = envelope.new_id("corr")
    transactions.record(
        context.engine,
        correlation_id=correlation_id,
        transaction_id=accepted.message["transaction_id"],
        sender_id=accepted.sender_id,
        message_id=accepted.header["message_id"],
        txn_type="search",
        mode="async",
        status="pdng",
        reference_ids=[i["reference_id"] for i in accepted.message["search_request"]],
        request=accepted.message,
        response=None,
        sender_uri=uri,
    )

    def work() -> None:
        status, response = search.answer_search(context.store, accepted.message, correlation_id)
        transactions.complete(context.engine, correlation_id, status, response)
        delivered, attempts = deliver(uri, _search_envelope(context, accepted.header, status, response))
        transactions.note_callback(
            context.engine, correlation_id, "delivered" if delivered else "failed", attempts
        )

    context.dispatcher.submit(work)
    return jsonify(envelope.ack("ACK", correlation_id))


# ---------------------------------------------------------------- txn status


def _pending_items(references: list[str]) -> list[dict[str, Any]]:
    return [{"reference_id": ref, "timestamp": envelope.now_ts(), "status": "pdng"} for ref in references]


def txn_status_message(
    context: ApiContext, sender_id: str, message: dict[str, Any], correlation_id: str
) -> tuple[str, str | None, dict[str, Any]]:
    """(header status, reason message, TxnStatusResponse).

    `txn_status` is the stored SearchResponse (its items filtered to the asked references for
    `reference_id_list`); a subscribe transaction is given as a SearchResponse-shaped object with an
    empty `search_response` and the stored `subscribe_response` (or unsubscribe fields) beside it.
    Unknown transactions: header `rjct` with an empty SearchResponse.
    """
    request = message["txnstatus_request"]
    txn_type = request["txn_type"]
    stored = None
    if txn_type in TXN_TYPES:
        stored = transactions.find(
            context.engine,
            sender_id,
            TXN_TYPES[txn_type],
            request["attribute_type"],
            request["attribute_value"],
        )
    if stored is None:
        status_body: dict[str, Any] = {
            "transaction_id": request["attribute_value"]
            if request["attribute_type"] == "transaction_id"
            else message["transaction_id"],
            "correlation_id": request["attribute_value"]
            if request["attribute_type"] == "correlation_id"
            else envelope.new_id("corr"),
            "search_response": [],
        }
        reason = "no such transaction" if txn_type != "receipt" else "txn_type receipt is not supported here"
        status = "rjct"
    else:
        reason = None
        if stored.txn_type == "search":
            if stored.response is None:
                status_body = {
                    "transaction_id": stored.transaction_id,
                    "correlation_id": stored.correlation_id,
                    "search_response": _pending_items(stored.reference_ids),
                }
            else:
                status_body = dict(stored.response)
        else:
            status_body = {
                "transaction_id": stored.transaction_id,
                "correlation_id": stored.correlation_id,
                "search_response": [],
                **{
                    k: v
                    for k, v in (stored.response or {}).items()
                    if k not in ("transaction_id", "correlation_id")
                },
            }
        if request["attribute_type"] == "reference_id_list" and stored.txn_type == "search":
            wanted = set(request["attribute_value"])
            status_body["search_response"] = [
                i for i in status_body["search_response"] if i.get("reference_id") in wanted
            ]
        status = "succ"
    response = {
        "transaction_id": message["transaction_id"],
        "correlation_id": correlation_id,
        "txnstatus_response": {"txn_type": txn_type, "txn_status": status_body},
    }
    return status, reason, response


def _txn_envelope(
    context: ApiContext,
    request_header: dict[str, Any],
    status: str,
    reason: str | None,
    response: dict[str, Any],
) -> dict[str, Any]:
    header = envelope.callback_header(
        "txn-on-status",
        status,
        request_header,
        context.sender_id,
        total=1,
        completed=1,
        reason_message=reason,
    )
    return context.sign(header, response)


@bp.post("/registry/sync/txn/status")
def sync_txn_status():  # type: ignore[no-untyped-def]
    context = ctx()
    accepted = accept("registry.search", "txn-status", "sync", "txn-on-status", _read_txn_status)
    status, reason, response = txn_status_message(
        context, accepted.sender_id, accepted.message, envelope.new_id("corr")
    )
    return jsonify(_txn_envelope(context, accepted.header, status, reason, response))


@bp.post("/registry/txn/status")
def async_txn_status():  # type: ignore[no-untyped-def]
    context = ctx()
    accepted, uri = _async_accept("registry.search", "txn-status", "txn-on-status", _read_txn_status)
    correlation_id = envelope.new_id("corr")

    def work() -> None:
        status, reason, response = txn_status_message(
            context, accepted.sender_id, accepted.message, correlation_id
        )
        deliver(uri, _txn_envelope(context, accepted.header, status, reason, response))

    context.dispatcher.submit(work)
    return jsonify(envelope.ack("ACK", correlation_id))


# ---------------------------------------------------------------- subscribe / unsubscribe


@bp.post("/registry/subscribe")
def subscribe():  # type: ignore[no-untyped-def]
    context = ctx()
    accepted, uri = _async_accept("registry.subscribe", "subscribe", "on-subscribe", _read_subscribe)
    correlation_id = envelope.new_id("corr")
    items = accepted.message["subscribe_request"]
    transactions.record(
        context.engine,
        correlation_id=correlation_id,
        transaction_id=accepted.message["transaction_id"],
        sender_id=accepted.sender_id,
        message_id=accepted.header["message_id"],
        txn_type="subscribe",
        mode="async",
        status="pdng",
        reference_ids=[i["reference_id"] for i in items],
        request=accepted.message,
        response=None,
        sender_uri=uri,
    )

    def work() -> None:
        seen: set[str] = set()
        answers = []
        for item in items:
            if item["reference_id"] in seen:
                answers.append(
                    {
                        "reference_id": item["reference_id"],
                        "timestamp": envelope.now_ts(),
                        "status": "rjct",
                        "status_reason_code": "rjct.reference_id.duplicate",
                    }
                )
                continue
            seen.add(item["reference_id"])
            answers.append(
                subscriptions.subscribe_item(
                    context.engine, accepted.sender_id, uri, accepted.message["transaction_id"], item
                )
            )
        status = search.header_status(answers)
        response = {
            "transaction_id": accepted.message["transaction_id"],
            "correlation_id": correlation_id,
            "subscribe_response": answers,
        }
        transactions.complete(context.engine, correlation_id, status, response)
        header = envelope.callback_header(
            "on-subscribe",
            status,
            accepted.header,
            context.sender_id,
            total=len(answers),
            completed=len(answers),
            reason_message=search.summary(answers),
        )
        delivered, attempts = deliver(uri, context.sign(header, response))
        transactions.note_callback(
            context.engine, correlation_id, "delivered" if delivered else "failed", attempts
        )

    context.dispatcher.submit(work)
    return jsonify(envelope.ack("ACK", correlation_id))


@bp.post("/registry/unsubscribe")
def unsubscribe():  # type: ignore[no-untyped-def]
    context = ctx()
    accepted, uri = _async_accept("registry.subscribe", "unsubscribe", "on-unsubscribe", _read_unsubscribe)
    correlation_id = envelope.new_id("corr")
    codes = accepted.message["subscription_codes"]
    transactions.record(
        context.engine,
        correlation_id=correlation_id,
        transaction_id=accepted.message["transaction_id"],
        sender_id=accepted.sender_id,
        message_id=accepted.header["message_id"],
        txn_type="unsubscribe",
        mode="async",
        status="pdng",
        reference_ids=[],
        request=accepted.message,
        response=None,
        sender_uri=uri,
    )

    def work() -> None:
        status, reason_code, statuses = subscriptions.unsubscribe(context.engine, accepted.sender_id, codes)
        response: dict[str, Any] = {
            "transaction_id": accepted.message["transaction_id"],
            "correlation_id": correlation_id,
            "timestamp": envelope.now_ts(),
            "status": status,
            "subscription_status": statuses,
        }
        if reason_code:
            response["status_reason_code"] = reason_code
        transactions.complete(context.engine, correlation_id, status, response)
        header = envelope.callback_header(
            "on-unsubscribe",
            status,
            accepted.header,
            context.sender_id,
            total=len(codes),
            completed=len(codes),
        )
        delivered, attempts = deliver(uri, context.sign(header, response))
        transactions.note_callback(
            context.engine, correlation_id, "delivered" if delivered else "failed", attempts
        )

    context.dispatcher.submit(work)
    return jsonify(envelope.ack("ACK", correlation_id))
