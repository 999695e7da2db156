"""Request ids: taken from a safe incoming X-Request-Id or made, returned, on every log line of the
request, and sent on to the registry."""

from __future__ import annotations

import io
import json
import logging
import re
from dataclasses import replace

import httpx
import pytest

from chumnuoy.logs import make_handler, request_context
from chumnuoy.settings import Settings
from portal import create_app
from registry_client.client import RegistryClient

GENERATED = re.compile(r"[0-9a-f]{16}")


@pytest.fixture
def app(database_url):  # type: ignore[no-untyped-def]
    app = create_app(replace(Settings(), database_url=database_url, secret_key="x"))

    @app.get("/_test/log")
    def log_something():  # type: ignore[no-untyped-def]
        logging.getLogger("test.request_id").info("looked up %s", "+85512000101")
        return "ok"

    yield app
    app.extensions["db_engine"].dispose()


@pytest.mark.parametrize("given", ["gw-7f3a", "ATUid_1234.5:6", "a" * 64])
def test_a_safe_incoming_id_is_kept_and_returned(app, given):
    response = app.test_client().get("/_test/log", headers={"X-Request-Id": given})
    assert response.headers["X-Request-Id"] == given


@pytest.mark.parametrize("given", ["", "a" * 65, "<script>", "id with spaces", "-leading", "x\u200by", "é"])
def test_an_unsafe_or_missing_id_is_replaced(app, given):
    client = app.test_client()
    headers = {"X-Request-Id": given} if given else {}
    first = client.get("/_test/log", headers=headers).headers["X-Request-Id"]
    second = client.get("/_test/log", headers=headers).headers["X-Request-Id"]
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second)
    assert first != second


def test_every_log_line_of_the_request_carries_it(app):
    stream = io.StringIO()
    logger = logging.getLogger("test.request_id")
    logger.handlers[:] = [make_handler("json", stream)]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    app.test_client().get("/_test/log", headers={"X-Request-Id": "hop-1"})
    app.test_client().get("/_test/log?key=secret")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["request_id"] == "hop-1" and first["path"] == "/_test/log"
    assert "85512000101" not in first["msg"]
    assert GENERATED.fullmatch(second["request_id"])
    assert "secret" not in stream.getvalue()  # the path is logged without its query string


def test_channel_webhooks_echo_it_even_when_refused(app):
    response = app.test_client().post("/channels/ussd?key=wrong", headers={"X-Request-Id": "gw-9"})
    assert response.status_code == 403
    assert response.headers["X-Request-Id"] == "gw-9"


def test_registry_calls_carry_the_request_id(live_registry):
    """Recorded on each request the client sends (its own httpx hooks run after the stamping one)."""
    seen: list[str | None] = []

    def record(request: httpx.Request) -> None:
        seen.append(request.headers.get("X-Request-Id"))

    client = RegistryClient(live_registry.settings, event_hooks={"request": [record]})
    try:
        with request_context("hop-abc123"):
            assert client.find_people("MOBILE", "+85512000101")
        assert client.ping()  # outside any hop: no id
    finally:
        client.close()
    assert len(seen) >= 2 and set(seen[:-1]) == {"hop-abc123"}
    assert seen[-1] is None
