"""Async search, txn status, subscribe/notify/unsubscribe with a real callback receiver on loopback.
Callbacks are validated as request bodies of the caller-side paths (/registry/on-search, …) and
their signatures are checked against the sandbox's JWKS."""

# ruff: noqa: F811  (the shared fixtures are imported by name from test_api_support)

from __future__ import annotations

import time
import uuid

import pytest

from tests.fixtures.registry import start_live_registry
from tests.registry_sandbox.test_api_support import (  # noqa: F401  (fixtures)
    CallbackReceiver,
    DciCaller,
    callback_for,
    caller,
    id_item,
    receiver,
    search_item,
    ts,
)


def _new_txn() -> str:
    return f"txn-{uuid.uuid4().hex[:12]}"


def async_search(caller: DciCaller, receiver: CallbackReceiver, *items: dict) -> tuple[str, str]:
    """(transaction id, correlation id) of an acknowledged async search."""
    transaction_id = _new_txn()
    body = caller.envelope(
        "search",
        {"transaction_id": transaction_id, "search_request": list(items)},
        sender_uri=receiver.url + "/registry/on-search",
    )
    ack = caller.post("/registry/search", body).json()["message"]
    assert ack["ack_status"] == "ACK" and ack["timestamp"].endswith("+07:00")
    return transaction_id, ack["correlation_id"]


def test_async_search_posts_a_signed_on_search(caller: DciCaller, receiver: CallbackReceiver) -> None:
    transaction_id, correlation_id = async_search(
        caller,
        receiver,
        id_item("UIN", "100000105", "Member", reference_id="r-p5"),
        id_item("MOBILE", "+85512000108", "Member", reference_id="r-p8"),
    )
    body = callback_for(
        receiver, caller, "on-search", lambda b: b["message"]["correlation_id"] == correlation_id
    )
    assert (
        body["header"]["status"] == "succ"
        and body["header"]["receiver_id"] == caller.settings.registry_sender_id
    )
    assert body["message"]["transaction_id"] == transaction_id
    by_ref = {item["reference_id"]: item for item in body["message"]["search_response"]}
    assert len(by_ref["r-p5"]["data"]["reg_records"]) == 1
    assert by_ref["r-p8"]["pagination"]["total_count"] == 2


def test_async_errors_are_acks_with_err(caller: DciCaller, receiver: CallbackReceiver) -> None:
    message = {"transaction_id": _new_txn(), "search_request": [id_item("UIN", "100000101")]}
    no_uri = caller.post("/registry/search", caller.envelope("search", message), expect=400).json()
    assert no_uri["message"]["ack_status"] == "ERR"
    assert no_uri["message"]["error"]["code"] == "err.sender_uri.invalid"
    bad = caller.envelope(
        "search",
        {**message, "search_request": [{**message["search_request"][0], "locale": "EN/GB"}]},
        sender_uri="http://127.0.0.1:9/on-search",
    )
    response = caller.post("/registry/search", bad, validate=False, expect=400).json()
    assert (
        response["message"]["ack_status"] == "ERR"
        and response["message"]["error"]["code"] == "err.request.bad"
    )
    ok = caller.envelope("search", message, sender_uri=receiver.url + "/registry/on-search")
    first = caller.post("/registry/search", ok).json()["message"]
    assert first["ack_status"] == "ACK"
    callback_for(
        receiver, caller, "on-search", lambda b: b["message"]["correlation_id"] == first["correlation_id"]
    )
    again = caller.post("/registry/search", ok).json()["message"]
    assert again["ack_status"] == "ERR" and "rjct.message_id.duplicate" in again["error"]["message"]


