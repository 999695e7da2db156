"""Channel webhooks (SPEC §10): USSD (Africa's Talking convention), Twilio SMS and status callbacks,
and a generic SMS gateway. Every webhook is mounted always and refuses everything while its secret
is empty (fail closed). Handlers are thin: authenticate, normalise, call bot.runner, render.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Callable

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, request
from sqlalchemy.orm import Session

from bot import runner
from bot.state import StateStore, make_store
from chumnuoy.settings import Settings
from registry_client.types import RegistryPort

log = logging.getLogger("chumnuoy.bot")
bp = Blueprint("channels", __name__, url_prefix="/channels")


def register(app: Flask) -> None:
    """Mount the channel webhooks on the portal app."""
    from bot import simulator

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

@bp.post("/ussd")
def ussd() -> Response:
    settings = _settings()
    given = request.args.get("key") or request.headers.get("X-Gateway-Key")
    if not _key_ok(settings.ussd_gateway_key, given) or not _ip_allowed(settings.ussd_allowed_ips,
                                                                       request.remote_addr):
        abort(403)
    session_id = request.form.get("sessionId", "").strip()
    phone = request.form.get("phoneNumber", "").strip()
    if not session_id or not phone:
        abort(400)
    inbound = runner.Inbound("ussd", _e164(phone), request.form.get("text", ""), session_id)
    with _db_session() as session:
        body = runner.ussd_hop(session, state_store(session), registry_factory(), inbound)
    return Response(body, mimetype="text/plain", content_type="text/plain; charset=utf-8")


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
    sender = request.form.get("From", "").strip()
    if not sender:
        abort(400)
    inbound = runner.Inbound("sms", _e164(sender), request.form.get("Body", ""))
    with _db_session() as session:
        reply = runner.sms_message(session, state_store(session), registry_factory(), inbound,
                                   message_id=request.form.get("MessageSid"), carrier=True)
    return _twiml(reply.text)


@bp.post("/sms/twilio/status")
def twilio_status() -> Response:
    if not _twilio_valid():
        abort(403)
    message_sid = request.form.get("MessageSid", "")
    status = request.form.get("MessageStatus", "")
    error_code = request.form.get("ErrorCode", "") or None
    recipient = request.form.get("To", "").strip()
    with _db_session() as session:
        from bot.delivery import record_status

        record_status(session, provider_id=message_sid, status=status, error_code=error_code,
                      recipient=_e164(recipient) if recipient else None)
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
    sender = str(data.get("from") or "").strip()
    if not sender:
        abort(400)
    inbound = runner.Inbound("sms", _e164(sender), str(data.get("text") or ""))
    message_id = str(data.get("id") or "") or None
    with _db_session() as session:
        reply = runner.sms_message(session, state_store(session), registry_factory(), inbound,
                                   message_id=message_id, carrier=False)
    if reply.text is None:
        return Response("", status=204)
    from bot.budget import sms_segments

    return jsonify({"to": sender, "text": reply.text, "segments": sms_segments(reply.text)})
