"""Worker jobs of the Telegram channel (registered through portal.worker.JOB_MODULES).

| job | every | does |
|---|---|---|
| telegram_updates | 0.5 s | processes stored updates (bot/telegram/updates.py) |
| telegram_housekeeping | 1 h | drops processed updates older than 7 days |
"""

from __future__ import annotations

from functools import cache

from bot.telegram.api import BotRunner
from chumnuoy.settings import get_settings
from portal.models.base import utcnow
from portal.worker import job


@cache
def _runner() -> BotRunner:
    return BotRunner(get_settings())


@cache
def _registry():  # type: ignore[no-untyped-def]
    from registry_client.client import RegistryClient

    return RegistryClient(get_settings())


def _store(session):  # type: ignore[no-untyped-def]
    from bot.state import make_store

    return make_store(get_settings().redis_url, session)


@job("telegram_updates", every_seconds=0.5)
def process_telegram_updates() -> int:
    """Nothing is processed without a bot token (updates wait; replies could not be sent)."""
    from bot.telegram.updates import process_due
    from portal.jobs import WORKER_ID, _factory

    if not get_settings().telegram_bot_token:
        return 0
    from bot.telegram.sender import shared_pacer

    settings = get_settings()
    return process_due(_factory(), _runner(), registry_factory=_registry, store_factory=_store,
                       worker_id=WORKER_ID, pacer=shared_pacer(settings.database_url, settings.redis_url))


@job("telegram_housekeeping", every_seconds=3600.0)
def telegram_housekeeping() -> int:
    from bot.telegram.updates import purge_processed
    from portal.jobs import _factory

    with _factory()() as session:
        return purge_processed(session, utcnow())
