"""`chumnuoy users create` and `chumnuoy tokens create|revoke` (officer accounts and API tokens)."""

from __future__ import annotations

import click
from sqlalchemy.orm import Session

from chumnuoy.db import make_engine
from chumnuoy.settings import get_settings
from portal.models.cases import OFFICER_ROLES
from portal.services import officers


def _session() -> Session:
    from portal.db import upgrade

    url = get_settings().database_url
    upgrade(url)
    return Session(make_engine(url), expire_on_commit=False)


@click.group()
def users() -> None:
    """Officer accounts."""


@users.command("create")
@click.option("--login", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(OFFICER_ROLES), default="officer", show_default=True)
@click.option("--area", "area_code", default=None,
              help="gazetteer code: commune (6), district (4), province (2)")
@click.option("--agency", default=None, help="MoP | NSAF | NSSF | MoH | MoSVY | MoEYS (not for admins)")
@click.option("--phone", default=None, help="E.164, for SLA alerts by SMS")
@click.option("--locale", type=click.Choice(["km", "en"]), default="km", show_default=True)
@click.password_option(help="at least 10 characters (prompted when omitted)")
def create_user(login: str, name: str, role: str, area_code: str | None, agency: str | None,
                phone: str | None, locale: str, password: str) -> None:
    """Create an officer, supervisor, national officer or admin."""
    with _session() as session:
        try:
            officer = officers.create_officer(session, login=login, name=name, password=password, role=role,
                                              area_code=area_code, agency=agency, phone=phone, locale=locale)
        except officers.OfficerError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"created {officer.role} {officer.login} (id {officer.id}, level {officer.level})")


@click.group()
def tokens() -> None:
    """API bearer tokens for /api/v1."""


@tokens.command("create")
@click.option("--name", required=True, help="who or what uses it, e.g. bot-engine")
@click.option("--scope", "scopes", multiple=True, help=f"repeatable; one of {', '.join(officers.SCOPES)}; "
              "default: every scope ('*')")
def create_token(name: str, scopes: tuple[str, ...]) -> None:
    """Create a token and print it once (only its hash is stored)."""
    with _session() as session:
        try:
            row, token = officers.create_token(session, name=name, scopes=scopes or (officers.ALL_SCOPES,))
        except officers.OfficerError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"token {row.id} ({row.name}, scopes: {row.scopes}) — shown once, keep it secret:")
    click.echo(token)


@tokens.command("revoke")
@click.argument("token_id", type=int)
def revoke_token(token_id: int) -> None:
    with _session() as session:
        officers.revoke_token(session, token_id)
    click.echo(f"token {token_id} revoked")
