"""Key rotation (docs/operations.md): officer sessions signed with the previous SECRET_KEY stay valid
while it is listed in CHUMNUOY_SECRET_KEY_FALLBACKS, and `web` publishes the public halves of the
current and previous REGISTRY_SIGNING_KEYs at /.well-known/jwks.json so a registry can verify both."""

from __future__ import annotations

import re
from dataclasses import replace

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from chumnuoy.envfile import new_ed25519_key
from chumnuoy.settings import Settings
from portal import create_app
from portal.services import officers
from registry_client import signatures

PASSWORD = "a long enough password"
OLD, NEW = "the-old-secret-key-0123456789", "the-new-secret-key-9876543210"


def signed_in_cookie(client: FlaskClient) -> str:
    page = client.get("/portal/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = client.post(
        "/portal/login", data={"login": "rotator", "password": PASSWORD, "csrf_token": token}
    )
    assert answer.status_code == 302
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def test_sessions_of_the_previous_secret_key_survive_a_rotation(portal_database_url, portal_engine) -> None:
    with Session(portal_engine) as session:
        officers.create_officer(
            session, login="rotator", name="Rotating Admin", password=PASSWORD, role="admin"
        )
        session.commit()
    base = replace(Settings(), database_url=portal_database_url)
    cookie = signed_in_cookie(create_app(replace(base, secret_key=OLD)).test_client())

    def dashboard_status(settings: Settings) -> int:
        client = create_app(settings).test_client()
        client.set_cookie("session", cookie)
        return client.get("/portal/dashboard").status_code

    assert dashboard_status(replace(base, secret_key=OLD)) == 200
    assert dashboard_status(replace(base, secret_key=NEW)) == 302  # to the login page
    assert dashboard_status(replace(base, secret_key=NEW, secret_key_fallbacks=f" {OLD} ,")) == 200


def test_jwks_publishes_the_current_and_previous_signing_keys(portal_database_url, monkeypatch) -> None:
    old, new = new_ed25519_key(), new_ed25519_key()
    monkeypatch.setenv(
        "CHUMNUOY_REGISTRY_SIGNING_KEYS_PREVIOUS", f"{old},{new}"
    )  # a duplicate is listed once
    app = create_app(replace(Settings(), database_url=portal_database_url, registry_signing_key=new))
    answer = app.test_client().get("/.well-known/jwks.json")
    assert answer.status_code == 200
    keys = answer.get_json()["keys"]
    assert len(keys) == 2 and all("d" not in key for key in keys)  # public halves only

    header, message = {"action": "search", "message_id": "m1"}, {"search_request": []}
    published = {k["kid"]: signatures.public_key_from_jwk(k) for k in keys}
    for private in (new, old):  # a request signed by either key verifies against the published set
        signature = signatures.sign(header, message, signatures.private_key_from_b64(private), "chumnuoy")
        parsed = signatures.verify(
            signature, header, message, lambda _s, kid: published.get(kid), allow_unsigned=False
        )
        assert parsed is not None and parsed.key_id == keys[0 if private == new else 1]["kid"]
    monkeypatch.delenv("CHUMNUOY_REGISTRY_SIGNING_KEYS_PREVIOUS")
    assert len(app.test_client().get("/.well-known/jwks.json").get_json()["keys"]) == 1
