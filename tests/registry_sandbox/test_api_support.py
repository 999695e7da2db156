"""Shared helpers for the sandbox DCI API tests (no tests here): a test-side DCI caller that validates
every request and response against the OpenAPI files and checks response signatures with the
sandbox's JWKS, and a callback receiver (a werkzeug server on 127.0.0.1) that records what the
sandbox POSTs to `sender_uri`."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC
from typing import Any

import httpx
import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from registry_client import signatures
from tests.dci_openapi import validate_callback, validate_request, validate_response, validate_schema
from tests.fixtures.registry import LiveRegistry


def ts(offset: str = "+07:00") -> str:
    """Now as ISO 8601 with the given offset suffix (e.g. "Z", "+07:00")."""
    from datetime import datetime, timezone

    stamp = datetime.now(UTC).replace(microsecond=0)
    if offset == "Z":
        return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    from datetime import timedelta

    sign = 1 if offset[0] == "+" else -1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
    return stamp.astimezone(zone).isoformat()


def search_item(query_type: str, query: object, reference_id: str | None = None, **criteria: Any) -> dict:
    return {
        "reference_id": reference_id or f"ref-{uuid.uuid4().hex[:12]}",
        "timestamp": ts(),
        "search_criteria": {
            "version": "1.0.0",
            "reg_type": "ns:org:RegistryType:Social",
            "query_type": query_type,
            "query": query,
            **criteria,
        },
        "locale": "khm",
    }


def id_item(id_type: str, value: str, entity: str = "Group", **criteria: Any) -> dict:
    return search_item("idtype-value", {"type": id_type, "value": value}, response_entity=entity, **criteria)


class DciCaller:
    """Talks DCI to a live sandbox like a careful client, checking both directions."""

    def __init__(self, live: LiveRegistry) -> None:
        self.live = live
        self.settings = live.settings
        self.http = httpx.Client(base_url=live.url, timeout=10.0)
        self.key = signatures.private_key_from_b64(self.settings.registry_signing_key)
        self._tokens: dict[str | None, str] = {}
        self._jwks: dict | None = None

    def token(self, scope: str | None = None) -> str:
        if scope not in self._tokens:
            form = {
                "grant_type": "client_credentials",
                "client_id": self.settings.registry_client_id,
                "client_secret": self.settings.registry_client_secret,
            }
            if scope:
                form["scope"] = scope
            validate_request(
                "/oauth2/client/token", form, spec="authz", content_type="application/x-www-form-urlencoded"
            )
            response = self.http.post("/oauth2/client/token", data=form)
            assert response.status_code == 200, response.text
            validate_response("/oauth2/client/token", 200, response.json(), spec="authz")
            self._tokens[scope] = response.json()["access_token"]
        return self._tokens[scope]

    def jwks(self) -> dict:
        if self._jwks is None:
            response = self.http.get("/.well-known/jwks.json")
            assert response.status_code == 200
            validate_response("/.well-known/jwks.json", 200, response.json(), spec="jwks")
            self._jwks = response.json()
        return self._jwks

    def find_registry_key(self, sender_id: str, key_id: str):  # type: ignore[no-untyped-def]
        if sender_id != self.settings.registry_receiver_id:
            return None
        for key in self.jwks()["keys"]:
            if key["kid"] == key_id:
                return signatures.public_key_from_jwk(key)
        return None

    def verify(self, body: dict) -> None:
        """The sandbox's signature on an envelope must verify against its JWKS."""
        parsed = signatures.verify(
            body.get("signature"),
            body.get("header"),
            body.get("message"),
            self.find_registry_key,
            allow_unsigned=False,
        )
        assert parsed is not None and parsed.sender_id == self.settings.registry_receiver_id

    def envelope(
        self,
        action: str,
        message: dict,
        *,
        sender_uri: str | None = None,
        signature: str | None = "sign",
        header: dict | None = None,
    ) -> dict:
        head: dict[str, Any] = {
            "version": "1.0.0",
            "message_id": str(uuid.uuid4()),
            "message_ts": ts(),
            "action": action,
            "sender_id": self.settings.registry_sender_id,
            "receiver_id": self.settings.registry_receiver_id,
            "total_count": _count(message),
            "is_msg_encrypted": False,
        }
        if sender_uri:
            head["sender_uri"] = sender_uri
        head.update(header or {})
        body: dict[str, Any] = {"header": head, "message": message}
        if signature == "sign":
            body["signature"] = signatures.sign(head, message, self.key, head["sender_id"])
        elif signature is not None:
            body["signature"] = signature
        return body

    def post(
        self,
        path: str,
        body: object,
        *,
        spec: str = "social",
        validate: bool = True,
        token: str | bool | None = True,
        expect: int | None = 200,
    ) -> httpx.Response:
        """POST an envelope; validates the request (when `validate`) and always the response."""
        if validate:
            validate_request(path, body, spec=spec)  # type: ignore[arg-type]
        headers = {}
        if token is True:
            headers["Authorization"] = f"Bearer {self.token()}"
        elif isinstance(token, str):
            headers["Authorization"] = f"Bearer {token}"
        response = self.http.post(_spec_path(path, spec), json=body, headers=headers)
        if expect is not None:
            assert response.status_code == expect, (response.status_code, response.text)
        payload = response.json()
        if path.startswith("/ext/"):
            if "header" in payload:
                validate_schema("MsgCallbackHeader_V1.0.0", payload["header"])
        else:
            validate_response(path, response.status_code, payload, spec=spec)
        if isinstance(payload, dict) and "header" in payload:
            self.verify(payload)
        return response

    def search(self, *items: dict, path: str = "/registry/sync/search", **kwargs: Any) -> dict:
        message = {"transaction_id": f"txn-{uuid.uuid4().hex[:12]}", "search_request": list(items)}
        return self.post(path, self.envelope("search", message, **kwargs)).json()

    def ext(self, path: str, action: str, key: str, items: list[dict]) -> dict:
        message = {"transaction_id": f"txn-{uuid.uuid4().hex[:12]}", key: items}
        body = self.envelope(action, message)
        validate_schema("MsgHeader_V1.0.0", body["header"])
        return self.post(path, body, validate=False).json()


