"""`/healthz`: is the database answering, is the registry reachable."""

from __future__ import annotations

import httpx
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from portal.db import engine_of

bp = Blueprint("health", __name__)


def _database_ok() -> bool:
    try:
        with engine_of(current_app).connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        current_app.logger.exception("healthz: database check failed")
        return False


def _registry_ok(base_url: str) -> bool:
    """Reachable = the registry's HTTP server answers at all (a real SPR has no /healthz)."""
    try:
        response = httpx.get(base_url.rstrip("/") + "/", timeout=2.0)
        return response.status_code < 500
    except httpx.HTTPError:
        return False


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    settings = current_app.config["CHUMNUOY_SETTINGS"]
    checks = {"database": _database_ok(), "registry": _registry_ok(settings.registry_url)}
    healthy = all(checks.values())
    return jsonify(status="ok" if healthy else "degraded", checks=checks), 200 if healthy else 503
