"""`/healthz`: can this web process serve citizens, and is the background work keeping up?

`{"status": "ok" | "degraded", "checks": {name: bool}, "details": {...}}`. Checks:

| check | true when | HTTP 503 when false |
|---|---|---|
| `database` | `SELECT 1` answers | yes |
| `registry` | the registry's HTTP server answers (a real SPR has no /healthz); details: circuit state | yes |
| `redis` (only with REDIS_URL) | PING answers | yes |
| `nlu` | embedded: model loaded (or its file present before first use); rasa: `/status` has a model | yes |
| `worker` | a worker heartbeat is younger than 60 s | no |
| `outbox` | no due outbox message has waited more than 10 minutes | no |

So 503 means "this process cannot serve" (take it out of rotation); 200 with `degraded` means it
serves but deliveries are stalled (alert someone). Every remote check has a 1–2 s timeout; the
database ones are indexed single-row aggregates, so polling is cheap.
"""

from __future__ import annotations

from typing import Any

import httpx
from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import func, select, text

from chumnuoy.settings import Settings
from portal.db import engine_of
from portal.models.base import utcnow
from portal.models.cases import OutboxMessage
from portal.observability import heartbeat

bp = Blueprint("health", __name__)

CRITICAL = ("database", "registry", "redis", "nlu")
OUTBOX_STALE_SECONDS = 600.0


def _database(app: Flask, details: dict[str, Any]) -> tuple[bool, bool, bool]:
    """(database, worker, outbox) from one connection."""
    try:
        with engine_of(app).connect() as connection:
            connection.execute(text("SELECT 1"))
            now = utcnow()
            try:
                beat_age = heartbeat.age_seconds(connection, now)
                oldest = connection.execute(
                    select(func.min(OutboxMessage.next_attempt_at))
                    .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)).scalar()
            except Exception:  # answering, but not migrated (or broken): serving will fail loudly anyway
                app.logger.exception("healthz: worker/outbox queries failed")
                return True, False, False
    except Exception:
        app.logger.exception("healthz: database check failed")
        return False, False, False
    waited = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    details["worker"] = {"heartbeat_age_seconds": None if beat_age is None else round(beat_age, 1)}
    details["outbox"] = {"oldest_due_seconds": round(waited, 1)}
    worker_ok = beat_age is not None and beat_age <= heartbeat.STALE_SECONDS
    return True, worker_ok, waited <= OUTBOX_STALE_SECONDS


def _registry_ok(base_url: str) -> bool:
    """Reachable = the registry's HTTP server answers at all (a real SPR has no /healthz)."""
    try:
        response = httpx.get(base_url.rstrip("/") + "/", timeout=2.0)
        return response.status_code < 500
    except httpx.HTTPError:
        return False


def _circuit(app: Flask) -> str | None:
    """The worst circuit state among this process's registry clients ("closed" when none is open)."""
    from registry_client import client as registry_client

    states = [getattr(candidate, "circuit_state", None)
              for candidate in (app.extensions.get("registry"), registry_client._shared)]
    states = [state for state in states if isinstance(state, str)]
    for worst in ("open", "half-open"):
        if worst in states:
            return worst
    return "closed" if states else None


def _redis_ok(app: Flask, url: str) -> bool:
    try:
        client = app.extensions.get("health_redis")
        if client is None:
            import redis

            client = app.extensions["health_redis"] = redis.Redis.from_url(
                url, socket_timeout=1.0, socket_connect_timeout=1.0)
        return bool(client.ping())
    except Exception:
        return False


def _nlu_ok(settings: Settings) -> bool:
    backend = (settings.nlu_backend or "embedded").strip().lower()
    if backend == "rasa":
        try:
            response = httpx.get(settings.rasa_url.rstrip("/") + "/status",
                                 params={"token": settings.rasa_token}, timeout=1.0)
            return response.status_code == 200 and bool(response.json().get("model_file"))
        except (httpx.HTTPError, ValueError, AttributeError):
            return False
    from bot.understand import KeywordInterpreter, interpreter

    if interpreter.cache_info().currsize:  # loaded in this process: did the real model load?
        return not isinstance(interpreter(), KeywordInterpreter)
    from nlu.embedded import MODEL_FILE  # not loaded yet (no free text so far): is it there to load?

    return MODEL_FILE.exists()


def health(app: Flask) -> tuple[dict[str, Any], int]:
    settings: Settings = app.config["CHUMNUOY_SETTINGS"]
    details: dict[str, Any] = {}
    database_ok, worker_ok, outbox_ok = _database(app, details)
    checks = {"database": database_ok, "registry": _registry_ok(settings.registry_url)}
    details["registry"] = {"circuit": _circuit(app)}
    if settings.redis_url:
        checks["redis"] = _redis_ok(app, settings.redis_url)
    checks["nlu"] = _nlu_ok(settings)
    details["nlu"] = {"backend": (settings.nlu_backend or "embedded").strip().lower()}
    checks["worker"] = worker_ok
    checks["outbox"] = outbox_ok
    healthy = all(checks.values())
    serving = all(ok for name, ok in checks.items() if name in CRITICAL)
    body = {"status": "ok" if healthy else "degraded", "checks": checks, "details": details}
    return body, 200 if serving else 503


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    body, status = health(current_app._get_current_object())  # type: ignore[attr-defined]
    return jsonify(body), status
