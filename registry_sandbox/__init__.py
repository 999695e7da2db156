"""A DCI-conformant stand-in for the Social Protection Registry, with synthetic data.

It has its own database (REGISTRY_DATABASE_URL); the portal never reads it and talks to it only
over HTTP through `registry_client`.
"""

from __future__ import annotations

from flask import Flask, jsonify

from chumnuoy.db import make_engine
from chumnuoy.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or get_settings()
    app = Flask(__name__)
    app.config["CHUMNUOY_SETTINGS"] = settings
    engine = make_engine(settings.registry_database_url)

    from registry_sandbox.models import create_schema

    create_schema(engine)
    app.extensions["registry_engine"] = engine

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return jsonify(status="ok", registry="sandbox")

    from registry_sandbox.api import register_blueprints

    register_blueprints(app)
    return app
