"""Channel webhooks (SPEC §10): USSD (Africa's Talking convention), Twilio SMS and status callbacks,
and a generic SMS gateway. Every webhook is mounted always and refuses everything while its secret
is empty (fail closed). Handlers are thin: authenticate, normalise, call bot.runner, render.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl

from flask import Blueprint, Flask, Request, Response, abort, current_app, jsonify, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from sqlalchemy.orm import Session

from bot import abuse, runner
from bot.inbound import clean_id, clean_text, phone_or_none
from bot.state import StateStore, make_store
from chumnuoy.settings import Settings
from registry_client.types import RegistryPort

log = logging.getLogger("chumnuoy.bot")
bp = Blueprint("channels", __name__, url_prefix="/channels")


class _WebhookSessions(SecureCookieSessionInterface):
    """Gateways send no cookies: under /channels/ a request gets an empty session at once, sparing the
    signing serializer and cookie parsing that cost a few percent of a USSD hop. Elsewhere (portal
    pages, the simulator) sessions are Flask's signed cookies as before."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(bp.url_prefix or "/channels") and app.secret_key:
            return self.session_class()
        return super().open_session(app, request)


def register(app: Flask) -> None:
    """Mount the channel webhooks on the portal app."""
    from bot import simulator

    if type(app.session_interface) is SecureCookieSessionInterface:
        app.session_interface = _WebhookSessions()
    app.register_blueprint(bp)
    app.register_blueprint(__import__("bot.telegram.web").telegram.web.bp)  # POST /channels/telegram
    simulator.register(app)


def _settings() -> Settings:
    return current_app.config["CHUMNUOY_SETTINGS"]


def state_store(session: Session) -> StateStore:
    return make_store(_settings().redis_url, session)


def registry_factory() -> Callable[[], RegistryPort]:
    """How the bot reaches the registry: `app.extensions["registry"]` when the portal set one (tests
    may put a factory in `app.config["REGISTRY_FACTORY"]`), else a RegistryClient built lazily on
    first use from the app's settings and kept for the process."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def factory() -> RegistryPort:
        existing = app.extensions.get("registry")
        if existing is not None:
            return existing
        configured = app.config.get("REGISTRY_FACTORY")
        if configured is not None:
            app.extensions["registry"] = configured()
        else:
            from registry_client.client import RegistryClient

            app.extensions["registry"] = RegistryClient(app.config["CHUMNUOY_SETTINGS"])
        return app.extensions["registry"]

    return factory


def _db_session():  # type: ignore[no-untyped-def]
    return current_app.extensions["db_sessionmaker"]()


def _key_ok(expected: str, given: str | None) -> bool:
    return bool(expected) and given is not None and hmac.compare_digest(expected.encode(), given.encode())


def _ip_allowed(allowed: str, remote: str | None) -> bool:
    if not allowed.strip():
        return True
    if not remote:
        return False
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    for item in allowed.split(","):
        item = item.strip()
        if item:
            try:
                if address in ipaddress.ip_network(item, strict=False):
                    return True
            except ValueError:
                continue
    return False


# ------------------------------------------------------------------------------------------ USSD

GATEWAY_FORM_LIMIT = 8192
"""Bytes of a USSD gateway's urlencoded body parsed directly (a hop's five fields take ~200)."""


def _gateway_form() -> Mapping[str, str]:
    """The gateway's form fields. Africa's Talking posts five short urlencoded fields: they are parsed
    straight from the body, first value of each name as `request.form` gives it (werkzeug's general
    form parser cost about as much as the hop's database read). Any other body, or one without a
    small Content-Length, goes through `request.form` and its limits."""
    length = request.content_length
    if (request.mimetype != "application/x-www-form-urlencoded" or length is None
            or length > GATEWAY_FORM_LIMIT):
        return request.form
    fields: dict[str, str] = {}
    for name, value in parse_qsl(request.get_data(as_text=True), keep_blank_values=True):
        fields.setdefault(name, value)
    return fields


@bp.post("/ussd")
def ussd() -> Response:
    settings = _settings()
    given = request.args.get("key") or request.headers.get("X-Gateway-Key")
    if not _key_ok(settings.ussd_gateway_key, given) or not _ip_allowed(settings.ussd_allowed_ips,
                                                                       request.remote_addr):
        abort(403)
    form = _gateway_form()
    session_id = clean_id(form.get("sessionId", ""))
    phone = phone_or_none(form.get("phoneNumber", ""))
    if not session_id or not phone:
        abort(400)
    inbound = runner.Inbound("ussd", phone, clean_text(form.get("text", "")), session_id)
    with _db_session() as session:
        if _first_answer(inbound.text) and _flooding(session, "ussd", phone):  # bot/abuse.py
            return Response("END " + abuse.flood_text(session, "ussd", phone), mimetype="text/plain",
                            content_type="text/plain; charset=utf-8")
        body = runner.ussd_hop(session, state_store(session), registry_factory(), inbound)
    return Response(body, mimetype="text/plain", content_type="text/plain; charset=utf-8")


def _first_answer(text: str) -> bool:
    """The hop carrying a session's first input (`text` without `*`): where a USSD session is counted
    against the phone's flood limit. The dial itself only reads (it is the hop the throughput target
    measures) and a dial that is hung up costs less to serve than to count; the first answer writes the
    session's state anyway, so its count rides on the same commit."""
    return bool(text) and "*" not in text


