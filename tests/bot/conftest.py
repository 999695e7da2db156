"""The portal app with its channel webhooks, on a migrated database (SQLite or PostgreSQL), wired to
the live sandbox registry; helpers that talk to the webhooks as a USSD gateway or SMS aggregator."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.budget import sms_segments, ussd_fits
from chumnuoy.settings import Settings

USSD_KEY = "ussd-test-key"
SMS_KEY = "sms-test-key"
TWILIO_TOKEN = "twilio-test-token"
PUBLIC = "https://chumnuoy.example.org"

P1, P2, P3, P4, P5, P6, P7, P8 = ("+85512000101", "+85512000102", "+85597000103", "+85510000104",
                                  "+85512000105", "+85512000199", "+85512000107", "+85512000108")

_sessions = itertools.count(1)


class CountingRegistry:
    """The real RegistryClient, counting calls (to prove the first screens never reach it)."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        attribute = getattr(self.inner, name)
        if not callable(attribute):
            return attribute

        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            self.calls.append(name)
            return attribute(*args, **kwargs)

        return call


def make_app(database_url: str, live_registry, redis_url: str = "") -> tuple[Flask, CountingRegistry]:
    from portal import create_app
    from registry_client.client import RegistryClient

    settings = replace(live_registry.settings, database_url=database_url, redis_url=redis_url,
                       ussd_gateway_key=USSD_KEY, sms_gateway_key=SMS_KEY, twilio_auth_token=TWILIO_TOKEN,
                       public_base_url=PUBLIC, secret_key="test-secret")
    app = create_app(settings)
    registry = CountingRegistry(RegistryClient(live_registry.settings))
    app.config["REGISTRY_FACTORY"] = lambda: registry
    app.config["CHUMNUOY_FLOOD_LIMITS"] = {}  # crawlers send hundreds; limits: tests/security
    return app, registry


@pytest.fixture
def bot_app(portal_database_url, live_registry) -> Iterator[tuple[Flask, CountingRegistry]]:
    app, registry = make_app(portal_database_url, live_registry)
    yield app, registry
    registry.inner.close()  # type: ignore[attr-defined]
    app.extensions["db_engine"].dispose()


@pytest.fixture
def app(bot_app) -> Flask:
    return bot_app[0]


@pytest.fixture
def registry(bot_app) -> CountingRegistry:
    return bot_app[1]


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@dataclass
class UssdPhone:
    """A phone dialling the USSD code: keeps the cumulative `text` like Africa's Talking does."""

    client: FlaskClient
    phone: str
    session_id: str = field(default_factory=lambda: f"ATUid_{next(_sessions)}")
    inputs: list[str] = field(default_factory=list)
    screens: list[str] = field(default_factory=list)

    def dial(self) -> str:
        self.inputs = []
        return self._post("")

    def press(self, key: str) -> str:
        self.inputs.append(key)
        return self._post("*".join(self.inputs))

    def _post(self, text: str) -> str:
        response = self.client.post(f"/channels/ussd?key={USSD_KEY}", data={
            "sessionId": self.session_id, "serviceCode": "*1234#", "phoneNumber": self.phone,
            "networkCode": "45606", "text": text})
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/plain"
        body = response.get_data(as_text=True)
        assert body.startswith(("CON ", "END "))
        assert ussd_fits(body[4:]), f"over the USSD screen budget: {body!r}"
        self.screens.append(body)
        return body

    def new_session(self) -> UssdPhone:
        return UssdPhone(self.client, self.phone)


@dataclass
class SmsPhone:
    """A phone texting the generic SMS gateway webhook."""

    client: FlaskClient
    phone: str
    replies: list[str] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def send(self, text: str, message_id: str | None = None) -> str | None:
        message_id = message_id or f"{self.phone}-{next(self._ids)}"
        response = self.client.post(f"/channels/sms/gateway?key={SMS_KEY}",
                                    json={"from": self.phone, "to": "1234", "text": text, "id": message_id})
        if response.status_code == 204:
            return None
        assert response.status_code == 200, response.get_data(as_text=True)
        reply = response.get_json()["text"]
        assert sms_segments(reply) <= 3, f"over 3 SMS segments: {reply!r}"
        self.replies.append(reply)
        return reply


def khmer_screen(body: str) -> str:
    return body[4:]


def settings_for(app: Flask) -> Settings:
    return app.config["CHUMNUOY_SETTINGS"]
