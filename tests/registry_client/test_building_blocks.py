"""Pieces that need no registry: envelopes against the OpenAPI file, the breaker, backoff, URLs."""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import replace
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chumnuoy.envfile import new_ed25519_key
from chumnuoy.settings import Settings
from registry_client import signatures
from registry_client.dci import DciTransport, SearchCriteria
from registry_client.endpoints import Endpoints, XRoadConfigError
from registry_client.records import normalise_mobile, person_from_member
from registry_client.resilience import CircuitBreaker, CircuitOpen, ResilienceConfig, backoff_delay
from tests.dci_openapi import DciSchemaError, validate_request


@pytest.fixture
def transport() -> DciTransport:
    settings = replace(Settings(), registry_signing_key=new_ed25519_key(), registry_sender_id="chumnuoy",
                       registry_receiver_id="spr-test", registry_url="http://127.0.0.1:9")
    t = DciTransport(settings, resilience=ResilienceConfig())
    yield t
    t.close()


def _search_message(*criteria: SearchCriteria) -> dict:
    return {"transaction_id": "txn-1",
            "search_request": [c.to_item(f"ref-{i}", "2026-11-25T09:00:00+07:00")
                               for i, c in enumerate(criteria, 1)]}


def test_envelope_header_and_signature(transport: DciTransport) -> None:
    message = _search_message(SearchCriteria.by_identifier("UIN", "100000101"))
    envelope = transport.build_envelope("search", message, 1, sender_uri="https://example.org/cb")
    header = envelope["header"]
    assert header["version"] == "1.0.0"
    assert uuid.UUID(header["message_id"]).version == 4
    assert header["message_ts"].endswith("+07:00")
    sent = datetime.fromisoformat(header["message_ts"])
    assert abs((sent - datetime.now().astimezone()).total_seconds()) < 5
    assert header["sender_id"] == "chumnuoy" and header["receiver_id"] == "spr-test"
    assert header["total_count"] == 1 and isinstance(header["total_count"], int)
    assert header["sender_uri"] == "https://example.org/cb"
    public = signatures.private_key_from_b64(transport.settings.registry_signing_key).public_key()
    parsed = signatures.verify(envelope["signature"], header, message, lambda s, k: public,
                               allow_unsigned=False)
    assert parsed is not None and parsed.sender_id == "chumnuoy"
    # a changed message no longer verifies: the signature covers it
    tampered = {**message, "transaction_id": "txn-2"}
    with pytest.raises(signatures.SignatureError):
        signatures.verify(envelope["signature"], header, tampered, lambda s, k: public, allow_unsigned=False)
    validate_request("/registry/search", envelope)
    assert transport.build_envelope("search", message, 1)["header"]["message_id"] != header["message_id"]


def test_every_query_shape_validates(transport: DciTransport) -> None:
    criteria = [
        SearchCriteria.by_identifier("MOBILE", "+85512000108", "Member"),
        SearchCriteria("expression", {"type": "ns:org:QueryType:expression", "value": {"expression": {
            "collection": "Group", "query": {"$and": [{"poverty_score": {"$lt": 5}},
                                                      {"group_size": {"$lt": 5}}]}}}},
                       "Group", page_size=5, sort=(("poverty_score", "asc"),)),
        SearchCriteria("predicate", [{"seq_num": 1, "expression1": {"attribute_name": "age", "operator": "lt",
                                                                     "attribute_value": 25},
                                      "condition": "and", "expression2": {"attribute_name": "poverty_score",
                                                                          "operator": "lt",
                                                                          "attribute_value": 2.5}}],
                       "Member", page_size=3, page_number=2, consent_purpose="self-service"),
    ]
    envelope = transport.build_envelope("search", _search_message(*criteria), 3)
    validate_request("/registry/sync/search", envelope)
    # the validator is not a rubber stamp: a bad locale is caught
    envelope["message"]["search_request"][0]["locale"] = "KHM"
    with pytest.raises(DciSchemaError):
        validate_request("/registry/sync/search", envelope)


def test_unknown_signing_setup_is_refused() -> None:
    with pytest.raises(ValueError, match="REGISTRY_SIGNING_KEY"):
        DciTransport(replace(Settings(), registry_signing_key="", registry_signatures="required"))


def test_circuit_breaker_states() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=3, cooldown=10, clock=lambda: now[0])
    for _ in range(2):
        breaker.before_call()
        breaker.record_failure()
    assert breaker.state == "closed"
    breaker.before_call()
    breaker.record_success()  # a success resets the count
    for _ in range(3):
        breaker.before_call()
        breaker.record_failure()
    assert breaker.state == "open" and breaker.opened_count == 1
    with pytest.raises(CircuitOpen):
        breaker.before_call()
    now[0] = 10.0
    assert breaker.state == "half-open"
    breaker.before_call()  # the one trial
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # no second call while the trial runs
    breaker.record_failure()
    assert breaker.state == "open" and breaker.opened_count == 2
    now[0] = 19.0
    assert breaker.state == "open"
    now[0] = 20.0
    breaker.before_call()
    breaker.record_success()
    assert breaker.state == "closed"


