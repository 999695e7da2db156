"""`chumnuoy telegram`: long polling for local use. Updates are stored exactly as the webhook stores
them, then processed by the same code as the worker's job (so polling and webhook behave alike)."""

from __future__ import annotations

import logging

import click

log = logging.getLogger("chumnuoy.telegram")


def poll_once(runner, sessions, offset: int | None, *, timeout: int, registry_factory, store_factory,  # type: ignore[no-untyped-def]
              worker_id: str = "telegram-poll", pacer=None) -> int | None:
    """One getUpdates round: store what came, process what is due; the next offset."""
    from bot.telegram.updates import NotAnUpdate, process_due, store_update

    updates = runner.run(runner.bot.get_updates(offset=offset, timeout=timeout,
                                                allowed_updates=["message", "callback_query"]))
    with sessions() as session:
        for item in updates:
            try:
                store_update(session, item.to_dict())
            except NotAnUpdate:
                continue
            offset = item.update_id + 1
    while process_due(sessions, runner, registry_factory=registry_factory, store_factory=store_factory,
                      worker_id=worker_id, pacer=pacer):
        pass
    return offset


def set_webhook(runner, settings) -> str:  # type: ignore[no-untyped-def]
    """Register `PUBLIC_BASE_URL/channels/telegram` with the secret Telegram echoes in its header."""
    if not settings.telegram_webhook_secret:
        raise click.ClickException("TELEGRAM_WEBHOOK_SECRET is not set (the webhook would refuse everything)")
    url = settings.public_base_url.rstrip("/") + "/channels/telegram"
    runner.run(runner.bot.set_webhook(url, secret_token=settings.telegram_webhook_secret,
                                      allowed_updates=["message", "callback_query"], max_connections=40))
    return url


@click.command("telegram")
@click.option("--timeout", default=30, show_default=True, help="long-poll timeout in seconds")
@click.option("--once", is_flag=True, help="one getUpdates round, then exit")
@click.option("--set-webhook", "register", is_flag=True,
              help="instead of polling, register PUBLIC_BASE_URL/channels/telegram as the webhook")
def telegram(timeout: int, once: bool, register: bool) -> None:
    """Long-poll the Bot API (local use; production uses the webhook + worker)."""
    from sqlalchemy.orm import sessionmaker

    from bot.state import make_store
    from bot.telegram.api import BotRunner
    from bot.telegram.sender import shared_pacer
    from chumnuoy.db import make_engine
    from chumnuoy.settings import get_settings
    from registry_client.client import RegistryClient

    settings = get_settings()
    if not settings.telegram_bot_token:
        raise click.ClickException("TELEGRAM_BOT_TOKEN is not set")
    runner = BotRunner(settings)
    if register:
        try:
            click.echo(f"webhook set: {set_webhook(runner, settings)}")
        finally:
            runner.close()
        return
    sessions = sessionmaker(make_engine(settings.database_url), expire_on_commit=False)
    registry = RegistryClient(settings)
    runner.run(runner.bot.initialize())
    runner.run(runner.bot.delete_webhook())  # getUpdates refuses to work while a webhook is set
    click.echo(f"polling as @{runner.bot.username}")
    offset = None
    try:
        while True:
            offset = poll_once(runner, sessions, offset, timeout=timeout, registry_factory=lambda: registry,
                               store_factory=lambda session: make_store(settings.redis_url, session),
                               pacer=shared_pacer(settings.database_url, settings.redis_url))
            if once:
                break
    except KeyboardInterrupt:
        pass
    finally:
        runner.close()
