"""DCI protocol features against the live sandbox: typed search results and pagination, async search
with its callback, transaction status, subscriptions, IBR, signatures in `required` mode, CamDX."""

from __future__ import annotations

import json
import queue
from urllib.parse import unquote

import pytest

from chumnuoy.envfile import new_ed25519_key
from registry_client.dci import SearchCriteria
from registry_client.types import RegistryError, RegistryRejected, RegistryResponseInvalid
from tests.dci_openapi import validate_callback
from tests.registry_client.loopback import Loopback, Reply, Seen, forward
from tests.registry_client.personas import BY_KEY

P1 = BY_KEY["P1"]
CENTRAL_GROUPS = SearchCriteria("expression", {
    "type": "ns:org:QueryType:expression",
    "value": {"expression": {"collection": "Group", "query": {"$and": [
        {"poverty_score": {"$lt": 5}}, {"location": {"$eq": "central_region"}},
        {"group_size": {"$lt": 5}}]}}}},
    "Group", page_size=1)
YOUNG_POOR = SearchCriteria("predicate", [{"seq_num": 1, "expression1": {
    "attribute_name": "age", "operator": "lt", "attribute_value": 25}, "condition": "and",
    "expression2": {"attribute_name": "poverty_score", "operator": "lt", "attribute_value": 2.5}}],
    "Member", page_size=50)


@pytest.fixture
def callbacks():
    """A receiver for the registry's callbacks (our `sender_uri`)."""
    received: queue.Queue = queue.Queue()

    def handle(seen: Seen) -> Reply:
        received.put(json.loads(seen.body))
        ack = {"ack_status": "ACK", "timestamp": "2026-11-25T00:00:00+07:00", "correlation_id": "ours"}
        return Reply(200, json.dumps({"message": ack}).encode())

    server = Loopback(handle)
    server.received = received
    yield server
    server.close()


def test_batch_search_typed_with_pagination(live_registry, make_client) -> None:
    client, _ = make_client(live_registry.settings)
    result = client.transport.sync_search([CENTRAL_GROUPS, YOUNG_POOR,
                                           SearchCriteria.by_identifier("UIN", "TEST-001", "Member")])
    groups, young, test001 = result.items
    assert result.status == "succ" and result.correlation_id
    assert [i.reference_id for i in result.items] == ["ref-1", "ref-2", "ref-3"]
    assert groups.record_type == "Group" and len(groups.records) == 1
    assert groups.total_count >= 2 and groups.has_more
    second = client.transport.sync_search([CENTRAL_GROUPS.page(2)]).items[0]
    assert second.page_number == 2 and second.records != groups.records
    assert young.record_type == "Member" and young.records
    for record in young.records:
        age = {a["name"]: a["value"] for a in record["additional_attributes"]}["age"]
        assert age < 25
    assert test001.total_count == 1


def test_rejected_item_raises_with_its_code(live_registry, make_client) -> None:
    client, _ = make_client(live_registry.settings)
    with pytest.raises(RegistryRejected) as caught:
        client.find_people("NIDX", "1")  # type: ignore[arg-type]
    assert caught.value.code == "rjct.search_criteria.invalid"


def test_sync_txn_status_returns_the_search(live_registry, make_client) -> None:
    client, _ = make_client(live_registry.settings)
    first = client.transport.sync_search([SearchCriteria.by_identifier("UIN", P1.uin, "Member")])
    status = client.transport.txn_status_sync(first.transaction_id)
    assert status.txn_type == "search" and status.search is not None
    assert status.search.items[0].records == first.items[0].records


def test_async_search_calls_back(live_registry, make_client, callbacks) -> None:
    client, _ = make_client(live_registry.settings)
    ack = client.transport.search_async([SearchCriteria.by_identifier("UIN", P1.uin, "Member")],
                                        sender_uri=callbacks.url + "/registry/on-search")
    assert ack.ack_status == "ACK" and ack.correlation_id
    body = callbacks.received.get(timeout=10)
    validate_callback("on-search", body)
    client.transport.verify_callback(body)
    assert body["message"]["transaction_id"] == ack.transaction_id
    uins = [i["identifier_value"] for i in body["message"]["search_response"][0]["data"]["reg_records"][0]
            ["member_identifier"] if i["identifier_type"] == "UIN"]
    assert uins == [P1.uin]
    tampered = json.loads(json.dumps(body))
    tampered["message"]["transaction_id"] = "txn-forged"
    with pytest.raises(RegistryResponseInvalid):
        client.transport.verify_callback(tampered)


def test_subscribe_then_unsubscribe(live_registry, make_client, callbacks) -> None:
    client, _ = make_client(live_registry.settings)
    household = client.household_of(client.find_people("UIN", P1.uin)[0])
    ack = client.transport.subscribe("idtype-value",
                                     {"type": "HOUSEHOLD_ID", "value": household.household_id},
                                     callbacks.url + "/registry/notify")
    assert ack.ack_status == "ACK"
    on_subscribe = callbacks.received.get(timeout=10)
    validate_callback("on-subscribe", on_subscribe)
    item = on_subscribe["message"]["subscribe_response"][0]
    assert item["status"] == "succ"
    code = item["subscriptions"][0]["code"]
    ack = client.transport.unsubscribe([code], callbacks.url + "/registry/on-unsubscribe")
    assert ack.ack_status == "ACK"
    on_unsubscribe = callbacks.received.get(timeout=10)
    validate_callback("on-unsubscribe", on_unsubscribe)
    assert on_unsubscribe["message"]["subscription_status"] == [{"code": code, "status": "unsubscribe"}]