def _flooding(session: Session, channel: str, address: str) -> bool:
    """Count this message (SMS) or new session (USSD) against the address, in the request's own
    transaction (committed with the reply); True past the limit (then committed here)."""
    from datetime import UTC, datetime

    limits = current_app.config.get("CHUMNUOY_FLOOD_LIMITS", abuse.FLOOD_LIMITS)
    if channel not in limits:
        return False
    clock = current_app.config.get("CHUMNUOY_CLOCK")  # tests pin the window
    now = clock() if clock else datetime.now(UTC)
    count = abuse.flood_count(session, _settings().redis_url, channel, address, now, limits)
    request.environ["chumnuoy.flood_count"] = count
    if abuse.over_flood_limit(count, channel, limits):
        session.commit()
        return True
    return False


def _first_refusal(channel: str) -> bool:
    """Only the first message past the limit is answered (no paid SMS for every flooded one)."""
    limits = current_app.config.get("CHUMNUOY_FLOOD_LIMITS", abuse.FLOOD_LIMITS)
    return request.environ.get("chumnuoy.flood_count") == limits[channel][0] + 1


def _e164(phone: str) -> str:
    from portal.services.identity import normalise_phone

    return normalise_phone(phone)


# ------------------------------------------------------------------------------------------ Twilio

def _twilio_valid() -> bool:
    from twilio.request_validator import RequestValidator

    settings = _settings()
    signature = request.headers.get("X-Twilio-Signature")
    if not settings.twilio_auth_token or not signature:
        return False
    url = settings.public_base_url.rstrip("/") + request.full_path.rstrip("?")
    return RequestValidator(settings.twilio_auth_token).validate(url, request.form, signature)


def _twiml(text: str | None) -> Response:
    from twilio.twiml.messaging_response import MessagingResponse

    response = MessagingResponse()
    if text:
        response.message(text)
    return Response(str(response), mimetype="application/xml")


@bp.post("/sms/twilio")
def twilio_inbound() -> Response:
    if not _twilio_valid():
        abort(403)
    sender = phone_or_none(request.form.get("From", ""))
    if not sender:
        abort(400)
    inbound = runner.Inbound("sms", sender, clean_text(request.form.get("Body", "")))
    with _db_session() as session:
        if _flooding(session, "sms", sender):
            return _twiml(abuse.flood_text(session, "sms", sender) if _first_refusal("sms") else None)
        reply = runner.sms_message(session, state_store(session), registry_factory(), inbound,
                                   message_id=clean_id(request.form.get("MessageSid")) or None, carrier=True)
    return _twiml(reply.text)


@bp.post("/sms/twilio/status")
def twilio_status() -> Response:
    if not _twilio_valid():
        abort(403)
    message_sid = clean_id(request.form.get("MessageSid", ""))
    status = clean_text(request.form.get("MessageStatus", ""), 32)
    error_code = clean_text(request.form.get("ErrorCode", ""), 16) or None
    recipient = phone_or_none(request.form.get("To", ""))
    with _db_session() as session:
        from bot.delivery import record_status

        record_status(session, provider_id=message_sid, status=status, error_code=error_code,
                      recipient=recipient)
        session.commit()
    return Response("", status=204)


# ------------------------------------------------------------------------------------------ gateway

@bp.post("/sms/gateway")
def sms_gateway() -> Response:
    settings = _settings()
    given = request.args.get("key") or request.headers.get("X-Gateway-Key")
    if not _key_ok(settings.sms_gateway_key, given):
        abort(403)
    data = request.get_json(silent=True) if request.is_json else request.form
    if not isinstance(data, dict) and not hasattr(data, "get"):
        abort(400)
    sender = phone_or_none(data.get("from"))
    if not sender:
        abort(400)
    inbound = runner.Inbound("sms", sender, clean_text(data.get("text")))
    message_id = clean_id(data.get("id")) or None
    with _db_session() as session:
        if _flooding(session, "sms", sender):
            if not _first_refusal("sms"):
                return Response("", status=204)
            return jsonify({"to": sender, "text": abuse.flood_text(session, "sms", sender), "segments": 1})
        reply = runner.sms_message(session, state_store(session), registry_factory(), inbound,
                                   message_id=message_id, carrier=False)
    if reply.text is None:
        return Response("", status=204)
    from bot.budget import sms_segments

    return jsonify({"to": sender, "text": reply.text, "segments": sms_segments(reply.text)})
