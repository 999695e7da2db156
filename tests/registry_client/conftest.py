"""Clients wired to the live sandbox, with every request they send captured and checked against the
DCI OpenAPI files when the test ends."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from urllib.parse import parse_qs

import httpx
import pytest

from registry_client.client import RegistryClient
from registry_client.resilience import ResilienceConfig
from tests.dci_openapi import validate_request, validate_schema

FAST = ResilienceConfig(attempts=3, backoff_base=0.01, backoff_max=0.05, breaker_failures=5,
                        breaker_cooldown=0.5)


class SentRequests(list):
    """httpx request event hook: keeps every request the client sends."""

    def __call__(self, request: httpx.Request) -> None:
        self.append(request)

    def paths(self) -> list[str]:
        return [r.url.path for r in self]


def dci_path(path: str, xroad_prefix: str = "") -> str:
    return path[len(xroad_prefix):] if xroad_prefix and path.startswith(xroad_prefix) else path


def validate_sent(sent: list[httpx.Request], xroad_prefix: str = "") -> int:
    """Check each captured request against its OpenAPI file; returns how many were checked."""
    checked = 0
    for request in sent:
        path = dci_path(request.url.path, xroad_prefix)
        if request.method == "GET":
            assert path == "/.well-known/jwks.json", path
            continue
        if path == "/oauth2/client/token":
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            assert form["grant_type"] == "client_credentials" and form["client_id"] and form["client_secret"]
            checked += 1
            continue
        body = json.loads(request.content)
        assert request.headers["content-type"].startswith("application/json")
        if path.startswith("/ibr/"):
            validate_request(path[len("/ibr"):], body, spec="ibr")
        elif path.startswith("/ext/"):
            validate_schema("MsgHeader_V1.0.0", body["header"])
            assert isinstance(body["signature"], str) and isinstance(body["message"], dict)
        else:
            validate_request(path, body)
        checked += 1
    return checked


@pytest.fixture
def make_client() -> Iterator[Callable[..., tuple[RegistryClient, SentRequests]]]:
    """`make_client(settings, **overrides)` → (client, captured requests); every captured request is
    validated against the OpenAPI files when the test ends."""
    made: list[tuple[RegistryClient, SentRequests, str]] = []

    def make(settings, resilience: ResilienceConfig = FAST, xroad_service: str | None = None,
             **settings_overrides) -> tuple[RegistryClient, SentRequests]:
        sent = SentRequests()
        client = RegistryClient(replace(settings, **settings_overrides), resilience=resilience,
                                xroad_service=xroad_service, event_hooks={"request": [sent]})
        endpoints = client.transport.endpoints
        prefix = "/r1/" + endpoints.xroad_service.strip("/") if endpoints.via_xroad else ""
        made.append((client, sent, prefix))
        return client, sent

    yield make
    for client, sent, prefix in made:
        client.close()
        validate_sent(sent, prefix)
