from dataclasses import replace
from datetime import timedelta

from sqlalchemy.orm import Session

from chumnuoy.settings import Settings
from portal import create_app
from portal.models.base import utcnow
from portal.models.cases import OutboxMessage
from portal.observability import heartbeat
from tests.fixtures.registry import registry_test_settings, start_live_registry


def _app(database_url: str, registry_url: str, **changes):  # type: ignore[no-untyped-def]
    changes = {"nlu_backend": "embedded", "redis_url": "", **changes}
    settings = replace(Settings(), database_url=database_url, registry_url=registry_url, secret_key="x",
                       **changes)
    return create_app(settings)


def _beat(app, seconds_ago: float = 0.0) -> None:  # type: ignore[no-untyped-def]
    with Session(app.extensions["db_engine"]) as session:
        heartbeat.beat(session, "test-worker", utcnow() - timedelta(seconds=seconds_ago))


def test_healthz_reports_every_dependency(portal_database_url, live_registry):
    app = _app(portal_database_url, live_registry.url)
    _beat(app)
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": True, "registry": True, "nlu": True, "worker": True, "outbox": True}
    assert body["details"]["worker"]["heartbeat_age_seconds"] < 10
    assert body["details"]["outbox"] == {"oldest_due_seconds": 0.0}
    assert body["details"]["nlu"] == {"backend": "embedded"}


def test_healthz_is_503_when_the_registry_is_unreachable(database_url):
    response = _app(database_url, "http://127.0.0.1:9").test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"] is True and body["checks"]["registry"] is False


def test_stopping_the_registry_turns_healthz_503(portal_database_url, seeded_registry_database):
    live, server = start_live_registry(registry_test_settings(seeded_registry_database))
    app = _app(portal_database_url, live.url)
    _beat(app)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    server.shutdown()  # type: ignore[attr-defined]
    server.server_close()  # type: ignore[attr-defined]
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["registry"] is False
    assert response.get_json()["checks"]["database"] is True


def test_a_stale_worker_or_old_backlog_is_degraded_but_still_serving(portal_database_url, live_registry):
    app = _app(portal_database_url, live_registry.url)
    client = app.test_client()
    body = client.get("/healthz").get_json()  # no worker has ever beaten
    assert body["checks"]["worker"] is False and body["details"]["worker"]["heartbeat_age_seconds"] is None
    _beat(app, seconds_ago=heartbeat.STALE_SECONDS + 30)
    response = client.get("/healthz")
    assert response.status_code == 200  # web can serve: not a reason to take it out of rotation
    assert response.get_json()["status"] == "degraded"
    assert response.get_json()["checks"]["worker"] is False
    _beat(app)
    with Session(app.extensions["db_engine"]) as session:
        session.add(OutboxMessage(channel="sms", address="+85512000907", text="x", kind="status",
                                  status="pending", next_attempt_at=utcnow() - timedelta(minutes=30)))
        session.commit()
    body = client.get("/healthz").get_json()
    assert body["checks"]["worker"] is True and body["checks"]["outbox"] is False
    assert body["details"]["outbox"]["oldest_due_seconds"] >= 1800
    assert body["status"] == "degraded"


def test_redis_is_checked_when_configured(portal_database_url, live_registry, redis_url):
    app = _app(portal_database_url, live_registry.url, redis_url=redis_url)
    _beat(app)
    response = app.test_client().get("/healthz")
    assert response.get_json()["checks"]["redis"] is True
    assert response.status_code == 200
    broken = _app(portal_database_url, live_registry.url, redis_url="redis://127.0.0.1:9/0")
    response = broken.test_client().get("/healthz")
    assert response.get_json()["checks"]["redis"] is False
    assert response.status_code == 503


def test_rasa_backend_must_answer(portal_database_url, live_registry):
    app = _app(portal_database_url, live_registry.url, nlu_backend="rasa", rasa_url="http://127.0.0.1:9")
    _beat(app)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["nlu"] is False
    assert response.get_json()["details"]["nlu"] == {"backend": "rasa"}


def test_the_circuit_state_of_the_app_registry_client_is_reported(portal_database_url, live_registry):
    from registry_client.client import RegistryClient
    from registry_client.resilience import ResilienceConfig

    app = _app(portal_database_url, live_registry.url)
    client = RegistryClient(live_registry.settings, resilience=ResilienceConfig(breaker_failures=1))
    app.extensions["registry"] = client
    try:
        assert app.test_client().get("/healthz").get_json()["details"]["registry"] == {"circuit": "closed"}
        client.transport.breaker.record_failure()
        assert app.test_client().get("/healthz").get_json()["details"]["registry"] == {"circuit": "open"}
    finally:
        client.close()