def _count(message: dict) -> int:
    for key, value in message.items():
        if key.endswith("_request") and isinstance(value, list):
            return len(value)
    return 1


def _spec_path(path: str, spec: str) -> str:
    return "/ibr" + path if spec == "ibr" else path


class CallbackReceiver:
    """A tiny HTTP server that records JSON bodies POSTed to it (the caller's `sender_uri`)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []
        self.status = 200
        self._condition = threading.Condition()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _app(self, environ, start_response):  # type: ignore[no-untyped-def]
        request = Request(environ)
        body = json.loads(request.get_data() or b"null")
        with self._condition:
            self.received.append((request.path, body))
            self._condition.notify_all()
        ack = {"message": {"ack_status": "ACK", "timestamp": ts(), "correlation_id": "corr-test"}}
        return Response(json.dumps(ack), status=self.status, content_type="application/json")(
            environ, start_response
        )

    def wait_for(self, predicate: Callable[[str, dict], bool], timeout: float = 15.0) -> dict:
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                for path, body in self.received:
                    if predicate(path, body):
                        return body
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"no matching callback within {timeout} s; got {self.received!r}"[:2000]
                    )
                self._condition.wait(remaining)

    def close(self) -> None:
        self._server.shutdown()


def callback_for(
    receiver: CallbackReceiver, caller: DciCaller, action: str, match: Callable[[dict], bool]
) -> dict:
    """Wait for a callback of `action` matching `match`, validate it and check its signature."""
    body = receiver.wait_for(
        lambda _p, b: isinstance(b, dict) and (b.get("header") or {}).get("action") == action and match(b)
    )
    validate_callback(action, body)
    caller.verify(body)
    return body


@pytest.fixture(scope="module")
def caller(live_registry: LiveRegistry) -> Iterator[DciCaller]:
    client = DciCaller(live_registry)
    yield client
    client.http.close()


@pytest.fixture(scope="module")
def strict_caller(live_registry_strict: LiveRegistry) -> Iterator[DciCaller]:
    client = DciCaller(live_registry_strict)
    yield client
    client.http.close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[CallbackReceiver]:
    server = CallbackReceiver()
    yield server
    server.close()
