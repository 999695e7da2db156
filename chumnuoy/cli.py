"""The `chumnuoy` console script."""

from __future__ import annotations

import logging
import os
import sys

import click

from chumnuoy.settings import get_settings


@click.group()
def main() -> None:
    """Chumnuoy (ជំនួយ): citizen self-service for social protection."""
    settings = get_settings()
    from chumnuoy.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)


@main.command()
@click.option("--bind", default=None, help="host:port (default CHUMNUOY_WEB_BIND, 127.0.0.1:8000)")
@click.option("--workers", type=int, default=None, help="gunicorn workers (default CHUMNUOY_WEB_WORKERS)")
def web(bind: str | None, workers: int | None) -> None:
    """Serve the portal, API and channel webhooks under gunicorn."""
    settings = get_settings()
    from chumnuoy.metrics_dirs import MULTIPROC_ENV, prepare_web_dir

    bind = bind or settings.web_bind
    os.environ[MULTIPROC_ENV] = str(prepare_web_dir(settings.metrics_dir, settings.database_url, bind))
    argv = [
        sys.executable, "-m", "gunicorn", "portal.wsgi:app",
        "--config", "python:portal.observability.gunicorn",  # masked logs, safe access log, metrics hooks
        "--bind", bind,
        "--workers", str(workers or settings.web_workers),
        "--threads", "4",
        "--access-logfile", "-",
        "--graceful-timeout", "10", "--no-control-socket",
    ]
    os.execv(sys.executable, argv)


@main.command()
def worker() -> None:
    """Run the background jobs (outbox, Telegram updates, SLA timers)."""
    from chumnuoy.metrics_dirs import MULTIPROC_ENV, prepare_worker_dir

    settings = get_settings()
    own = prepare_worker_dir(settings.metrics_dir, settings.database_url, create=False)
    if os.environ.get(MULTIPROC_ENV) != str(own):  # start afresh in multiprocess metrics mode (same pid)
        os.environ[MULTIPROC_ENV] = str(prepare_worker_dir(settings.metrics_dir, settings.database_url))
        os.execv(sys.executable, [sys.executable, "-m", "chumnuoy", "worker"])
    from portal.worker import run_forever

    run_forever()


@main.command("run")
@click.option("--persons", type=int, default=10_000, show_default=True, help="synthetic persons to seed")
@click.option("--production", is_flag=True,
              help="PostgreSQL + Redis (scripts/services.sh, ports 55532/56479, data in var/production), "
              "several gunicorn workers and worker processes")
@click.option("--web-workers", type=int, default=4, show_default=True, help="gunicorn workers (--production)")
@click.option("--workers", type=int, default=2, show_default=True, help="worker processes (--production)")
def run_all(persons: int, production: bool, web_workers: int, workers: int) -> None:
    """What `make run` does: set up, then start registry, web and worker until Ctrl-C."""
    from chumnuoy.supervisor import run

    if production:
        raise SystemExit(run(persons=persons, production=True, web_workers=web_workers, workers=workers))
    raise SystemExit(run(persons=persons))


@main.command()
def migrate() -> None:
    """Bring the portal database to the newest schema."""
    from portal.db import upgrade

    upgrade(get_settings().database_url)
    logging.getLogger("chumnuoy").info("portal database migrated")


@main.command()
@click.option("--channel", type=click.Choice(["ussd", "sms", "telegram"]), default="ussd", show_default=True)
@click.option("--phone", default="+85512000101", show_default=True, help="the simulated phone (E.164)")
def simulate(channel: str, phone: str) -> None:
    """A phone in the terminal, driving the running web process (PUBLIC_BASE_URL) as a gateway would."""
    import httpx

    from bot.simulate import run

    settings = get_settings()
    try:
        run(channel, phone, settings, iter(sys.stdin.readline, ""), click.echo)
    except httpx.HTTPError as error:
        raise click.ClickException(f"{settings.public_base_url}: {error} (is `make run` running?)") from error


def _add_optional_commands() -> None:
    """Command groups owned by the other packages."""
    from chumnuoy.bench import bench
    from registry_sandbox.cli import gazetteer, registry

    main.add_command(registry)
    main.add_command(gazetteer)
    main.add_command(bench)
    from portal.cli import tokens, users

    main.add_command(users)
    main.add_command(tokens)
    main.add_command(__import__("bot.telegram.cli").telegram.cli.telegram)
    main.add_command(__import__("portal.data_cli").data_cli.data)


_add_optional_commands()
