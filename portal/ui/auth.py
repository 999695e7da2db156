"""Sign-in, sign-out, the language switch and the `login_required` guard.

Login rate limits (SPEC §14): at most LOGIN_LIMIT attempts per login and IP_LIMIT per client address
in a LOGIN_WINDOW window (fixed windows, shared by every web process through the database or Redis:
portal/services/ratelimit.py); past them the form answers 429 without checking the password.
The session is cleared on login (no fixation) and carries only the officer id and a CSRF token; every
request reloads the officer, so a deactivated account is signed out at once.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import current_app, g, redirect, render_template, request, session, url_for
from sqlalchemy.orm import Session

from chumnuoy.i18n import LOCALES
from portal.models.base import utcnow
from portal.models.cases import Officer
from portal.services import audit, officers
from portal.services.ratelimit import hashed_key, rate_limiter_for
from portal.ui import bp

LOGIN_LIMIT = 5
IP_LIMIT = 30
LOGIN_WINDOW = timedelta(minutes=15)


def db() -> Session:
    """One session per request, closed at teardown."""
    if "db" not in g:
        g.db = current_app.extensions["db_sessionmaker"]()
    return g.db


@bp.teardown_app_request
def _close_db(_error: BaseException | None) -> None:
    session_ = g.pop("db", None)
    if session_ is not None:
        session_.close()


def current_officer() -> Officer | None:
    if "officer" in g:
        return g.officer
    officer_id = session.get("officer_id")
    officer = db().get(Officer, officer_id) if isinstance(officer_id, int) else None
    if officer is not None and not officer.active:
        officer = None
    g.officer = officer
    return officer


def actor() -> str:
    officer = current_officer()
    return f"officer:{officer.id}" if officer else "anonymous"


def login_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Redirect to the login page when signed out; 403 when the officer's role is not in `roles`."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            officer = current_officer()
            if officer is None:
                return redirect(url_for("portal_ui.login", next=request.path))
            if roles and officer.role not in roles:
                return render_template("portal_ui/error.html", code=403), 403
            return view(*args, **kwargs)

        return wrapper

    return decorate


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/portal/") and not target.startswith("//"):
        return target
    return url_for("portal_ui.queue")


def _client_ip() -> str:
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        return render_template("portal_ui/login.html", error=None, next=request.args.get("next", ""))
    login_name = (request.form.get("login") or "").strip().lower()
    password = request.form.get("password") or ""
    settings = current_app.config["CHUMNUOY_SETTINGS"]
    session_ = db()
    limiter = rate_limiter_for(session_, settings.redis_url)
    now = utcnow()
    config = current_app.config
    within_login = limiter.hit(hashed_key("portal_login", login_name),
                               limit=config.get("PORTAL_LOGIN_LIMIT", LOGIN_LIMIT), window=LOGIN_WINDOW,
                               now=now)
    within_ip = limiter.hit(hashed_key("portal_login_ip", _client_ip()),
                            limit=config.get("PORTAL_LOGIN_IP_LIMIT", IP_LIMIT), window=LOGIN_WINDOW, now=now)
    session_.commit()
    if not (within_login and within_ip):
        audit.record(session_, actor="anonymous", action="login_throttled", subject_type="officer_login",
                     subject_id=hashed_key("login", login_name))
        session_.commit()
        return render_template("portal_ui/login.html", error="throttled",
                               next=request.form.get("next", "")), 429
    officer = officers.authenticate(session_, login_name, password) if login_name and password else None
    if officer is None:
        audit.record(session_, actor="anonymous", action="login_failed", subject_type="officer_login",
                     subject_id=hashed_key("login", login_name))
        session_.commit()
        return render_template("portal_ui/login.html", error="invalid",
                               next=request.form.get("next", "")), 401
    locale = session.get("locale")
    session.clear()
    session.permanent = True
    session["officer_id"] = officer.id
    session["locale"] = locale if locale in LOCALES else officer.locale
    session["csrf"] = secrets.token_urlsafe(32)
    audit.record(session_, actor=f"officer:{officer.id}", action="login", subject_type="officer",
                 subject_id=str(officer.id))
    session_.commit()
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> Any:
    officer = current_officer()
    if officer is not None:
        audit.record(db(), actor=f"officer:{officer.id}", action="logout", subject_type="officer",
                     subject_id=str(officer.id))
        db().commit()
    locale = session.get("locale")
    session.clear()
    if locale in LOCALES:
        session["locale"] = locale
    return redirect(url_for("portal_ui.login"))


@bp.post("/language")
def language() -> Any:
    wanted = request.form.get("locale")
    if wanted in LOCALES:
        session["locale"] = wanted
    return redirect(_safe_next(request.form.get("next")))
