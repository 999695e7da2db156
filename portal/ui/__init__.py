"""The officer portal (SPEC §11): server-rendered pages under /portal/ (no JavaScript needed), Khmer by
default and English, CSRF on every form, hardened session cookies and security headers.

`register(app)` mounts the blueprint; the views live in auth.py (login, logout, language), cases.py
(queue, case, actions, CSV), work.py (change requests, conversations) and admin.py (dashboard, audit
log, users). Reading and scoping queries are in portal/services/officer_queue.py; every change goes
through the services layer (grievances, change_requests, conversations, officers).
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("portal_ui", __name__, url_prefix="/portal", template_folder="templates",
               static_folder="static", static_url_path="/static")


def _attach() -> None:
    from portal.ui import admin, auth, cases, evidence, privacy, security, work  # noqa: F401 (views attach to bp)

    security.attach(bp)


_attach()


def register(app: Flask) -> None:
    from portal.ui import security

    security.init_app(app)
    app.register_blueprint(bp)
