"""`/simulator`: drive the real channel webhooks as a phone would (USSD keypad, SMS thread).

Enabled only with SIMULATOR_ENABLED=1 while the registry is the local sandbox (loopback URL, no
X-Road), and only for requests from 127.0.0.1 / ::1 (no admin login is needed there; anything else
gets 404). The page is server-rendered and keeps no state on the server: the USSD session id, the
cumulative `text` and the SMS thread travel in the form. Each action posts to the real webhook
(with the configured gateway key) through the app itself, so authentication, state and rendering
are exactly what a gateway would get.
"""

from __future__ import annotations

import json
import secrets
from urllib.parse import urlparse

from flask import Blueprint, Response, abort, current_app, render_template_string, request

from bot.budget import sms_segments
from chumnuoy.i18n import translate

bp = Blueprint("simulator", __name__)
LOOPBACK = {"127.0.0.1", "::1", "localhost"}

MSG_TITLE = "Phone simulator"
MSG_PHONE = "Phone number"
MSG_DIAL = "Dial USSD"
MSG_SEND = "Send"
MSG_SEGMENTS = "{n} SMS segment(s)"
SIMULATOR_MSGIDS = (MSG_TITLE, MSG_PHONE, MSG_DIAL, MSG_SEND, MSG_SEGMENTS)

PAGE = """<!doctype html><html lang="{{ locale }}"><meta charset="utf-8">
<meta name="viewport" content="width=device-width"><title>{{ t(MSG_TITLE) }}</title>
<style>body{font-family:sans-serif;max-width:40em;margin:1em auto}pre{background:#eee;padding:.5em;
white-space:pre-wrap}.me{text-align:right;color:#036}</style>
<h1>{{ t(MSG_TITLE) }}</h1>
<form method="post"><input type="hidden" name="channel" value="ussd">
<input type="hidden" name="session" value="{{ session }}"><input type="hidden" name="text" value="{{ text }}">
<label>{{ t(MSG_PHONE) }} <input name="phone" value="{{ phone }}"></label>
{% if screen %}<pre>{{ screen }}</pre>{% endif %}
<input name="input" autocomplete="off" inputmode="numeric">
<button name="action" value="ussd">{{ t(MSG_SEND) }}</button>
<button name="action" value="dial">{{ t(MSG_DIAL) }}</button></form>
<h2>SMS</h2>
{% for who, body in thread %}<pre class="{{ who }}">{{ body }}</pre>
{% if who == "bot" %}<small>{{ t(MSG_SEGMENTS, n=segments(body)) }}</small>{% endif %}{% endfor %}
<form method="post"><input type="hidden" name="channel" value="sms">
<input type="hidden" name="phone" value="{{ phone }}">
<input type="hidden" name="thread" value="{{ thread_json }}">
<input name="input" autocomplete="off"> <button name="action" value="sms">{{ t(MSG_SEND) }}</button></form>
</html>"""


def register(app) -> None:  # type: ignore[no-untyped-def]
    app.register_blueprint(bp)


def _allowed() -> bool:
    settings = current_app.config["CHUMNUOY_SETTINGS"]
    sandbox = not settings.xroad_client and (urlparse(settings.registry_url).hostname or "") in LOOPBACK
    return bool(settings.simulator_enabled and sandbox and request.remote_addr in LOOPBACK)


@bp.route("/simulator", methods=["GET", "POST"])
def simulator() -> Response | str:
    if not _allowed():
        abort(404)
    settings = current_app.config["CHUMNUOY_SETTINGS"]
    form = request.form
    phone = (form.get("phone") or "+85512000101").strip()
    action = form.get("action", "")
    session, text, screen = form.get("session", ""), form.get("text", ""), ""
    thread: list[list[str]] = json.loads(form.get("thread") or "[]")[-20:]
    client = current_app.test_client()
    if action in ("dial", "ussd"):
        if action == "dial" or not session:
            session, text = "sim-" + secrets.token_hex(6), ""
        else:
            typed = form.get("input", "").strip()
            text = f"{text}*{typed}" if text else typed
        response = client.post("/channels/ussd", headers={"X-Gateway-Key": settings.ussd_gateway_key}, data={
            "sessionId": session, "serviceCode": "*1234#", "phoneNumber": phone, "networkCode": "sim",
            "text": text})
        screen = response.get_data(as_text=True)
        if screen.startswith("END "):
            session, text = "", ""
    elif action == "sms" and form.get("input", "").strip():
        body = form["input"].strip()
        thread.append(["me", body])
        message = {"from": phone, "to": "sim", "text": body, "id": "sim-" + secrets.token_hex(8)}
        response = client.post("/channels/sms/gateway", headers={"X-Gateway-Key": settings.sms_gateway_key},
                               json=message)
        if response.status_code == 200:
            thread.append(["bot", response.get_json()["text"]])
    locale = "km"
    return render_template_string(
        PAGE, locale=locale, t=lambda msgid, **kw: translate(locale, msgid, **kw), phone=phone,
        session=session, text=text, screen=screen, thread=thread,
        thread_json=json.dumps(thread, ensure_ascii=False),
        segments=sms_segments, MSG_TITLE=MSG_TITLE, MSG_PHONE=MSG_PHONE, MSG_DIAL=MSG_DIAL, MSG_SEND=MSG_SEND,
        MSG_SEGMENTS=MSG_SEGMENTS)
