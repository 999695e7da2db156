"""OAuth2 token endpoint, bearer checks on DCI paths and the JWKS (live sandbox over HTTP)."""

# ruff: noqa: F811  (the shared fixtures are imported by name from test_api_support)

from __future__ import annotations

import base64
import time

import jwt

from registry_client import signatures
from registry_sandbox.api.tokens import TokenIssuer
from tests.dci_openapi import validate_response
from tests.registry_sandbox.test_api_support import (
    DciCaller,
    caller,  # noqa: F401  (fixture)
)

TXN_STATUS = "/registry/sync/txn/status"


def _txn_status_body(caller: DciCaller) -> dict:
    return caller.envelope(
        "txn-status",
        {
            "transaction_id": "txn-auth-check",
            "txnstatus_request": {
                "reference_id": "ref-1",
                "txn_type": "search",
                "attribute_type": "transaction_id",
                "attribute_value": "txn-none",
            },
        },
    )


def test_token_form_and_basic_auth(caller: DciCaller) -> None:
    settings = caller.settings
    form = {
        "grant_type": "client_credentials",
        "client_id": settings.registry_client_id,
        "client_secret": settings.registry_client_secret,
    }
    response = caller.http.post("/oauth2/client/token", data=form)
    assert response.status_code == 200
    body = response.json()
    validate_response("/oauth2/client/token", 200, body, spec="authz")
    assert body["token_type"] == "bearer" and int(body["expires_in"]) == 3600
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 3600
    assert set(claims["scope"].split()) == {
        "registry.search",
        "registry.subscribe",
        "registry.enrolled",
        "registry.ext",
    }

    basic = base64.b64encode(
        f"{settings.registry_client_id}:{settings.registry_client_secret}".encode()
    ).decode()
    response = caller.http.post(
        "/oauth2/client/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200 and response.json()["access_token"]


def test_token_errors(caller: DciCaller) -> None:
    settings = caller.settings
    wrong = caller.http.post(
        "/oauth2/client/token",
        data={
            "grant_type": "client_credentials",
            "client_id": settings.registry_client_id,
            "client_secret": "nope",
        },
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    unknown = caller.http.post(
        "/oauth2/client/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "someone",
            "client_secret": settings.registry_client_secret,
        },
    )
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    grant = caller.http.post(
        "/oauth2/client/token",
        data={
            "grant_type": "password",
            "client_id": settings.registry_client_id,
            "client_secret": settings.registry_client_secret,
        },
    )
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    scope = caller.http.post(
        "/oauth2/client/token",
        data={
            "grant_type": "client_credentials",
            "client_id": settings.registry_client_id,
            "client_secret": settings.registry_client_secret,
            "scope": "registry.search admin.everything",
        },
    )
    assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"


def test_dci_paths_need_a_valid_bearer_token(caller: DciCaller) -> None:
    body = _txn_status_body(caller)
    missing = caller.post(TXN_STATUS, body, token=None, expect=401)
    assert missing.json()["errors"][0]["code"] == "err.request.unauthorized"
    forged = jwt.encode(
        {"sub": "x", "exp": int(time.time()) + 60, "iat": int(time.time()), "scope": "registry.search"},
        "not-the-registry-key-but-32-bytes-long!",
        algorithm="HS256",
    )
    bad = caller.post(TXN_STATUS, body, token=forged, expect=401)
    assert bad.json()["errors"][0]["code"] == "err.request.unauthorized"
    garbage = caller.post(TXN_STATUS, body, token="abc.def.ghi", expect=401)
    assert garbage.json()["errors"][0]["code"] == "err.request.unauthorized"
    issuer = TokenIssuer.from_settings(caller.settings)
    expired = issuer.issue(("registry.search",), now=time.time() - 7200)
    old = caller.post(TXN_STATUS, body, token=expired, expect=401)
    assert "expired" in old.json()["errors"][0]["message"]
    # all paths, sync and async, IBR and extensions
    for path in (
        "/registry/search",
        "/registry/sync/search",
        "/registry/subscribe",
        "/registry/unsubscribe",
        "/registry/txn/status",
        "/ibr/registry/sync/enrolled",
        "/ext/registry/sync/payments",
    ):
        response = caller.http.post(path, json={"header": {}, "message": {}})
        assert response.status_code == 401, path
        assert response.json()["errors"][0]["code"] == "err.request.unauthorized"


def test_scope_lacking_is_forbidden(caller: DciCaller) -> None:
    token = caller.token("registry.enrolled")
    response = caller.post(TXN_STATUS, _txn_status_body(caller), token=token, expect=403)
    assert response.json()["errors"][0]["code"] == "err.request.forbidden"
    ext = caller.http.post(
        "/ext/registry/sync/payments", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    assert ext.status_code == 403


def test_jwks_publishes_the_key_that_signs_responses(caller: DciCaller) -> None:
    keys = caller.jwks()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "OKP" and keys[0]["crv"] == "Ed25519"
    assert keys[0]["use"] == "sig" and keys[0]["alg"] == "EdDSA"
    response = caller.post(TXN_STATUS, _txn_status_body(caller)).json()
    parsed = signatures.parse(response["signature"])
    assert parsed.key_id == keys[0]["kid"]
    caller.verify(response)
    tampered = {
        **response,
        "header": {
            **response["header"],
            "status": "succ" if response["header"]["status"] != "succ" else "rjct",
        },
    }
    try:
        caller.verify(tampered)
    except signatures.SignatureError as error:
        assert error.code == "err.signature.invalid"
    else:
        raise AssertionError("a tampered response verified")
