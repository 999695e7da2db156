"""Request signatures in `dev` and `required` mode (REGISTRY_SIGNATURES), over HTTP."""

# ruff: noqa: F811  (the shared fixtures are imported by name from test_api_support)

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry_client import signatures
from tests.registry_sandbox.test_api_support import DciCaller, caller, strict_caller  # noqa: F401  (fixtures)

PATH = "/registry/sync/txn/status"


def _body(caller: DciCaller, signature: str | None = "sign") -> dict:
    return caller.envelope(
        "txn-status",
        {
            "transaction_id": "txn-sig",
            "txnstatus_request": {
                "reference_id": "ref-1",
                "txn_type": "search",
                "attribute_type": "transaction_id",
                "attribute_value": "txn-unknown",
            },
        },
        signature=signature,
    )


def _foreign_signature(caller: DciCaller, body: dict) -> str:
    return signatures.sign(
        body["header"], body["message"], Ed25519PrivateKey.generate(), caller.settings.registry_sender_id
    )


@pytest.mark.parametrize("signature", [None, "", "unsigned-stub", "sign"])
def test_dev_mode_accepts_unsigned_stub_and_valid(caller: DciCaller, signature: str | None) -> None:
    response = caller.post(PATH, _body(caller, signature)).json()
    assert response["header"]["action"] == "txn-on-status"


def test_dev_mode_rejects_signatures_that_do_not_verify(caller: DciCaller) -> None:
    body = _body(caller)
    body["signature"] = _foreign_signature(caller, body)
    response = caller.post(PATH, body, expect=401).json()
    assert response["errors"][0]["code"] == "err.signature.invalid"

    tampered = _body(caller)
    tampered["message"]["transaction_id"] = "txn-changed-after-signing"
    assert caller.post(PATH, tampered, expect=401).json()["errors"][0]["code"] == "err.signature.invalid"

    garbage = _body(caller, 'Signature: kidId="chumnuoy|x|ed25519", signature="???"')
    assert caller.post(PATH, garbage, expect=401).json()["errors"][0]["code"] == "err.signature.invalid"

    unknown_sender = _body(caller)
    unknown_sender["header"]["sender_id"] = "stranger"
    unknown_sender["signature"] = signatures.sign(
        unknown_sender["header"], unknown_sender["message"], caller.key, "stranger"
    )
    assert (
        caller.post(PATH, unknown_sender, expect=401).json()["errors"][0]["code"] == "err.signature.invalid"
    )


def test_required_mode_accepts_only_verifying_signatures(strict_caller: DciCaller) -> None:
    ok = strict_caller.post(PATH, _body(strict_caller)).json()
    assert ok["header"]["action"] == "txn-on-status"
    for value in (None, "", "unsigned-stub"):
        response = strict_caller.post(PATH, _body(strict_caller, value), expect=401).json()
        assert response["errors"][0]["code"] == "err.signature.missing", value
    body = _body(strict_caller)
    body["signature"] = _foreign_signature(strict_caller, body)
    assert strict_caller.post(PATH, body, expect=401).json()["errors"][0]["code"] == "err.signature.invalid"


def test_required_mode_applies_to_async_paths_too(strict_caller: DciCaller) -> None:
    body = strict_caller.envelope(
        "search",
        {
            "transaction_id": "txn-x",
            "search_request": [
                {
                    "reference_id": "r1",
                    "timestamp": "2026-11-25T10:00:00+07:00",
                    "search_criteria": {
                        "query_type": "idtype-value",
                        "query": {"type": "UIN", "value": "100000101"},
                    },
                }
            ],
        },
        sender_uri="http://127.0.0.1:9/on-search",
        signature=None,
    )
    response = strict_caller.post("/registry/search", body, expect=401).json()
    assert response["errors"][0]["code"] == "err.signature.missing"
