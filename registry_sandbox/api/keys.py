"""The sandbox's own signing key and the public keys of the senders it knows.

- Its ed25519 key: `CHUMNUOY_SANDBOX_SIGNING_KEY` (base64 of 32 private bytes) when set, otherwise
  derived deterministically from REGISTRY_CLIENT_SECRET (seed = SHA-256 of a fixed label and the
  secret), so restarts and several gunicorn workers publish the same JWKS without extra config.
- Known senders: `settings.registry_sender_id` → the public half of REGISTRY_SIGNING_KEY, plus
  `CHUMNUOY_SANDBOX_SENDER_KEYS="sender_id=base64pub,other=base64pub"`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from chumnuoy.settings import Settings
from registry_client import signatures

_DERIVATION_LABEL = b"chumnuoy-sandbox-signing-key-v1|"


@dataclass(frozen=True)
class SandboxKeys:
    private_key: Ed25519PrivateKey
    key_id: str
    senders: dict[str, Ed25519PublicKey]

    def find_sender_key(self, sender_id: str, _key_id: str) -> Ed25519PublicKey | None:
        # One key per sender: a wrong key id still fails verification, so it is not matched here.
        return self.senders.get(sender_id)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [signatures.jwk(self.private_key.public_key(), self.key_id)]}


def sandbox_private_key(settings: Settings) -> Ed25519PrivateKey:
    configured = os.environ.get("CHUMNUOY_SANDBOX_SIGNING_KEY", "").strip()
    if configured:
        return signatures.private_key_from_b64(configured)
    seed = hashlib.sha256(_DERIVATION_LABEL + settings.registry_client_secret.encode("utf-8")).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def known_senders(settings: Settings) -> dict[str, Ed25519PublicKey]:
    senders: dict[str, Ed25519PublicKey] = {}
    if settings.registry_signing_key:
        private = signatures.private_key_from_b64(settings.registry_signing_key)
        senders[settings.registry_sender_id] = private.public_key()
    for entry in os.environ.get("CHUMNUOY_SANDBOX_SENDER_KEYS", "").split(","):
        if "=" in entry:
            sender_id, public_b64 = entry.split("=", 1)
            senders[sender_id.strip()] = signatures.public_key_from_b64(public_b64.strip())
    return senders


def load_keys(settings: Settings) -> SandboxKeys:
    private = sandbox_private_key(settings)
    return SandboxKeys(
        private_key=private,
        key_id=signatures.key_id_of(private.public_key()),
        senders=known_senders(settings),
    )
