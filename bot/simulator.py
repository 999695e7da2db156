"""`/simulator`: a phone in the browser that drives the real channel webhooks (SPEC §10).

A feature phone's USSD screen with a keypad, an SMS thread with the segment count of every
message, and a Telegram-like chat with inline buttons and the share-contact keyboard. Each action is
proxied server-side to the real webhook (`/channels/ussd`, `/channels/sms/gateway`,
`/channels/telegram`) through the whole WSGI stack of this app, with the configured gateway keys and
webhook secret: authentication, state and rendering are exactly what a gateway (or Telegram) gets,
and no key ever reaches the browser. Telegram updates are then processed by the worker's code for
that chat, its Bot API calls captured in process (bot/telegram/simulated.py, which also explains
why the chat exists only without a real TELEGRAM_BOT_TOKEN). `POST /simulator/telegram/process`
(JSON) does that processing for `chumnuoy simulate --channel telegram`.

Available only with SIMULATOR_ENABLED=1 while the registry is the local sandbox (a loopback URL, no
X-Road); otherwise 404. Requests from 127.0.0.1 / ::1 need no login; from elsewhere an active
`admin` officer must be signed in to the portal (others are sent to the login page, or get 403 when
the portal has none). Forms carry a CSRF token whenever the app can sign sessions. The page keeps
no state on the server: the USSD session id, the cumulative `text`, the SMS thread and the Telegram
transcript travel in the form.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from typing import Any
from urllib.parse import urlparse

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template_string,
    request,
    session,
)
from werkzeug.routing import BuildError

from bot.budget import sms_segments
from bot.telegram import simulated
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
MSG_TG_REFRESH = "New messages"
MSG_TG_REAL_BOT = "A real Telegram bot is configured (TELEGRAM_BOT_TOKEN): talk to it in Telegram."
MSG_TG_SHARED = "Contact shared: {phone}"
MSG_TG_PHOTO = "Send photo"
MSG_TG_PHOTO_SENT = "Photo ({size} KB)"
TELEGRAM_SIM_MSGIDS = (MSG_TG_REFRESH, MSG_TG_REAL_BOT, MSG_TG_SHARED, MSG_TG_PHOTO, MSG_TG_PHOTO_SENT)
MAX_UPLOAD = 5 * 1024 * 1024 + 1
"""A bigger photo is cut here; the bot refuses it by its declared size anyway."""
"""In translations/*/LC_MESSAGES/telegram_sim.po."""

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
small{color:#666}.tg{width:24em;background:#e7eef5;padding:.5em;border-radius:.5em}
.tg .bot{background:#fff}.tg .me{background:#d9f7be}.note{color:#a33;font-size:.9em}
.buttons button{flex:1;margin:.1em;background:#f4f8fb;border:1px solid #9bb;border-radius:.3em}
.keyboard button{width:100%;background:#fff;border:1px solid #9bb;padding:.4em}
</style>
<h1 style="width:100%">{{ t(MSG_TITLE) }}</h1>
<div class="phone">
<form method="post" id="ussd">
<input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="session" value="{{ session_id }}">
<input type="hidden" name="text" value="{{ text }}">
<input type="hidden" name="thread" value="{{ thread_json }}">
<input type="hidden" name="tg_thread" value="{{ tg_json }}">
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
<input type="hidden" name="tg_thread" value="{{ tg_json }}">
<div class="row"><input name="input" autocomplete="off" aria-label="SMS">
<button name="action" value="sms">{{ t(MSG_SEND) }}</button></div></form></div>
<div class="tg" id="telegram"><h2>Telegram</h2>
{% if not tg_available %}<p>{{ t(MSG_TG_REAL_BOT) }}</p>{% else %}
<form method="post" enctype="multipart/form-data"><input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="phone" value="{{ phone }}">
<input type="hidden" name="session" value="{{ session_id }}">
<input type="hidden" name="text" value="{{ text }}">
<input type="hidden" name="thread" value="{{ thread_json }}">
<input type="hidden" name="tg_thread" value="{{ tg_json }}">
{% for item in tg_thread %}<div class="{{ item.who }}" data-id="{{ item.id }}">{{ item.text }}</div>
{% if item.buttons %}<div class="buttons">{% for row in item.buttons %}<div class="row">{% for b in row %}
<button name="tg_press" value="{{ item.id }}:{{ b.data }}">{{ b.text }}</button>{% endfor %}</div>
{% endfor %}</div>{% endif %}{% endfor %}
{% if tg_keyboard %}<div class="keyboard">{% for row in tg_keyboard %}{% for b in row %}
<button name="action" value="{{ 'tg_contact' if b.contact else 'tg_send' }}"{% if not b.contact %}
 formnovalidate{% endif %}>{{ b.text }}</button>{% endfor %}{% endfor %}</div>{% endif %}
<div class="row"><input name="tg_input" autocomplete="off" aria-label="Telegram">
<button name="action" value="tg_send">{{ t(MSG_SEND) }}</button>
<button name="action" value="tg_refresh">{{ t(MSG_TG_REFRESH) }}</button></div>
<div class="row"><input type="file" name="tg_photo" accept="image/jpeg,image/png" aria-label="photo">
<button name="action" value="tg_photo">{{ t(MSG_TG_PHOTO) }}</button></div></form>{% endif %}</div>
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
    return not expected or hmac.compare_digest(expected.encode(), request.form.get("csrf", "").encode())


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
        thread: list[list[str]] = [[str(pair[0]), str(pair[1])] for pair in raw
                                   if isinstance(pair, list) and len(pair) >= 2]
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
    tg_thread = _telegram_thread(form.get("tg_thread"))
    tg_available = simulated.available(settings)
    if tg_available and (action.startswith("tg_") or form.get("tg_press")):
        tg_thread = _telegram_turn(settings, client, phone, tg_thread, action, form)
    thread, tg_thread = thread[-THREAD_LIMIT:], tg_thread[-THREAD_LIMIT:]
    locale = "km"
    return render_template_string(
        PAGE, locale=locale, t=lambda msgid, **kw: translate(locale, msgid, **kw), phone=phone,
        session_id=session_id, text=text, screen=screen, thread=thread, keypad=KEYPAD, csrf=_csrf_token(),
        thread_json=json.dumps(thread, ensure_ascii=False), segments=sms_segments,
        tg_available=tg_available, tg_thread=tg_thread, tg_json=json.dumps(tg_thread, ensure_ascii=False),
        tg_keyboard=simulated.reply_keyboard(tg_thread),
        MSG_TITLE=MSG_TITLE, MSG_PHONE=MSG_PHONE, MSG_DIAL=MSG_DIAL, MSG_SEND=MSG_SEND,
        MSG_SEGMENTS=MSG_SEGMENTS, MSG_HANG_UP=MSG_HANG_UP, MSG_TG_REFRESH=MSG_TG_REFRESH,
        MSG_TG_REAL_BOT=MSG_TG_REAL_BOT, MSG_TG_PHOTO=MSG_TG_PHOTO)


# ------------------------------------------------------------------------------------------ Telegram

def _telegram_thread(raw: str | None) -> list[dict[str, Any]]:
    try:
        items = json.loads(raw or "[]")
    except ValueError:
        return []
    return [item for item in items if isinstance(item, dict) and isinstance(item.get("id"), int)] \
        if isinstance(items, list) else []


def _process(settings, chat_id: int, first_message_id: int,  # type: ignore[no-untyped-def]
             files: dict[str, bytes] | None = None) -> list[simulated.Call]:
    """The worker's processing of this chat's stored updates + its pending outbox messages."""
    from bot.state import make_store
    from bot.web import registry_factory

    return simulated.process_chat(
        current_app.extensions["db_sessionmaker"], settings, chat_id, registry_factory=registry_factory(),
        store_factory=lambda db: make_store(settings.redis_url, db), first_message_id=first_message_id,
        files=files)


def _telegram_turn(settings, client, phone: str, thread: list[dict[str, Any]], action: str,  # type: ignore[no-untyped-def]
                   form) -> list[dict[str, Any]]:
    """One user action as a real Update posted to the webhook, then processed; the new transcript."""
    from bot.telegram.web import SECRET_HEADER

    try:
        chat_id = simulated.chat_id_for(phone)
    except ValueError:
        return thread
    message_id = simulated.next_message_id(thread)
    update: dict[str, Any] | None = None
    files: dict[str, bytes] = {}
    upload = request.files.get("tg_photo")
    if action == "tg_photo" and upload is not None and upload.filename:
        data = upload.stream.read(MAX_UPLOAD)
        file_id = simulated.new_file_id()
        files[file_id] = data
        caption = form.get("tg_input", "").strip()
        update = simulated.photo_update(chat_id, message_id, file_id, len(data), caption)
        sent = translate("km", MSG_TG_PHOTO_SENT, size=max(1, round(len(data) / 1024)))
        thread.append({"id": message_id, "who": "me", "text": f"{sent}\n{caption}".strip()})
    elif form.get("tg_press"):
        shown_id, _, data = form["tg_press"].partition(":")
        message = next((item for item in thread if str(item.get("id")) == shown_id), None)
        if message is not None and data:
            update = simulated.callback_update(chat_id, message, data)
    elif action == "tg_contact":
        update = simulated.contact_update(chat_id, message_id, phone)
        thread.append({"id": message_id, "who": "me", "text": translate("km", MSG_TG_SHARED, phone=phone)})
    elif action == "tg_send" and form.get("tg_input", "").strip():
        typed = form["tg_input"].strip()
        update = simulated.text_update(chat_id, message_id, typed)
        thread.append({"id": message_id, "who": "me", "text": typed})
    if update is not None:
        response = client.post("/channels/telegram", json=update,
                               headers={SECRET_HEADER: settings.telegram_webhook_secret})
        if response.status_code != 200:
            thread.append({"id": message_id + 1, "who": "note", "text": f"HTTP {response.status_code}"})
            return thread
    calls = _process(settings, chat_id, simulated.next_message_id(thread), files)
    return simulated.apply_calls(thread, calls)


@bp.post("/simulator/telegram/process")
def telegram_process() -> Response:
    """For `chumnuoy simulate --channel telegram`, which posts updates to the real webhook itself:
    process the chat's stored updates and pending outbox messages; the Bot API calls as JSON."""
    if not _enabled():
        abort(404)
    if request.remote_addr not in LOOPBACK and not _admin_signed_in():
        abort(403)
    if not request.is_json:  # a cross-site form cannot send JSON without a preflight
        abort(415)
    settings = current_app.config["CHUMNUOY_SETTINGS"]
    if not simulated.available(settings):
        return jsonify({"error": {"code": "real_bot", "message": MSG_TG_REAL_BOT}}), 409  # type: ignore[return-value]
    body = request.get_json(silent=True) or {}
    chat_id, first = body.get("chat_id"), body.get("first_message_id", 1)
    if not isinstance(chat_id, int) or isinstance(chat_id, bool) or not isinstance(first, int):
        abort(400)
    try:  # photos the terminal sent: file_id → base64
        files = {str(k): base64.b64decode(str(v), validate=True)[:MAX_UPLOAD]
                 for k, v in (body.get("files") or {}).items()}
    except (ValueError, AttributeError):
        abort(400)
    return jsonify({"calls": simulated.calls_as_json(_process(settings, chat_id, first, files))})
