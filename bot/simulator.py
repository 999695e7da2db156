"""`/simulator`: a phone in the browser that drives the real channel webhooks (SPEC §10).

A feature phone's USSD screen with a keypad, and an SMS thread with the segment count of every
message. Each action is proxied server-side to the real webhook (`/channels/ussd`,
`/channels/sms/gateway`) through the whole WSGI stack of this app, with the configured gateway
keys: authentication, state and rendering are exactly what a gateway gets, and no key ever reaches
the browser.

Available only with SIMULATOR_ENABLED=1 while the registry is the local sandbox (a loopback URL, no
X-Road); otherwise 404. Requests from 127.0.0.1 / ::1 need no login; from elsewhere an active
`admin` officer must be signed in to the portal (others are sent to the login page, or get 403 when
the portal has none). Forms carry a CSRF token whenever the app can sign sessions. The page keeps
no state on the server: the USSD session id, the cumulative `text` and the SMS thread travel in the
form.
"""

from __future__ import annotations

import hmac
import json
import secrets
from urllib.parse import urlparse

from flask import Blueprint, Response, abort, current_app, redirect, render_template_string, request, session
from werkzeug.routing import BuildError

from bot.budget import sms_segments
from chumnuoy.i18n import translate

bp = Blueprint("simulator", __name__)
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
KEYPAD = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#")
THREAD_LIMIT = 30

MSG_TITLE = "Phone simulator"
MSG_PHONE = "Phone number"
MSG_DIAL = "Dial USSD"
MSG_SEND = "Send"
MSG_SEGMENTS = "{n} SMS segment(s)"
MSG_HANG_UP = "Hang up"
SIMULATOR_MSGIDS = (MSG_TITLE, MSG_PHONE, MSG_DIAL, MSG_SEND, MSG_SEGMENTS, MSG_HANG_UP)

PAGE = """<!doctype html><html lang="{{ locale }}"><meta charset="utf-8">
<meta name="viewport" content="width=device-width"><title>{{ t(MSG_TITLE) }}</title>
<style>
body{font-family:sans-serif;margin:1em;display:flex;flex-wrap:wrap;gap:2em}
.phone{width:15em;background:#333;border-radius:1.5em;padding:1.2em;color:#fff}
.screen{background:#c8d8a8;color:#111;font:14px monospace;min-height:9em;padding:.5em;
white-space:pre-wrap;border-radius:.3em;word-break:break-word}
.keypad{display:grid;grid-template-columns:repeat(3,1fr);gap:.3em;margin:.6em 0}
.keypad button{font-size:1.2em;padding:.3em}
.row{display:flex;gap:.3em}.row button,.row input{flex:1}
.green{background:#4a4;color:#fff}.red{background:#c33;color:#fff}
.thread{width:22em}.me,.bot{white-space:pre-wrap;padding:.4em;border-radius:.5em;margin:.3em 0}
.me{background:#dcf8c6;margin-left:3em}.bot{background:#eee;margin-right:3em}
small{color:#666}
</style>
<h1 style="width:100%">{{ t(MSG_TITLE) }}</h1>
<div class="phone">
<form method="post" id="ussd">
<input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="session" value="{{ session_id }}">
<input type="hidden" name="text" value="{{ text }}">
<input type="hidden" name="thread" value="{{ thread_json }}">
<label>{{ t(MSG_PHONE) }}<br><input name="phone" value="{{ phone }}" size="14"></label>
<div class="screen" id="screen">{{ screen or "*1234#" }}</div>
<div class="row"><input name="input" id="typed" autocomplete="off" inputmode="numeric"
aria-label="input"></div><div class="keypad">{% for key in keypad %}
<button type="button" onclick="press('{{ key }}')">{{ key }}</button>{% endfor %}</div>
<div class="row"><button class="green" name="action" value="{{ 'ussd' if session_id else 'dial' }}">
{{ t(MSG_SEND) if session_id else t(MSG_DIAL) }}</button>
<button class="red" name="action" value="hangup">{{ t(MSG_HANG_UP) }}</button></div>
</form></div>
<div class="thread"><h2>SMS</h2>
{% for who, body in thread %}<div class="{{ who }}">{{ body }}</div>
<small>{{ t(MSG_SEGMENTS, n=segments(body)) }}</small>{% endfor %}
<form method="post"><input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="phone" value="{{ phone }}">
<input type="hidden" name="session" value="{{ session_id }}">
<input type="hidden" name="text" value="{{ text }}">
<input type="hidden" name="thread" value="{{ thread_json }}">
<div class="row"><input name="input" autocomplete="off" aria-label="SMS">
<button name="action" value="sms">{{ t(MSG_SEND) }}</button></div></form></div>
<script>function press(k){var i=document.getElementById('typed');i.value+=k;i.focus();}</script>
</html>"""


