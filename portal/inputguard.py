"""What the web app refuses before any view runs (SPEC §14).

- Bodies over MAX_BODY_BYTES get 413 (Flask's MAX_CONTENT_LENGTH). Every legitimate body is small:
  USSD and SMS webhooks a few hundred bytes, Telegram updates a few KB (photos are fetched from
  Telegram, never posted to us), officer forms a few KB; only the simulator, which uploads evidence
  photos from the browser, may post up to SIMULATOR_MAX_BODY_BYTES. A citizen channel still gets a polite,
  bilingual answer in its own format (the body was not read, so the language is unknown).
- NUL characters in the portal's and the API's query strings, form fields and JSON strings get 400
  (PostgreSQL cannot store them; no one types them). Channel webhooks instead clean their fields
  (bot/inbound.py) so that a citizen is still answered.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from chumnuoy.i18n import translate

MAX_BODY_BYTES = 1024 * 1024
SIMULATOR_MAX_BODY_BYTES = 6 * 1024 * 1024
"""The simulator posts evidence photos (≤ 5 MB, as Telegram) from the browser."""
MSG_TOO_LONG = "Your message is too long. Please send a shorter one."
MSG_TOO_LONG_USSD = "Message too long."
MSG_BAD_CHARACTERS = "The request holds characters that are not allowed."
MSGIDS = (MSG_TOO_LONG, MSG_TOO_LONG_USSD, MSG_BAD_CHARACTERS)

_GUARDED = ("/portal/", "/api/", "/simulator")


def bilingual(msgid: str) -> str:
    """Khmer, then English (the English line readable on any phone)."""
    return f"{translate('km', msgid)}\n{translate('en', msgid)}"


def _has_nul(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if depth > 64:
        return False
    if isinstance(value, dict):
        return any(_has_nul(k, depth + 1) or _has_nul(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v, depth + 1) for v in value)
    return False


def _refuse_nul() -> None:
    limit = SIMULATOR_MAX_BODY_BYTES if request.path.startswith("/simulator") else MAX_BODY_BYTES
    request.max_content_length = limit
    if (request.content_length or 0) > limit:  # refused even where a view would not read it
        raise RequestEntityTooLarge()
    if not request.path.startswith(_GUARDED):
        return
    values: list[Any] = [*request.args.keys(), *request.args.values(), request.path]
    if request.method in ("POST", "PUT", "PATCH"):
        if request.is_json:
            values.append(request.get_json(silent=True))
        else:
            values += [*request.form.keys(), *request.form.values()]
    if any(_has_nul(value) for value in values):
        raise BadRequest(description=translate("en", MSG_BAD_CHARACTERS))


def _too_large(_error: RequestEntityTooLarge) -> Any:
    text = bilingual(MSG_TOO_LONG)
    path = request.path
    if path.startswith("/channels/ussd"):
        return Response("END " + bilingual(MSG_TOO_LONG_USSD), status=413, mimetype="text/plain")
    if path.startswith("/channels/sms/twilio"):
        from twilio.twiml.messaging_response import MessagingResponse

        twiml = MessagingResponse()
        twiml.message(text)
        return Response(str(twiml), status=413, mimetype="application/xml")
    if path.startswith("/channels/"):
        response = jsonify(text=text, error={"code": "too_large", "message": translate("en", MSG_TOO_LONG)})
    elif path.startswith("/api/"):
        response = jsonify(error={"code": "request_entity_too_large",
                                  "message": f"bodies are limited to {MAX_BODY_BYTES} bytes"})
    else:
        return Response(text, status=413, mimetype="text/plain")
    response.status_code = 413
    return response


class DatabaseInteger(IntegerConverter):
    """`<int:…>` in every route: at most a 32-bit database integer, so `/changes/99999999999` is a
    404 like any unknown id (PostgreSQL refuses larger values in an INTEGER comparison)."""

    def __init__(self, map, *args: Any, **kwargs: Any) -> None:  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def register(app: Flask) -> None:
    """Call before the blueprints are registered (the `int` converter applies to routes added after)."""
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.url_map.converters["int"] = DatabaseInteger
    app.before_request(_refuse_nul)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
