"""The portal service: Flask application factory (officer UI, JSON API, channel webhooks)."""

from __future__ import annotations

from flask import Flask

from chumnuoy.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> Flask:
    """Build the web application; `settings` defaults to the environment's."""
    settings = settings or get_settings()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key or None,
        SECRET_KEY_FALLBACKS=[k.strip() for k in settings.secret_key_fallbacks.split(",") if k.strip()],
        CHUMNUOY_SETTINGS=settings,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https://"),
    )

    from portal import db

    db.init_app(app, settings.database_url)
    __import__("portal.inputguard").inputguard.register(app)  # 413 on huge bodies, 400 on NUL

    __import__("portal.observability").observability.register(app)  # request ids, /metrics
    from portal.health import bp as health_bp

    app.register_blueprint(health_bp)
    __import__("portal.jwks").jwks.register(app)  # our signing keys for the registry (rotation)

    from portal.api import register_api

    register_api(app)
    __import__("bot.web").web.register(app)  # channel webhooks (bot/web.py)
    __import__("portal.ui").ui.register(app)  # officer portal pages (/portal/)
    return app