@given(st.integers(min_value=0, max_value=20), st.floats(min_value=0.001, max_value=5),
       st.floats(min_value=0.001, max_value=60), st.integers())
def test_backoff_is_bounded_full_jitter(attempt: int, base: float, cap: float, seed: int) -> None:
    delay = backoff_delay(attempt, base, cap, random.Random(seed))
    assert 0 <= delay <= min(cap, base * 2**attempt)


def test_backoff_grows_on_average() -> None:
    rng = random.Random(7)
    means = [sum(backoff_delay(a, 0.1, 100, rng) for _ in range(2000)) / 2000 for a in range(4)]
    assert means == sorted(means) and means[3] > 4 * means[0]


def test_xroad_urls_and_header() -> None:
    endpoints = Endpoints.from_settings("https://ss.example.kh/", "CAMBODIA/GOV/MOSVY/CHUMNUOY",
                                        "CAMBODIA/GOV/NSPC/SPR/dci v1")
    assert endpoints.url("/registry/sync/search") == (
        "https://ss.example.kh/r1/CAMBODIA/GOV/NSPC/SPR/dci%20v1/registry/sync/search")
    assert endpoints.url("/.well-known/jwks.json").endswith("/dci%20v1/.well-known/jwks.json")
    assert endpoints.headers() == {"X-Road-Client": "CAMBODIA/GOV/MOSVY/CHUMNUOY"}
    plain = Endpoints.from_settings("http://127.0.0.1:8001/", "", "ignored")
    assert plain.url("/registry/sync/search") == "http://127.0.0.1:8001/registry/sync/search"
    assert plain.headers() == {}
    with pytest.raises(XRoadConfigError):
        Endpoints.from_settings("https://ss", "CAMBODIA/GOV/MOSVY/CHUMNUOY", "")
    with pytest.raises(XRoadConfigError):
        Endpoints.from_settings("https://ss", "CAMBODIA/GOV", "CAMBODIA/GOV/NSPC/SPR/dci")


def test_xroad_service_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHUMNUOY_XROAD_SERVICE", "CAMBODIA/GOV/NSPC/SPR/dci")
    endpoints = Endpoints.from_settings("http://ss", "CAMBODIA/GOV/MOSVY/CHUMNUOY")
    assert endpoints.url("registry/sync/search") == "http://ss/r1/CAMBODIA/GOV/NSPC/SPR/dci/registry/sync/search"


@pytest.mark.parametrize("typed", ["+85512000101", "012000101", "012 000 101", "855 12 000 101",
                                   "0085512000101", "+855 012 000 101", "០១២០០០១០១", "+៨៥៥១២០០០១០១",
                                   "12000101", "012-000-101"])
def test_mobile_normalisation(typed: str) -> None:
    assert normalise_mobile(typed) == "+85512000101"


def test_nine_digit_subscriber_numbers() -> None:
    assert normalise_mobile("0972000103") == "+855972000103"
    assert normalise_mobile("+1 555 0100") == "+15550100"  # foreign numbers keep their country code


def test_member_mapping_follows_the_reference_example() -> None:
    member = {  # shaped as reference/registry-dci.md b.6 plus the profile's attributes
        "@type": "Member",
        "member_identifier": [{"identifier_type": "SPID", "identifier_value": "KH0000001014"},
                              {"identifier_type": "UIN", "identifier_value": "010203040"}],
        "demographic_info": {"@type": "SRPerson", "name": {"given_name": "សុខា", "surname": "ចាន់"},
                             "sex": "female", "birth_date": "1985-05-20T00:00:00+07:00",
                             "phone_number": ["+85512345678"], "household_identifier": "HH-12-00000101",
                             "address": [{"region_code": "12", "sub_region_code": "120101",
                                          "locality": "12010101", "address_line1": "ភូមិ"}]},
        "relationship_head": "SELF", "is_disabled": True, "disability_info": {"severity": "medium"},
        "additional_attributes": [
            {"name": "name_latin", "value": {"surname": "CHAN", "given_name": "Sokha"}},
            {"name": "is_pregnant", "value": True}, {"name": "school_grade", "value": None}],
    }
    person = person_from_member(member)
    assert (person.spid, person.uin, person.full_name) == ("KH0000001014", "010203040", "ចាន់ សុខា")
    assert (person.surname_latin, person.given_name_latin) == ("CHAN", "Sokha")
    assert person.birth_date.isoformat() == "1985-05-20" and person.sex == "female"
    assert person.is_pregnant and person.disability == "medium" and person.school_grade is None
    assert person.address.district_code == "1201" and person.address.village_code == "12010101"
    assert re.fullmatch(r"\+855\d{8,9}", person.phones[0])
