"""`POST /oauth2/client/token` (client credentials) and `GET /.well-known/jwks.json`.

The token endpoint takes the form `grant_type=client_credentials&client_id&client_secret[&scope]`
or HTTP Basic client authentication. Errors follow RFC 6749 §5.2 (`{"error": …}`): wrong
credentials → 401 `invalid_client`, another grant type → 400 `unsupported_grant_type`, an unknown
scope → 400 `invalid_scope`. `expires_in` is sent as a string ("3600") because the DCI authz file
types it so; clients should accept a number or a string.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from registry_sandbox.api.context import ctx
from registry_sandbox.api.tokens import TOKEN_SECONDS, basic_credentials, requested_scopes

bp = Blueprint("dci_auth", __name__)


def _oauth_error(status: int, error: str, description: str):  # type: ignore[no-untyped-def]
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="registry"'
    return response


@bp.post("/oauth2/client/token")
def token():  # type: ignore[no-untyped-def]
    context = ctx()
    form = request.form
    credentials = basic_credentials(request.headers.get("Authorization"))
    client_id, client_secret = credentials or (form.get("client_id", ""), form.get("client_secret", ""))
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "only grant_type=client_credentials is supported")
    if not context.tokens.credentials_match(client_id, client_secret):
        return _oauth_error(401, "invalid_client", "unknown client or wrong secret")
    scopes = requested_scopes(form.get("scope"))
    if scopes is None:
        return _oauth_error(400, "invalid_scope", "unknown scope requested")
    response = jsonify(
        access_token=context.tokens.issue(scopes),
        token_type="bearer",  # noqa: S106 (the OAuth2 token type, not a secret)
        expires_in=str(TOKEN_SECONDS),
        scope=" ".join(scopes),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/.well-known/jwks.json")
def jwks():  # type: ignore[no-untyped-def]
    return jsonify(ctx().keys.jwks())
