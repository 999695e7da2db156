"""`chumnuoy users create` and `chumnuoy tokens create` against a real database; the token works."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from chumnuoy.settings import get_settings
from portal.models.cases import ApiToken, Officer
from portal.services.officers import authenticate, token_for


def run(monkeypatch, url: str, *args: str):  # type: ignore[no-untyped-def]
    from chumnuoy.cli import main

    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        get_settings.cache_clear()


def test_users_create_and_tokens_create(monkeypatch, portal_database_url, portal_engine):
    result = run(monkeypatch, portal_database_url, "users", "create", "--login", "Dara", "--name", "Sok Dara",
                 "--role", "officer", "--area", "120101", "--agency", "NSAF", "--phone", "+85512999300",
                 "--password", "a-long-password")
    assert result.exit_code == 0, result.output
    refused = run(monkeypatch, portal_database_url, "users", "create", "--login", "x", "--name", "X",
                  "--role", "officer", "--agency", "NSAF", "--password", "short")
    assert refused.exit_code != 0 and "10 characters" in refused.output
    issued = run(monkeypatch, portal_database_url, "tokens", "create", "--name", "bot",
                 "--scope", "grievances:read")
    assert issued.exit_code == 0, issued.output
    token = issued.output.strip().splitlines()[-1]
    with Session(portal_engine) as session:
        officer = session.scalar(select(Officer))
        assert (officer.login, officer.level, officer.agency) == ("dara", "commune", "NSAF")
        assert officer.password_hash.startswith("$argon2id$")
        assert authenticate(session, "dara", "a-long-password") is not None
        assert authenticate(session, "dara", "wrong-password") is None
        row = session.scalar(select(ApiToken))
        assert token.startswith("chn_") and row.token_hash != token
        assert token_for(session, token).id == row.id
