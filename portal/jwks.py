"""`GET /.well-known/jwks.json` on `web`: the public keys our DCI requests are signed with, for the
registry to verify them by `kid` (the kid in every signature's `kidId`).

During a rotation of REGISTRY_SIGNING_KEY both keys are published: the new key signs, the previous
ones (CHUMNUOY_REGISTRY_SIGNING_KEYS_PREVIOUS: comma-separated base64 private keys, i.e. the old
REGISTRY_SIGNING_KEY values moved there) stay listed until the registry has fetched the new set;
docs/operations.md gives the steps. Only public halves are ever served.
"""

from __future__ import annotations

import os

from flask import Blueprint, Flask, current_app, jsonify

from chumnuoy.settings import Settings
from registry_client import signatures

bp = Blueprint("chumnuoy_jwks", __name__)
PREVIOUS_KEYS_VARIABLE = "CHUMNUOY_REGISTRY_SIGNING_KEYS_PREVIOUS"


def published_keys(settings: Settings, previous: str | None = None) -> list[dict[str, str]]:
    """The JWKs of the current signing key, then of each previous one (duplicates dropped)."""
    if previous is None:
        previous = os.environ.get(PREVIOUS_KEYS_VARIABLE, "")
    keys: list[dict[str, str]] = []
    for private_b64 in [settings.registry_signing_key, *previous.split(",")]:
        if not private_b64.strip():
            continue
        public = signatures.private_key_from_b64(private_b64.strip()).public_key()
        key = signatures.jwk(public, signatures.key_id_of(public))
        if key["kid"] not in {k["kid"] for k in keys}:
            keys.append(key)
    return keys


@bp.get("/.well-known/jwks.json")
def jwks():  # type: ignore[no-untyped-def]
    response = jsonify({"keys": published_keys(current_app.config["CHUMNUOY_SETTINGS"])})
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def register(app: Flask) -> None:
    app.register_blueprint(bp)