def register(app) -> None:  # type: ignore[no-untyped-def]
    app.register_blueprint(bp)


def _enabled() -> bool:
    settings = current_app.config["CHUMNUOY_SETTINGS"]
    sandbox = not settings.xroad_client and (urlparse(settings.registry_url).hostname or "") in LOOPBACK
    return bool(settings.simulator_enabled and sandbox)


def _admin_signed_in() -> bool:
    """An active portal admin in this browser session (the portal's login sets `officer_id`)."""
    officer_id = session.get("officer_id") if current_app.secret_key else None
    if not isinstance(officer_id, int):
        return False
    from portal.models.cases import Officer

    with current_app.extensions["db_sessionmaker"]() as db:
        officer = db.get(Officer, officer_id)
        return officer is not None and officer.active and officer.role == "admin"


def _refusal() -> Response:
    try:
        from flask import url_for

        return redirect(url_for("portal_ui.login", next=request.path))  # type: ignore[return-value]
    except BuildError:
        abort(403)


def _csrf_token() -> str:
    if not current_app.secret_key:
        return ""
    token = session.get("simulator_csrf")
    if not isinstance(token, str):
        token = session["simulator_csrf"] = secrets.token_urlsafe(24)
    return token


def _csrf_ok() -> bool:
    expected = _csrf_token()
    return not expected or hmac.compare_digest(expected, request.form.get("csrf", ""))


@bp.route("/simulator", methods=["GET", "POST"])
def simulator() -> Response | str:
    if not _enabled():
        abort(404)
    if request.remote_addr not in LOOPBACK and not _admin_signed_in():
        return _refusal()
    if request.method == "POST" and not _csrf_ok():
        abort(400)
    settings = current_app.config["CHUMNUOY_SETTINGS"]
    form = request.form
    phone = (form.get("phone") or "+85512000101").strip()
    action = form.get("action", "")
    session_id, text, screen = form.get("session", ""), form.get("text", ""), ""
    try:
        raw = json.loads(form.get("thread") or "[]")
        thread: list[list[str]] = [list(map(str, pair))[:2] for pair in raw]
    except (ValueError, TypeError):
        thread = []
    client = current_app.test_client()  # the real webhook, in process, through the whole WSGI stack
    if action in ("dial", "ussd"):
        if action == "dial" or not session_id:
            session_id, text = "sim-" + secrets.token_hex(6), ""
        else:
            typed = form.get("input", "").strip()
            text = f"{text}*{typed}" if text else typed
        response = client.post("/channels/ussd", headers={"X-Gateway-Key": settings.ussd_gateway_key}, data={
            "sessionId": session_id, "serviceCode": "*1234#", "phoneNumber": phone, "networkCode": "sim",
            "text": text})
        ok = response.status_code == 200
        screen = response.get_data(as_text=True) if ok else f"HTTP {response.status_code}"
        if not screen.startswith("CON "):
            session_id, text = "", ""
    elif action == "hangup":
        session_id, text = "", ""
    elif action == "sms" and form.get("input", "").strip():
        body = form["input"].strip()
        thread.append(["me", body])
        message = {"from": phone, "to": "sim", "text": body, "id": "sim-" + secrets.token_hex(8)}
        response = client.post("/channels/sms/gateway", headers={"X-Gateway-Key": settings.sms_gateway_key},
                               json=message)
        if response.status_code == 200:
            thread.append(["bot", response.get_json()["text"]])
    thread = thread[-THREAD_LIMIT:]
    locale = "km"
    return render_template_string(
        PAGE, locale=locale, t=lambda msgid, **kw: translate(locale, msgid, **kw), phone=phone,
        session_id=session_id, text=text, screen=screen, thread=thread, keypad=KEYPAD, csrf=_csrf_token(),
        thread_json=json.dumps(thread, ensure_ascii=False), segments=sms_segments,
        MSG_TITLE=MSG_TITLE, MSG_PHONE=MSG_PHONE, MSG_DIAL=MSG_DIAL, MSG_SEND=MSG_SEND,
        MSG_SEGMENTS=MSG_SEGMENTS, MSG_HANG_UP=MSG_HANG_UP)
