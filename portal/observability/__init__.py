"""Observability of the web app: request ids and channel metrics (requests.py), `/metrics`
(metrics.py), the worker's heartbeat (heartbeat.py) and gunicorn's logging and process hooks
(gunicorn.py). `/healthz` is portal/health.py; metric names are in chumnuoy/metrics.py."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from portal.observability import metrics, requests

    requests.register(app)
    app.register_blueprint(metrics.bp)
