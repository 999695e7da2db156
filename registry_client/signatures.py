"""DCI message signatures (ed25519), shared by our client and the sandbox registry.

The DCI specification leaves the signed bytes undefined; we follow OpenSPP's rule and propose it to
the SPR operator:

    digest  = base64(sha256(json.dumps({"header": h, "message": m}, sort_keys=True,
                                       separators=(",", ":"))))          # ensure_ascii as default
    signing string = "(created): {created}\n(expires): {expires}\ndigest: {digest}"
    signature = base64(ed25519_sign(signing string as UTF-8))

carried in the envelope's `signature` field as

    Signature: namespace="dci", kidId="{sender_id}|{key_id}|ed25519", algorithm="ed25519",
    created="{unix}", expires="{unix + 300}", headers="(created) (expires) digest", signature="…"

Keys travel as base64 of the 32 raw private bytes (REGISTRY_SIGNING_KEY); public keys are published
as RFC 8037 OKP JWKs at `/.well-known/jwks.json` with `kid` = the key id.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

VALIDITY_SECONDS = 300
ALLOWED_SKEW_SECONDS = 60
DEV_STUB = "unsigned-stub"


class SignatureError(Exception):
    """`code` is the DCI error code: err.signature.missing or err.signature.invalid."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ParsedSignature:
    sender_id: str
    key_id: str
    algorithm: str
    created: int
    expires: int
    signature: bytes


def private_key_from_b64(value: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(value))


def public_key_b64(private_key: Ed25519PrivateKey) -> str:
    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def public_key_from_b64(value: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(value))


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """A short stable key id: the first 16 hex digits of the SHA-256 of the raw public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def jwk(public_key: Ed25519PublicKey, kid: str | None = None) -> dict[str, str]:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode(),
        "kid": kid or key_id_of(public_key),
        "use": "sig",
        "alg": "EdDSA",
    }


def public_key_from_jwk(key: Mapping[str, str]) -> Ed25519PublicKey:
    if key.get("kty") != "OKP" or key.get("crv") != "Ed25519":
        raise SignatureError("err.signature.invalid", "unsupported key type")
    padded = key["x"] + "=" * (-len(key["x"]) % 4)
    return Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(padded))


def digest(header: object, message: object) -> str:
    canonical = json.dumps({"header": header, "message": message}, sort_keys=True, separators=(",", ":"))
    return base64.b64encode(hashlib.sha256(canonical.encode("utf-8")).digest()).decode()


def _signing_string(created: int, expires: int, body_digest: str) -> bytes:
    return f"(created): {created}\n(expires): {expires}\ndigest: {body_digest}".encode()


def sign(
    header: object,
    message: object,
    private_key: Ed25519PrivateKey,
    sender_id: str,
    key_id: str | None = None,
    now: float | None = None,
) -> str:
    """The `signature` string for an envelope with this header and message."""
    created = int(now if now is not None else time.time())
    expires = created + VALIDITY_SECONDS
    kid = key_id or key_id_of(private_key.public_key())
    value = base64.b64encode(private_key.sign(_signing_string(created, expires, digest(header, message))))
    return (
        f'Signature: namespace="dci", kidId="{sender_id}|{kid}|ed25519", algorithm="ed25519", '
        f'created="{created}", expires="{expires}", headers="(created) (expires) digest", '
        f'signature="{value.decode()}"'
    )


_PARAM = re.compile(r'(\w+)="([^"]*)"')


def parse(signature: str) -> ParsedSignature:
    params = dict(_PARAM.findall(signature))
    try:
        sender_id, key_id, algorithm = params["kidId"].split("|")
        return ParsedSignature(
            sender_id=sender_id,
            key_id=key_id,
            algorithm=params.get("algorithm", algorithm).lower(),
            created=int(params["created"]),
            expires=int(params["expires"]),
            signature=base64.b64decode(params["signature"], validate=True),
        )
    except (KeyError, ValueError) as error:
        raise SignatureError("err.signature.invalid", "malformed signature") from error


def verify(
    signature: str | None,
    header: object,
    message: object,
    find_key: Callable[[str, str], Ed25519PublicKey | None],
    *,
    allow_unsigned: bool,
    now: float | None = None,
) -> ParsedSignature | None:
    """Check an envelope's signature; returns None when it was absent and that is allowed.

    `find_key(sender_id, key_id)` returns the sender's public key or None. `allow_unsigned` is the
    `dev` mode: an absent or empty signature and the literal `unsigned-stub` pass; any other value
    must verify in both modes.
    """
    if signature is None or signature == "" or signature == DEV_STUB:
        if allow_unsigned:
            return None
        raise SignatureError("err.signature.missing", "a signature is required")
    parsed = parse(signature)
    if parsed.algorithm != "ed25519":
        raise SignatureError("err.signature.invalid", "unsupported algorithm")
    moment = now if now is not None else time.time()
    if parsed.created > moment + ALLOWED_SKEW_SECONDS or parsed.expires < moment - ALLOWED_SKEW_SECONDS:
        raise SignatureError("err.signature.invalid", "signature outside its validity period")
    key = find_key(parsed.sender_id, parsed.key_id)
    if key is None:
        raise SignatureError("err.signature.invalid", "unknown signing key")
    try:
        key.verify(parsed.signature, _signing_string(parsed.created, parsed.expires, digest(header, message)))
    except InvalidSignature as error:
        raise SignatureError("err.signature.invalid", "signature does not verify") from error
    return parsed
