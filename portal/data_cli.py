"""`chumnuoy data purge|export|erase`: data retention and a citizen's export and erasure requests
(portal/services/retention.py, portal/services/privacy.py; docs/operations.md says when to use them)."""

from __future__ import annotations

import json
import sys

import click

from chumnuoy.settings import get_settings


def _session():  # type: ignore[no-untyped-def]
    from portal.cli import _session as migrated_session

    return migrated_session()


def _subject_options(function):  # type: ignore[no-untyped-def]
    function = click.option("--identity-id", type=int, default=None, help="a channel identity's id")(function)
    function = click.option("--spid", default=None, help="the person's SPID")(function)
    return click.option("--phone", default=None, help="a phone number (+855…, 0…)")(function)


@click.group("data")
def data() -> None:
    """Data retention, and a citizen's export and erasure requests."""


@data.command("purge")
@click.option("--dry-run", is_flag=True, help="count what would be purged; change nothing")
@click.option("--batch", type=int, default=200, show_default=True, help="rows per transaction")
def purge(dry_run: bool, batch: int) -> None:
    """Purge transcripts, photos and anonymous-case addresses past their retention periods."""
    from portal.services import retention

    policy = retention.RetentionPolicy.from_env()
    with _session() as session:
        counts = retention.run_all(session, policy=policy, batch=batch, dry_run=dry_run)
    days = {"transcripts": policy.transcript_days, "photos": policy.photo_days,
            "anonymous_addresses": policy.anonymous_address_days}
    key = "would_purge" if dry_run else "purged"
    click.echo(json.dumps({"dry_run": dry_run, "policy_days": days, key: counts}, indent=2))


@data.command("export")
@_subject_options
@click.option("--actor", default="operator:cli", show_default=True, help="who handles the request (audited)")
@click.argument("out", type=click.Path(dir_okay=False, allow_dash=True))
def export(phone: str | None, spid: str | None, identity_id: int | None, actor: str, out: str) -> None:
    """Write everything the portal holds about one citizen to OUT as JSON (`-` = standard output)."""
    from portal.services import privacy

    with _session() as session:
        try:
            subject = privacy.resolve_subject(session, phone=phone, spid=spid, identity_id=identity_id)
        except ValueError as error:
            raise click.UsageError(str(error)) from error
        document = privacy.export(session, subject, actor=actor)
    text = json.dumps(document, ensure_ascii=False, indent=2)
    if out == "-":
        sys.stdout.write(text + "\n")
    else:
        with open(out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        click.echo(f"written {out}", err=True)
    click.echo(privacy.REGISTRY_NOTICE, err=True)


@data.command("erase")
@_subject_options
@click.option("--actor", default="operator:cli", show_default=True, help="who handles the request (audited)")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def erase(phone: str | None, spid: str | None, identity_id: int | None, actor: str, yes: bool) -> None:
    """Erase one citizen's personal data from the portal (not from the registry)."""
    from portal.services import privacy

    with _session() as session:
        try:
            subject = privacy.resolve_subject(session, phone=phone, spid=spid, identity_id=identity_id)
        except ValueError as error:
            raise click.UsageError(str(error)) from error
        if subject.empty():
            raise click.ClickException("nothing is linked to this key")
        if not yes:
            click.confirm(f"Erase the data of {len(subject.identity_ids)} identit(ies), "
                          f"{len(subject.spids)} SPID(s) and {len(subject.addresses)} address(es)? "
                          "This cannot be undone", abort=True)
        report = privacy.erase(session, subject, actor=actor, redis_url=get_settings().redis_url)
    click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    if report.residual:
        raise click.ClickException("some rows still contain the citizen's identifiers (see residual)")
