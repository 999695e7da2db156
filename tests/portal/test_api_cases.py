"""/api/v1 (grievances, change requests): bearer auth, JSON errors, and every response checked against
the served OpenAPI 3.1 document with openapi-core."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_spec_validator import validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from chumnuoy.settings import Settings
from portal import create_app
from portal.models.cases import AuditEntry, Grievance, OutboxMessage
from portal.services import grievances
from portal.services.officers import create_token, revoke_token
from tests.portal.test_change_requests import P1_PHONE, P1_UIN, private_registry  # noqa: F401 (fixture)


@pytest.fixture
def app(portal_database_url, private_registry):  # noqa: F811
    settings = replace(
        private_registry.settings if private_registry else Settings(),
        database_url=portal_database_url,
        secret_key="test",
    )
    application = create_app(settings)
    yield application
    registry = application.extensions.get("registry")
    if registry is not None:
        registry.close()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def session(portal_engine) -> Iterator[Session]:
    with Session(portal_engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def token(session) -> str:
    return create_token(session, name="bot-engine")[1]


@pytest.fixture
def spec(client) -> OpenAPI:  # type: ignore[no-untyped-def]
    document = send(client, "GET", "/api/v1/openapi.json").get_json()
    return OpenAPI.from_dict(document)


def send(client, method: str, url: str, headers: dict[str, str] | None = None, json=None):  # type: ignore[no-untyped-def]
    """A test-client call that remembers what it sent (the test client consumes the request body)."""
    response = client.open(url, method=method, headers=headers or {}, json=json)
    response.sent = (method, url, headers or {}, json)
    return response


def conform(spec: OpenAPI, response):  # type: ignore[no-untyped-def]
    """Validate the response (and, for a successful call, the request) against the OpenAPI document;
    return the JSON body."""
    method, url, headers, body = response.sent
    path, _, query = url.partition("?")
    args = dict(pair.split("=", 1) for pair in query.split("&")) if query else {}
    request = MockRequest(
        "http://localhost",
        method.lower(),
        path,
        args=args,
        headers=headers,
        data=json.dumps(body).encode() if body is not None else None,
    )
    if response.status_code < 400:
        spec.validate_request(request)
    spec.validate_response(
        request, MockResponse(response.data, response.status_code, headers=dict(response.headers))
    )
    return response.get_json()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_openapi_document_is_public_and_valid_3_1(client):
    response = send(client, "GET", "/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    for path in (
        "/api/v1/grievances",
        "/api/v1/grievances/{reference}",
        "/api/v1/change-requests",
        "/api/v1/change-requests/{request_id}/approve",
        "/api/v1/change-requests/{request_id}/reject",
    ):
        assert path in document["paths"]


def test_no_token_bad_token_revoked_token_and_missing_scope(client, session, spec):
    for headers in ({}, {"Authorization": "Basic abc"}, auth("chn_not-a-real-token"), auth("garbage")):
        response = send(client, "GET", "/api/v1/grievances/12345674", headers=headers)
        assert response.status_code == 401
        assert set(conform(spec, response)["error"]) == {"code", "message"}
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    row, revoked = create_token(session, name="old")
    revoke_token(session, row.id)
    assert send(client, "GET", "/api/v1/grievances/12345674", headers=auth(revoked)).status_code == 401
    _row, read_only = create_token(session, name="reader", scopes=["grievances:read"])
    response = send(client, "POST", "/api/v1/grievances", json={"category": "other"}, headers=auth(read_only))
    assert response.status_code == 403 and conform(spec, response)["error"]["code"] == "insufficient_scope"


def test_tokens_are_stored_hashed(session, token):
    from portal.models.cases import ApiToken

    (row,) = session.scalars(select(ApiToken))
    assert token not in (row.token_hash, row.prefix) and len(row.token_hash) == 64


def test_lodge_then_status_by_reference(client, session, spec, token):
    response = send(
        client,
        "POST",
        "/api/v1/grievances",
        headers=auth(token),
        json={
            "category": "non_payment",
            "description": "October payment missing",
            "channel": "ussd",
            "reply": {"address": P1_PHONE},
            "area": {"commune_code": "120101"},
            "locale": "en",
        },
    )
    assert response.status_code == 201
    created = conform(spec, response)
    assert (created["level"], created["agency"], created["sla_class_days"]) == ("commune", "NSAF", 15)
    stored = session.scalar(select(Grievance).where(Grievance.reference == created["reference"]))
    assert stored is not None and stored.channel == "ussd" and stored.reply_channel == "sms"
    (ack,) = session.scalars(select(OutboxMessage))
    assert created["reference"] in ack.text

    grievances.reply(session, stored, "Paid on Friday", "officer:1", stored.created_at)
    status = send(client, "GET", f"/api/v1/grievances/{created['reference']}?locale=en", headers=auth(token))
    body = conform(spec, status)
    assert body["state"] == "in_review" and "Paid on Friday" not in str(body)

    full = send(
        client,
        "POST",
        "/api/v1/grievances/lookup",
        headers=auth(token),
        json={"reference": created["reference"], "channel": "sms", "address": P1_PHONE},
    )
    assert conform(spec, full)["full"] is True and full.get_json()["last_reply"] == "Paid on Friday"


def test_lodge_routes_by_the_registry_address_of_the_person(client, spec, token, private_registry):  # noqa: F811
    from registry_client.client import RegistryClient

    registry = RegistryClient(private_registry.settings)
    try:
        (person,) = registry.find_people("UIN", P1_UIN)
    finally:
        registry.close()
    assert person.address.commune_code
    response = send(
        client,
        "POST",
        "/api/v1/grievances",
        headers=auth(token),
        json={"category": "exclusion", "person": {"spid": person.spid}},
    )
    created = conform(spec, response)
    assert (created["level"], created["agency"], created["sla_class_days"]) == ("commune", "MoP", 30)


def test_grievance_errors_are_json_and_documented(client, spec, token):
    bad_category = send(
        client, "POST", "/api/v1/grievances", headers=auth(token), json={"category": "weather"}
    )
    assert bad_category.status_code == 400
    assert conform(spec, bad_category)["error"]["code"] == "invalid_category"
    anonymous_payment = send(
        client,
        "POST",
        "/api/v1/grievances",
        headers=auth(token),
        json={"category": "non_payment", "anonymous": True},
    )
    assert anonymous_payment.status_code == 400
    mistyped = send(client, "GET", "/api/v1/grievances/12345679", headers=auth(token))
    assert mistyped.status_code == 400 and conform(spec, mistyped)["error"]["code"] == "reference_invalid"
    unknown = send(client, "GET", "/api/v1/grievances/12345671", headers=auth(token))  # valid check digit
    assert unknown.status_code == 404 and conform(spec, unknown)["error"]["code"] == "not_found"
    nowhere = send(client, "GET", "/api/v1/nowhere", headers=auth(token))
    assert nowhere.status_code == 404 and set(nowhere.get_json()["error"]) == {"code", "message"}
    wrong_method = send(client, "DELETE", "/api/v1/grievances", headers=auth(token))
    assert (
        wrong_method.status_code == 405 and wrong_method.get_json()["error"]["code"] == "method_not_allowed"
    )


def test_change_requests_create_list_approve_reject(client, session, spec, token, private_registry):  # noqa: F811
    from registry_client.client import RegistryClient

    registry = RegistryClient(private_registry.settings)
    try:
        (person,) = registry.find_people("UIN", P1_UIN)
        current_phone = person.phones[0]
        created = send(
            client,
            "POST",
            "/api/v1/change-requests",
            headers=auth(token),
            json={
                "change_type": "phone",
                "person_spid": person.spid,
                "old_value": current_phone,
                "new_value": "+85512777011",
                "reply": {"channel": "sms", "address": current_phone},
                "locale": "en",
            },
        )
        assert created.status_code == 201
        first = conform(spec, created)
        assert first["status"] == "pending"
        other = conform(
            spec,
            send(
                client,
                "POST",
                "/api/v1/change-requests",
                headers=auth(token),
                json={
                    "change_type": "birth_date",
                    "person_spid": person.spid,
                    "new_value": "1996-04-21",
                    "reply": {"channel": "telegram", "address": "5550101"},
                    "locale": "en",
                },
            ),
        )

        listing = send(client, "GET", "/api/v1/change-requests?status=pending", headers=auth(token))
        assert [i["id"] for i in conform(spec, listing)["items"]] == [first["id"], other["id"]]
        one = send(client, "GET", f"/api/v1/change-requests/{first['id']}", headers=auth(token))
        assert conform(spec, one)["new_value"] == "+85512777011"

        approved = send(client, "POST", f"/api/v1/change-requests/{first['id']}/approve", headers=auth(token))
        assert approved.status_code == 200
        body = conform(spec, approved)
        assert body["status"] == "approved" and body["decided_by"] == "api:bot-engine"
        (after,) = registry.find_people("UIN", P1_UIN)
        assert "+85512777011" in after.phones
        again = send(client, "POST", f"/api/v1/change-requests/{first['id']}/approve", headers=auth(token))
        assert again.status_code == 409 and conform(spec, again)["error"]["code"] == "not_pending"

        no_reason = send(
            client, "POST", f"/api/v1/change-requests/{other['id']}/reject", headers=auth(token), json={}
        )
        assert no_reason.status_code == 400 and conform(spec, no_reason)["error"]["code"] == "reason_required"
        rejected = send(
            client,
            "POST",
            f"/api/v1/change-requests/{other['id']}/reject",
            headers=auth(token),
            json={"reason": "Bring the birth certificate"},
        )
        assert conform(spec, rejected)["status"] == "rejected"
        missing = send(client, "POST", "/api/v1/change-requests/9999/approve", headers=auth(token))
        assert missing.status_code == 404 and conform(spec, missing)["error"]["code"] == "not_found"
    finally:
        # put the persona back as it was for the other tests of this module's registry
        if "person" in locals():
            registry.apply_change("phone", person, None, current_phone, "test-cleanup")
        registry.close()
    texts = [m.text for m in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
    assert any("approved" in t for t in texts) and any("Bring the birth certificate" in t for t in texts)
    actions = {a.action for a in session.scalars(select(AuditEntry))}
    assert {
        "list_change_requests",
        "view_change_request",
        "approve_change_request",
        "reject_change_request",
    } <= actions
