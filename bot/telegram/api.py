"""The python-telegram-bot `Bot`, pointed at TELEGRAM_API_BASE_URL (default https://api.telegram.org;
tests use a local stand-in), and a private event loop so the synchronous worker and CLI can call it.

The Bot API lives at `<base>/bot<token>/<method>`, files at `<base>/file/bot<token>/<path>`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

from telegram import Bot
from telegram.request import HTTPXRequest

from chumnuoy.settings import Settings

os.environ.setdefault("PTB_TIMEDELTA", "1")
"""python-telegram-bot 22: time periods (RetryAfter.retry_after) as timedelta, without deprecation noise."""

DEFAULT_BASE_URL = "https://api.telegram.org"
T = TypeVar("T")


def make_bot(settings: Settings, *, read_timeout: float = 10.0) -> Bot:
    base = (settings.telegram_api_base_url or DEFAULT_BASE_URL).rstrip("/")
    return Bot(settings.telegram_bot_token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot",
               request=HTTPXRequest(connection_pool_size=8, read_timeout=read_timeout),
               get_updates_request=HTTPXRequest(read_timeout=read_timeout + 40.0))


class BotRunner:
    """A Bot and the event loop it runs on (one per process and thread; holds no conversation state)."""

    def __init__(self, settings: Settings, bot: Bot | None = None) -> None:
        self.bot = bot or make_bot(settings)
        self.loop = asyncio.new_event_loop()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        try:
            self.run(self.bot.shutdown())
        finally:
            self.loop.close()