def test_callbacks_are_retried_after_a_server_error(caller: DciCaller) -> None:
    flaky = CallbackReceiver()
    try:
        flaky.status = 503
        _, correlation_id = async_search(caller, flaky, id_item("UIN", "100000102"))
        flaky.wait_for(lambda _p, b: b["message"]["correlation_id"] == correlation_id)
        flaky.status = 200
        time.sleep(0.1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            hits = [b for _p, b in flaky.received if b["message"]["correlation_id"] == correlation_id]
            if len(hits) >= 2:
                break
            time.sleep(0.1)
        assert len(hits) >= 2 and hits[-1] == hits[0]  # the same signed envelope, delivered again
    finally:
        flaky.close()


def _txn_status(
    caller: DciCaller,
    attribute_type: str,
    value: object,
    txn_type: str = "search",
    path: str = "/registry/sync/txn/status",
    sender_uri: str | None = None,
) -> dict:
    body = caller.envelope(
        "txn-status",
        {
            "transaction_id": _new_txn(),
            "txnstatus_request": {
                "reference_id": "ref-status",
                "txn_type": txn_type,
                "attribute_type": attribute_type,
                "attribute_value": value,
            },
        },
        sender_uri=sender_uri,
    )
    return caller.post(path, body).json()


def test_txn_status_sync_by_each_attribute(caller: DciCaller, receiver: CallbackReceiver) -> None:
    transaction_id, correlation_id = async_search(
        caller,
        receiver,
        id_item("UIN", "100000101", reference_id="s-1"),
        id_item("PASSPORT", "x", reference_id="s-2"),
    )
    on_search = callback_for(
        receiver, caller, "on-search", lambda b: b["message"]["correlation_id"] == correlation_id
    )
    for attribute_type, value in (("transaction_id", transaction_id), ("correlation_id", correlation_id)):
        response = _txn_status(caller, attribute_type, value)
        assert response["header"]["status"] == "succ"
        status = response["message"]["txnstatus_response"]
        assert status["txn_type"] == "search"
        assert status["txn_status"] == on_search["message"]
    only_second = _txn_status(caller, "reference_id_list", ["s-2"])["message"]["txnstatus_response"][
        "txn_status"
    ]
    assert [i["reference_id"] for i in only_second["search_response"]] == ["s-2"]
    assert only_second["search_response"][0]["status_reason_code"] == "rjct.search_criteria.invalid"
    unknown = _txn_status(caller, "transaction_id", "txn-never-sent")
    assert unknown["header"]["status"] == "rjct"
    assert unknown["message"]["txnstatus_response"]["txn_status"]["search_response"] == []


def test_txn_status_of_a_sync_search_survives_a_restart(caller: DciCaller) -> None:
    transaction_id = _new_txn()
    body = caller.envelope(
        "search", {"transaction_id": transaction_id, "search_request": [id_item("UIN", "100000104")]}
    )
    answered = caller.post("/registry/sync/search", body).json()
    restarted, server = start_live_registry(caller.settings)
    try:
        other = DciCaller(restarted)
        response = _txn_status(other, "transaction_id", transaction_id)
        assert response["message"]["txnstatus_response"]["txn_status"] == answered["message"]
    finally:
        server.shutdown()  # type: ignore[attr-defined]


def test_txn_status_async_posts_txn_on_status(caller: DciCaller, receiver: CallbackReceiver) -> None:
    transaction_id, correlation_id = async_search(caller, receiver, id_item("UIN", "100000107"))
    callback_for(receiver, caller, "on-search", lambda b: b["message"]["correlation_id"] == correlation_id)
    ack = _txn_status(
        caller,
        "transaction_id",
        transaction_id,
        path="/registry/txn/status",
        sender_uri=receiver.url + "/registry/txn/on-status",
    )["message"]
    assert ack["ack_status"] == "ACK"
    body = callback_for(
        receiver, caller, "txn-on-status", lambda b: b["message"]["correlation_id"] == ack["correlation_id"]
    )
    txn_status = body["message"]["txnstatus_response"]["txn_status"]
    assert txn_status["transaction_id"] == transaction_id and txn_status["correlation_id"] == correlation_id


# ---------------------------------------------------------------- subscribe / notify / unsubscribe


def _synthetic_households(caller: DciCaller, count: int) -> list[dict]:
    query = {"type": "expression", "value": {"expression": {"query": {"group_size": {"$gte": 2}}}}}
    item = caller.search(
        search_item("expression", query, response_entity="Group", pagination={"page_size": 100})
    )
    records = item["message"]["search_response"][0]["data"]["reg_records"]
    return [r for r in records if int(r["group_identifier"][0]["identifier_value"][-8:]) >= 1000][-count:]


def _household_id(record: dict) -> str:
    return next(
        i["identifier_value"] for i in record["group_identifier"] if i["identifier_type"] == "HOUSEHOLD_ID"
    )


def _subscribe(
    caller: DciCaller,
    receiver: CallbackReceiver,
    filter_type: str,
    filter_: object,
    record_type: str = "Group",
    event: str = "UPDATE",
) -> str:
    transaction_id = _new_txn()
    body = caller.envelope(
        "subscribe",
        {
            "transaction_id": transaction_id,
            "subscribe_request": [
                {
                    "reference_id": f"ref-{uuid.uuid4().hex[:8]}",
                    "timestamp": ts("Z"),
                    "subscribe_criteria": {
                        "version": "1.0.0",
                        "reg_type": "ns:org:RegistryType:Social",
                        "reg_event_type": event,
                        "filter_type": filter_type,
                        "filter": filter_,
                        "notify_record_type": record_type,
                        "frequency": {
                            "start_time": ts(),
                            "end_time": "2027-12-31T23:59:59+07:00",
                            "frequency": "0 0 6 * * ? *",
                        },
                    },
                    "locale": "khm",
                }
            ],
        },
        sender_uri=receiver.url + "/registry/on-subscribe",
    )
    ack = caller.post("/registry/subscribe", body).json()["message"]
    assert ack["ack_status"] == "ACK"
    answer = callback_for(
        receiver, caller, "on-subscribe", lambda b: b["message"]["correlation_id"] == ack["correlation_id"]
    )
    [item] = answer["message"]["subscribe_response"]
    assert item["status"] == "succ", item
    [subscription] = item["subscriptions"]
    assert subscription["status"] == "subscribe" and subscription["code"].startswith("sub-")
    return subscription["code"]


def _change_address(caller: DciCaller, household_id: str, line: str) -> dict:
    response = caller.ext(
        "/ext/registry/sync/changes",
        "changes",
        "change_request",
        [
            {
                "reference_id": "c-1",
                "timestamp": ts(),
                "change_type": "address",
                "household_identifier": household_id,
                "old_value": None,
                "new_value": {"line": line},
                "requested_by": "test",
            }
        ],
    )
    [item] = response["message"]["change_response"]
    assert item["status"] == "succ", item
    assert item["applied_at"].endswith("+07:00")
    return item


def _notified(receiver: CallbackReceiver, code: str) -> list[dict]:
    return [
        b
        for _p, b in receiver.received
        if (b.get("header") or {}).get("action") == "notify"
        and b["header"].get("meta", {}).get("subscription_code") == code
    ]


def test_subscribe_notify_unsubscribe(caller: DciCaller, receiver: CallbackReceiver) -> None:
    watched, other = _synthetic_households(caller, 2)
    watched_id, other_id = _household_id(watched), _household_id(other)
    province = watched["place"]["address"]["region_code"]
    by_id = _subscribe(caller, receiver, "idtype-value", {"type": "HOUSEHOLD_ID", "value": watched_id})
    assert (
        _subscribe(caller, receiver, "idtype-value", {"type": "HOUSEHOLD_ID", "value": watched_id}) == by_id
    )
    by_expression = _subscribe(
        caller,
        receiver,
        "expression",
        {
            "type": "expression",
            "value": {"expression": {"collection": "Member", "query": {"province_code": {"$eq": province}}}},
        },
        record_type="Member",
        event="spdci:common:RegistryEventType:UPDATE",
    )
    elsewhere = _subscribe(caller, receiver, "idtype-value", {"type": "HOUSEHOLD_ID", "value": other_id})
    registrations = _subscribe(
        caller, receiver, "idtype-value", {"type": "HOUSEHOLD_ID", "value": watched_id}, event="REGISTER"
    )

    _change_address(caller, watched_id, "ភូមិថ្មី ផ្ទះលេខ ១")
    notify = callback_for(
        receiver, caller, "notify", lambda b: b["header"]["meta"]["subscription_code"] == by_id
    )
    [event] = notify["message"]["notify_event"]
    record = event["data"]["reg_records"]
    assert isinstance(record, dict) and _household_id(record) == watched_id
    assert record["place"]["address"]["address_line1"] == "ភូមិថ្មី ផ្ទះលេខ ១"
    member_notice = callback_for(
        receiver, caller, "notify", lambda b: b["header"]["meta"]["subscription_code"] == by_expression
    )
    member = member_notice["message"]["notify_event"][0]["data"]["reg_records"]
    assert member_notice["message"]["notify_event"][0]["data"]["reg_record_type"] == "Member"
    assert member["demographic_info"]["household_identifier"] == watched_id
    time.sleep(0.5)
    assert not _notified(receiver, elsewhere) and not _notified(receiver, registrations)

    body = caller.envelope(
        "unsubscribe",
        {
            "transaction_id": _new_txn(),
            "timestamp": ts(),
            "subscription_codes": [by_id, "sub-does-not-exist"],
        },
        sender_uri=receiver.url + "/registry/on-unsubscribe",
    )
    ack = caller.post("/registry/unsubscribe", body).json()["message"]
    answer = callback_for(
        receiver, caller, "on-unsubscribe", lambda b: b["message"]["correlation_id"] == ack["correlation_id"]
    )
    assert answer["message"]["status"] == "succ"
    assert answer["message"]["subscription_status"] == [{"code": by_id, "status": "unsubscribe"}]

    before = len(_notified(receiver, by_id))
    _change_address(caller, watched_id, "ភូមិថ្មី ផ្ទះលេខ ២")
    callback_for(
        receiver,
        caller,
        "notify",
        lambda b: (
            b["header"]["meta"]["subscription_code"] == by_expression
            and b["message"]["notify_event"][0]["data"]["reg_records"]["demographic_info"]["address"][0].get(
                "address_line1"
            )
            == "ភូមិថ្មី ផ្ទះលេខ ២"
        ),
    )
    time.sleep(0.3)
    assert len(_notified(receiver, by_id)) == before

    txn = _txn_status(caller, "correlation_id", ack["correlation_id"], txn_type="subscribe")
    assert txn["message"]["txnstatus_response"]["txn_status"]["subscription_status"][0]["code"] == by_id


def test_unsubscribe_rejections_and_the_fixture(caller: DciCaller, receiver: CallbackReceiver) -> None:
    def unsubscribe(codes: list[str]) -> dict:
        body = caller.envelope(
            "unsubscribe",
            {"transaction_id": _new_txn(), "timestamp": ts(), "subscription_codes": codes},
            sender_uri=receiver.url + "/registry/on-unsubscribe",
        )
        ack = caller.post("/registry/unsubscribe", body).json()["message"]
        return callback_for(
            receiver,
            caller,
            "on-unsubscribe",
            lambda b: b["message"]["correlation_id"] == ack["correlation_id"],
        )["message"]

    unknown = unsubscribe(["sub-nope"])
    assert unknown["status"] == "rjct" and unknown["status_reason_code"] == "rjct.subscription_code.invalid"
    for _ in range(2):  # the compliance fixture stays usable
        fixture = unsubscribe(["sub-test-001"])
        assert fixture["status"] == "succ"
        assert fixture["subscription_status"] == [{"code": "sub-test-001", "status": "unsubscribe"}]


@pytest.mark.parametrize(
    ("criteria", "reason"),
    [
        (
            {
                "reg_event_type": "BIRTHDAY",
                "filter": {"type": "UIN", "value": "1"},
                "notify_record_type": "Group",
            },
            "rjct.notify_types.invalid",
        ),
        (
            {
                "reg_event_type": "UPDATE",
                "filter": {"type": "SHOE", "value": "1"},
                "notify_record_type": "Group",
            },
            "rjct.notify_details.invalid",
        ),
        (
            {
                "reg_event_type": "UPDATE",
                "filter": {"type": "UIN", "value": "1"},
                "notify_record_type": "Car",
            },
            "rjct.notify_details.invalid",
        ),
    ],
)
def test_subscribe_item_rejections(
    caller: DciCaller, receiver: CallbackReceiver, criteria: dict, reason: str
) -> None:
    body = caller.envelope(
        "subscribe",
        {
            "transaction_id": _new_txn(),
            "subscribe_request": [{"reference_id": "r", "timestamp": ts(), "subscribe_criteria": criteria}],
        },
        sender_uri=receiver.url + "/registry/on-subscribe",
    )
    ack = caller.post("/registry/subscribe", body).json()["message"]
    answer = callback_for(
        receiver, caller, "on-subscribe", lambda b: b["message"]["correlation_id"] == ack["correlation_id"]
    )
    assert answer["header"]["status"] == "rjct"
    assert answer["message"]["subscribe_response"][0]["status_reason_code"] == reason