def test_required_mode_round_trip(live_registry_strict, make_client) -> None:
    client, sent = make_client(live_registry_strict.settings)
    assert client.transport.require_signatures
    people = client.find_people("UIN", P1.uin)
    assert [p.uin for p in people] == [P1.uin]
    assert "/.well-known/jwks.json" in sent.paths()  # the answer's signature was checked
    assert client.enrolments(people[0]) and client.payments(people[0])
    assert client.is_enrolled(people[0], "pregnant_child_cash")


def test_required_mode_refuses_a_key_it_does_not_know(live_registry_strict, make_client) -> None:
    client, _ = make_client(live_registry_strict.settings, registry_signing_key=new_ed25519_key())
    with pytest.raises(RegistryRejected) as caught:
        client.find_people("UIN", P1.uin)
    assert caught.value.code == "err.signature.invalid"


def test_required_mode_catches_a_tampered_answer(live_registry_strict, make_client) -> None:
    def tamper(seen: Seen) -> Reply:
        reply = forward(live_registry_strict.url, seen)
        if seen.path == "/registry/sync/search":
            body = json.loads(reply.body)
            person = body["message"]["search_response"][0]["data"]["reg_records"][0]["demographic_info"]
            assert person["name"]["given_name"] == "សុខា"
            person["name"]["given_name"] = "សុខី"
            reply.body = json.dumps(body).encode()
        return reply

    proxy = Loopback(tamper)
    try:
        client, _ = make_client(live_registry_strict.settings, registry_url=proxy.url)
        with pytest.raises(RegistryResponseInvalid) as caught:
            client.find_people("UIN", P1.uin)
        assert caught.value.code == "err.signature.invalid"
    finally:
        proxy.close()


def test_required_mode_refuses_an_unsigned_answer(live_registry_strict, make_client) -> None:
    def strip(seen: Seen) -> Reply:
        reply = forward(live_registry_strict.url, seen)
        if seen.path == "/registry/sync/search":
            body = json.loads(reply.body)
            body.pop("signature", None)
            reply.body = json.dumps(body).encode()
        return reply

    proxy = Loopback(strip)
    try:
        strict, _ = make_client(live_registry_strict.settings, registry_url=proxy.url)
        with pytest.raises(RegistryResponseInvalid) as caught:
            strict.find_people("UIN", P1.uin)
        assert caught.value.code == "err.signature.missing"
        # dev mode accepts the same unsigned answer (and still signs its own requests)
        dev, _ = make_client(live_registry_strict.settings, registry_url=proxy.url, registry_signatures="dev")
        assert [p.uin for p in dev.find_people("UIN", P1.uin)] == [P1.uin]
    finally:
        proxy.close()


XROAD_CLIENT = "CAMBODIA/GOV/MOSVY-0001/CHUMNUOY"
XROAD_SERVICE = "CAMBODIA/GOV/NSPC SPR/SPR/dci"
XROAD_PREFIX = "/r1/CAMBODIA/GOV/NSPC%20SPR/SPR/dci"


@pytest.fixture
def security_server(live_registry):
    """A stand-in for our CamDX security server: checks the r1 path and X-Road-Client, then forwards."""

    def handle(seen: Seen) -> Reply:
        if not seen.path.startswith(XROAD_PREFIX + "/") or seen.headers.get("x-road-client") != XROAD_CLIENT \
                or not seen.headers.get("x-road-id"):
            body = {"type": "Client.BadRequest", "message": "unknown service or client", "detail": seen.path}
            return Reply(400, json.dumps(body).encode(),
                         {"Content-Type": "application/json", "X-Road-Error": "Client.BadRequest"})
        return forward(live_registry.url, seen, strip_prefix=XROAD_PREFIX)

    server = Loopback(handle)
    yield server
    server.close()


def test_xroad_mode_goes_through_the_security_server(live_registry, make_client, security_server) -> None:
    client, sent = make_client(live_registry.settings, registry_url=security_server.url,
                               xroad_client=XROAD_CLIENT, xroad_service=XROAD_SERVICE)
    person = client.find_people("UIN", P1.uin)[0]
    assert person.uin == P1.uin
    assert client.payments(person, "pregnant_child_cash")
    assert client.is_enrolled(person, "pregnant_child_cash")
    assert security_server.seen and all(s.path.startswith(XROAD_PREFIX + "/") for s in security_server.seen)
    assert all(s.headers["x-road-client"] == XROAD_CLIENT for s in security_server.seen)
    assert unquote(XROAD_PREFIX) == "/r1/" + XROAD_SERVICE
    before = len(sent)
    with pytest.raises(RegistryError, match="synchronous only"):
        client.transport.search_async([SearchCriteria.by_identifier("UIN", P1.uin)], "https://example.org/cb")
    assert len(sent) == before  # refused locally


def test_xroad_error_is_reported_with_its_type(live_registry, make_client, security_server) -> None:
    client, _ = make_client(live_registry.settings, registry_url=security_server.url,
                            xroad_client="CAMBODIA/COM/SOMEONE/ELSE", xroad_service=XROAD_SERVICE)
    with pytest.raises(RegistryRejected) as caught:
        client.find_people("UIN", P1.uin)
    assert caught.value.code == "Client.BadRequest" and caught.value.http_status == 400


def test_without_a_signing_key_dev_sends_the_stub(live_registry, make_client) -> None:
    client, sent = make_client(live_registry.settings, registry_signing_key="")
    assert [p.uin for p in client.find_people("UIN", P1.uin)] == [P1.uin]
    searches = [json.loads(r.content) for r in sent if r.url.path == "/registry/sync/search"]
    assert [s["signature"] for s in searches] == ["unsigned-stub"]
