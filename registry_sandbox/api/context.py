"""Per-app state of the DCI layer and the common acceptance pipeline of every envelope endpoint.

Order of checks (first failure wins):
1. bearer token → HTTP 401 `err.request.unauthorized` / 403 `err.request.forbidden`, `{"errors": […]}`;
2. signature (per REGISTRY_SIGNATURES) → HTTP 401 `err.signature.missing|invalid`, `{"errors": […]}`
   on every path, sync and async alike (the spec lists 401 with HttpErrorResponse everywhere);
3. envelope and message shape → HTTP 400 with `err.request.bad` (or `err.version.not_supported`,
   `err.encryption.invalid`): sync paths answer `{"errors": […]}` plus a signed rejecting callback
   header (`status: rjct`), which is the path's `default` response shape; async paths answer an ack
   `ERR` (their `default` response shape);
4. a repeated `message_id` from the same sender → `rjct.message_id.duplicate`: sync paths answer
   HTTP 200 with a signed callback header `status: rjct`; async paths an ack `ERR`
   (`err.request.bad`, message naming the reason code).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from sqlalchemy import Engine

from chumnuoy.settings import Settings
from registry_client import signatures
from registry_sandbox.api import envelope, transactions
from registry_sandbox.api.callbacks import Dispatcher, valid_callback_uri
from registry_sandbox.api.keys import SandboxKeys, load_keys
from registry_sandbox.api.tokens import TokenError, TokenIssuer


@dataclass
class ApiContext:
    settings: Settings
    engine: Engine
    keys: SandboxKeys
    tokens: TokenIssuer
    dispatcher: Dispatcher = field(default_factory=Dispatcher)
    _store: Any = None

    @property
    def sender_id(self) -> str:
        return self.settings.registry_receiver_id

    @property
    def allow_unsigned(self) -> bool:
        return self.settings.registry_signatures != "required"

    @property
    def store(self) -> Any:
        if self._store is None:
            from registry_sandbox.store import Store

            self._store = Store(self.engine)
        return self._store

    def sign(
        self, header: dict[str, Any], message: dict[str, Any] | None, extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return envelope.signed(header, message, self.keys, self.sender_id, extra)


def install(app: Flask) -> ApiContext:
    settings: Settings = app.config["CHUMNUOY_SETTINGS"]
    context = ApiContext(
        settings=settings,
        engine=app.extensions["registry_engine"],
        keys=load_keys(settings),
        tokens=TokenIssuer.from_settings(settings),
    )
    app.extensions["dci_api"] = context
    return context


def ctx() -> ApiContext:
    return current_app.extensions["dci_api"]


class DciHttpError(Exception):
    """Stops a handler with a ready JSON response."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body

    def response(self) -> Response:
        result = jsonify(self.body)
        result.status_code = self.status
        return result


@dataclass(frozen=True)
class Accepted:
    header: dict[str, Any]
    message: dict[str, Any]
    sender_id: str


def reject(
    mode: str,
    response_action: str,
    code: str,
    text: str,
    request_header: object = None,
    reason_code: str | None = None,
    status: int = 400,
) -> DciHttpError:
    """The rejection of a whole request in the path's response shape (see module docstring)."""
    context = ctx()
    if mode == "async":
        body = envelope.ack("ERR", envelope.new_id("corr"), (code, text))
        return DciHttpError(status, body)
    header = envelope.callback_header(
        response_action,
        "rjct",
        request_header if isinstance(request_header, dict) else None,
        context.sender_id,
        reason_code=reason_code,
        reason_message=text,
    )
    extra = {"errors": [{"code": code, "message": text[:999]}]} if code else None
    return DciHttpError(status, context.sign(header, None, extra))


def accept(
    scope: str,
    actions: str | tuple[str, ...],
    mode: str,
    response_action: str,
    read: Callable[[dict[str, Any]], None] | None = None,
) -> Accepted:
    """Run checks 1–4 of the module docstring; `read(message)` adds the path's message checks."""
    context = ctx()
    try:
        context.tokens.check(request.headers.get("Authorization"), scope)
    except TokenError as error:
        status = 403 if error.code == "err.request.forbidden" else 401
        raise DciHttpError(status, envelope.http_errors(error.code, str(error))) from error
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise reject(
            mode, response_action, "err.request.bad", "the body must be a JSON object (application/json)"
        )
    header = body.get("header")
    try:
        parsed = signatures.verify(
            body.get("signature"),
            header,
            body.get("message"),
            context.keys.find_sender_key,
            allow_unsigned=context.allow_unsigned,
        )
    except signatures.SignatureError as error:
        raise DciHttpError(401, envelope.http_errors(error.code, str(error))) from error
    if parsed is not None and (not isinstance(header, dict) or header.get("sender_id") != parsed.sender_id):
        raise DciHttpError(
            401, envelope.http_errors("err.signature.invalid", "the signing sender is not header.sender_id")
        )
    try:
        header = envelope.read_header(body, actions)
        message = envelope.read_message(body)
        if read is not None:
            read(message)
        if mode == "async" and not valid_callback_uri(header.get("sender_uri")):
            raise envelope.EnvelopeError(
                "header.sender_uri (an http(s) URL) is required for async calls",
                code="err.sender_uri.invalid",
            )
    except envelope.EnvelopeError as error:
        raise reject(mode, response_action, error.code, str(error), header, error.reason_code) from error
    if not transactions.remember_message(context.engine, header["sender_id"], header["message_id"]):
        text = "rjct.message_id.duplicate: this message_id was already received from this sender"
        if mode == "async":
            raise reject(mode, response_action, "err.request.bad", text, header, status=200)
        raise reject(mode, response_action, "", text, header, "rjct.message_id.duplicate", status=200)
    return Accepted(header=header, message=message, sender_id=header["sender_id"])
