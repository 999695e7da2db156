"""/api/v1/eligibility and /api/v1/entitlements over the real app, database and sandbox registry;
every response is checked against the served OpenAPI document."""

from __future__ import annotations

from dataclasses import replace

import jsonschema
import pytest

from tests.portal.citizen_fixtures import registry_fixture  # noqa: F401 (fixture)


@pytest.fixture
def api(live_registry, portal_database_url):
    from portal import create_app
    from portal.services.officers import create_token

    settings = replace(live_registry.settings, database_url=portal_database_url, secret_key="test")
    app = create_app(settings)
    if "api_v1" not in app.blueprints:  # until the factory registers the API itself
        from portal.api import register_api

        register_api(app)
    with app.extensions["db_sessionmaker"]() as session:
        _, token = create_token(session, name="test-client", scopes=("eligibility:read", "entitlements:read"))
        _, narrow = create_token(session, name="narrow", scopes=("grievances:read",))
    client = app.test_client()
    document = client.get("/api/v1/openapi.json").get_json()
    yield app, client, {"Authorization": f"Bearer {token}"}, {"Authorization": f"Bearer {narrow}"}, document
    registry = app.extensions.get("registry")
    if registry is not None:
        registry.close()


def conforms(document: dict, path: str, method: str, response) -> dict:  # type: ignore[no-untyped-def]
    operation = document["paths"][path][method]
    spec = operation["responses"][str(response.status_code)]
    schema = spec["content"]["application/json"]["schema"]
    body = response.get_json()
    jsonschema.Draft202012Validator({**schema, "components": document["components"]}).validate(body)
    return body


def audit_of(app, spid: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    from portal.services.audit import entries_for

    with app.extensions["db_sessionmaker"]() as session:
        return [(e.actor, e.action) for e in entries_for(session, "person", spid)]


def test_openapi_document_is_valid_and_lists_the_citizen_endpoints(api) -> None:
    from openapi_spec_validator import validate

    _, _, _, _, document = api
    validate(document)
    assert "post" in document["paths"]["/api/v1/eligibility"]
    assert set(document["paths"]["/api/v1/entitlements"]) == {"post"}


def test_questionnaire_answers(api) -> None:
    _, client, auth, _, document = api
    response = client.post(
        "/api/v1/eligibility",
        headers=auth,
        json={"answers": {"equity_card": "valid", "idpoor_level": 2, "age_60_plus": True}, "locale": "km"},
    )
    body = conforms(document, "/api/v1/eligibility", "post", response)
    assert response.status_code == 200 and body["mode"] == "questionnaire" and body["indicative"]
    elderly = next(o for o in body["outcomes"] if o["programme"] == "elderly")
    assert elderly["outcome"] == "maybe"
    assert elderly["reason"] == "អាយុ៦០ឆ្នាំឡើង មានប័ណ្ណសមធម៌៖ ប្រាក់ឧបត្ថម្ភប្រចាំខែ។"
    assert elderly["benefits"][0]["sourced"] is False


def test_registry_person_eligibility_is_audited(api, registry) -> None:
    app, client, auth, _, document = api
    (p7,) = registry.find_people("UIN", "100000107")
    response = client.post(
        "/api/v1/eligibility",
        headers=auth,
        json={"person": {"uin": "100000107"}, "locale": "en", "as_of": "2026-11-25"},
    )
    body = conforms(document, "/api/v1/eligibility", "post", response)
    idpoor = next(o for o in body["outcomes"] if o["programme"] == "idpoor")
    assert (idpoor["outcome"], idpoor["reason"]) == (
        "not_eligible",
        "Your Equity Card expired on 30 Jun 2025.",
    )
    assert "On-Demand IDPoor" in idpoor["guidance"]
    assert body["person"] == {"spid": p7.spid}
    assert audit_of(app, p7.spid) == [("api:test-client", "eligibility.view")]


def test_entitlements_by_post_only(api, registry) -> None:
    app, client, auth, _, document = api
    (p1,) = registry.find_people("UIN", "100000101")
    assert client.get(f"/api/v1/entitlements?spid={p1.spid}", headers=auth).status_code == 405
    response = client.post(
        "/api/v1/entitlements", headers=auth,
        json={"person": {"spid": p1.spid}, "locale": "en", "as_of": "2026-11-25"},
    )
    body = conforms(document, "/api/v1/entitlements", "post", response)
    mch = next(e for e in body["entitlements"] if e["programme"] == "pregnant_child_cash")
    assert mch["next_payment"] == {"expected_date": "2026-11-20", "amount_riel": 80000, "basis": "pending"}
    assert [(p["status"], p["date"]) for p in mch["payments"]][:2] == [
        ("pending", "2026-11-20"),
        ("paid", "2026-10-20"),
    ]
    response = client.post(
        "/api/v1/entitlements", headers=auth, json={"person": {"uin": "100000102"}, "as_of": "2026-11-25"}
    )
    body = conforms(document, "/api/v1/entitlements", "post", response)
    elderly = next(e for e in body["entitlements"] if e["programme"] == "elderly")
    assert elderly["frequency_text"] == "ប្រចាំខែ"
    assert [p["status_text"] for p in elderly["payments"]] == ["បើកប្រាក់មិនបាន", "បានបើកប្រាក់"]
    assert audit_of(app, p1.spid) == [("api:test-client", "entitlements.view")]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("post", "/api/v1/eligibility", {"json": {"person": {"uin": "999999999"}}}, 404, "person_not_found"),
        (
            "post",
            "/api/v1/eligibility",
            {"json": {"answers": {"equity_card": "gold"}}},
            400,
            "invalid_answers",
        ),
        (
            "post",
            "/api/v1/eligibility",
            {"json": {"answers": {}, "person": {"uin": "1"}}},
            400,
            "invalid_request",
        ),
        ("post", "/api/v1/eligibility", {"json": {"answers": {"wealth": 1}}}, 400, "invalid_answers"),
        (
            "post",
            "/api/v1/eligibility",
            {"json": {"answers": {"idpoor_level": True}}},
            400,
            "invalid_answers",
        ),
        (
            "post",
            "/api/v1/eligibility",
            {"json": {"answers": {"nssf_member": "yes"}}},
            400,
            "invalid_answers",
        ),
        ("post", "/api/v1/eligibility", {"json": {"answers": {}, "locale": "fr"}}, 400, "invalid_locale"),
        (
            "post",
            "/api/v1/entitlements",
            {"json": {"person": {"uin": "1", "spid": "2"}}},
            400,
            "invalid_person",
        ),
    ],
)
def test_errors(api, method: str, path: str, kwargs: dict, status: int, code: str) -> None:
    _, client, auth, _, document = api
    response = getattr(client, method)(path, headers=auth, **kwargs)
    assert response.status_code == status
    assert conforms(document, path, method, response)["error"]["code"] == code


def test_tokens_and_scopes(api) -> None:
    _, client, _, narrow, document = api
    response = client.post("/api/v1/eligibility", json={"answers": {}})
    assert response.status_code == 401
    assert conforms(document, "/api/v1/eligibility", "post", response)["error"]["code"] == "unauthorized"
    response = client.post("/api/v1/entitlements", json={"person": {"uin": "100000101"}}, headers=narrow)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "insufficient_scope"
