"""`chumnuoy registry serve|seed` and `chumnuoy gazetteer import`."""

from __future__ import annotations

import os
import sys

import click

from chumnuoy.settings import get_settings


@click.group()
def registry() -> None:
    """The sandbox registry (a DCI Social Registry with synthetic data)."""


@registry.command()
@click.option("--bind", default=None, help="host:port (default CHUMNUOY_REGISTRY_BIND, 127.0.0.1:8001)")
@click.option("--workers", type=int, default=2, show_default=True)
def serve(bind: str | None, workers: int) -> None:
    """Serve the sandbox under gunicorn."""
    settings = get_settings()
    os.execv(
        sys.executable,
        [
            sys.executable, "-m", "gunicorn", "registry_sandbox.wsgi:app",
            "--bind", bind or settings.registry_bind,
            "--workers", str(workers), "--threads", "4",
            "--graceful-timeout", "10", "--no-control-socket",
        ],
    )


@registry.command()
@click.option("--persons", type=int, default=10_000, show_default=True, help="synthetic persons")
@click.option("--seed", "random_seed", type=int, default=20261125, show_default=True)
@click.option("--if-needed", is_flag=True, help="do nothing when the database already holds this seeding")
@click.option("--database-url", default=None, help="default REGISTRY_DATABASE_URL")
def seed(persons: int, random_seed: int, if_needed: bool, database_url: str | None) -> None:
    """Seed the personas, the compliance fixtures and N synthetic persons (deterministic)."""
    from registry_sandbox.seed import seed_database

    report = seed_database(
        database_url or get_settings().registry_database_url,
        persons=persons,
        random_seed=random_seed,
        if_needed=if_needed,
    )
    click.echo(report)


@click.group()
def gazetteer() -> None:
    """The administrative-division gazetteer (province, district, commune, village)."""


@gazetteer.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--database-url", default=None, help="default REGISTRY_DATABASE_URL")
@click.option("--portal-database-url", default=None, help="default DATABASE_URL (the portal's copy: places)")
def import_gazetteer(file: str, database_url: str | None, portal_database_url: str | None) -> None:
    """Import the official NCDD/MoI coded list (CSV or XLSX), replacing the synthetic one, in the sandbox
    and in the portal's copy (the portal copies the sandbox's table: one import code path)."""
    from portal.services.places import copy_from_sandbox
    from registry_sandbox.gazetteer import import_file

    registry_url = database_url or get_settings().registry_database_url
    click.echo(import_file(registry_url, file))
    copied = copy_from_sandbox(portal_database_url or get_settings().database_url, registry_url)
    click.echo(f"portal places: {copied} units")
