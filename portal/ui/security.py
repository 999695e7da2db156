"""CSRF tokens, security headers, session hardening and the officer's language for the portal pages.

- CSRF: a random token per session (synchronizer token); every POST to the portal must carry it in
  the form field `csrf_token` (or the `X-CSRF-Token` header), else 400. Compared in constant time.
- Headers on every portal response: a strict Content-Security-Policy (no scripts at all, styles from
  our own origin only), X-Frame-Options DENY, nosniff, Referrer-Policy no-referrer, no caching of
  pages holding personal data.
- Cookies: HttpOnly, SameSite=Lax and Secure when PUBLIC_BASE_URL is https (set by create_app);
  sessions expire after 8 hours.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from flask import Blueprint, Flask, Response, abort, g, request, session

from chumnuoy.i18n import LOCALES, translate

CSRF_FIELD = "csrf_token"
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def check_csrf() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = session.get("csrf")
    given = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token")
    if not expected or not given or not hmac.compare_digest(str(expected).encode(), str(given).encode()):
        abort(400, description="csrf")


def current_locale() -> str:
    locale = session.get("locale")
    return locale if locale in LOCALES else "km"


def text(msgid: str, /, **params: object) -> str:
    """The portal's translation function (`_` in templates)."""
    return translate(getattr(g, "locale", None) or current_locale(), msgid, **params)


def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    if request.is_secure or request.headers.get("X-Forwarded-Proto") == "https":
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    return response


def init_app(app: Flask) -> None:
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(hours=8))


def attach(bp: Blueprint) -> None:
    """Hook CSRF, headers, error pages and the template context onto the portal blueprint (once)."""

    @bp.before_request
    def _before() -> None:
        g.locale = current_locale()
        check_csrf()

    bp.after_request(_headers)

    def _error(error):  # type: ignore[no-untyped-def]
        from flask import render_template

        return render_template("portal_ui/error.html", code=error.code), error.code

    for code in (400, 403, 404, 405):
        bp.register_error_handler(code, _error)

    @bp.app_context_processor
    def _context() -> dict[str, object]:
        from portal.ui import helpers

        return {"_": text, "csrf_token": csrf_token, "locale": current_locale(), "h": helpers}
