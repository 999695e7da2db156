"""Fixtures for the abuse tests: the whole web app (portal, API, channel webhooks, simulator) on a
migrated database, wired to the live sandbox registry, with every secret set, an API token with all
scopes and an admin account."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.bot.conftest import PUBLIC, SMS_KEY, TWILIO_TOKEN, USSD_KEY, CountingRegistry
from tests.security import fuzzing

TELEGRAM_SECRET = "telegram-test-secret"
ADMIN_LOGIN, ADMIN_PASSWORD = "fuzz.admin", "correct-horse-42"

__all__ = ["PUBLIC", "SMS_KEY", "TELEGRAM_SECRET", "TWILIO_TOKEN", "USSD_KEY"]


@dataclass
class Web:
    app: Flask
    client: FlaskClient
    token: str
    registry: CountingRegistry

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def build_app(database_url: str, live_registry, redis_url: str = "") -> tuple[Flask, CountingRegistry]:  # type: ignore[no-untyped-def]
    from portal import create_app
    from registry_client.client import RegistryClient

    settings = replace(live_registry.settings, database_url=database_url, redis_url=redis_url,
                       ussd_gateway_key=USSD_KEY, sms_gateway_key=SMS_KEY, twilio_auth_token=TWILIO_TOKEN,
                       telegram_webhook_secret=TELEGRAM_SECRET, public_base_url=PUBLIC,
                       secret_key="security-test-secret", simulator_enabled=True)
    app = create_app(settings)
    registry = CountingRegistry(RegistryClient(live_registry.settings))
    app.config["REGISTRY_FACTORY"] = lambda: registry
    app.extensions["registry"] = registry  # the API shares the same client
    return app, registry


@pytest.fixture
def web(portal_database_url, live_registry) -> Iterator[Web]:
    from portal.services.officers import create_officer, create_token

    app, registry = build_app(portal_database_url, live_registry)
    with app.extensions["db_sessionmaker"]() as session:
        _, token = create_token(session, name="fuzz", scopes=("*",))
        create_officer(session, login=ADMIN_LOGIN, name="Fuzz Admin", password=ADMIN_PASSWORD, role="admin",
                       locale="en")
        session.commit()
    yield Web(app, app.test_client(), token, registry)
    registry.inner.close()  # type: ignore[attr-defined]
    app.extensions["db_engine"].dispose()


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if fuzzing.COUNTS:
        terminalreporter.section("fuzzing counts")
        for line in fuzzing.summary_lines():
            terminalreporter.write_line(line)
        fuzzing.write_report()
