"""Stored Telegram updates: store (deduplicated by `update_id`), claim, process, reply.

- `store_update`: one row per `update_id`; a repeat is recognised by the primary key (Telegram
  re-delivers after non-2xx answers and polling may repeat), so it is processed once.
- `process_due`: claims due rows — the oldest per chat, never a chat another worker is on — and runs
  each in its own transaction. A row whose handler raises is retried with backoff (5 s, 30 s) and then
  marked `failed` (the citizen gets an apology through the outbox); other rows and chats go on.
- Replies are made after the commit. A reply that cannot be sent is queued in the outbox as plain
  text (the worker retries it); a 403 "blocked" marks the chat opted out.
"""

from __future__ import annotations

import asyncio
import json
import logging
import warnings
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot, Update
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.state import StateStore
from bot.telegram.api import BotRunner
from bot.telegram.conversation import Incoming, Outgoing, handle
from bot.telegram.evidence import MAX_BYTES
from bot.telegram.messages import MSG_ERROR
from bot.telegram.pacing import TelegramPacer
from portal import wakeup
from portal.models.base import utcnow
from portal.models.telegram import TelegramUpdate
from portal.services.working_time import aware_utc
from registry_client.types import RegistryPort

log = logging.getLogger("chumnuoy.telegram")

MAX_ATTEMPTS = 3
BACKOFF = (timedelta(seconds=5), timedelta(seconds=30))
LEASE = timedelta(minutes=2)
KEEP_DONE = timedelta(days=7)
"""Processed rows are kept this long (deduplication window), then purged."""
MAX_RETRY_WAIT = 5.0
"""A reply hit by RetryAfter waits at most this long in the worker, else it goes to the outbox."""


class NotAnUpdate(ValueError):
    pass


def chat_of(payload: dict[str, Any]) -> int | None:
    for key in ("message", "edited_message", "channel_post"):
        message = payload.get(key)
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            chat_id = message["chat"].get("id")
            return chat_id if isinstance(chat_id, int) else None
    callback = payload.get("callback_query")
    if isinstance(callback, dict) and isinstance(callback.get("from"), dict):
        user_id = callback["from"].get("id")
        return user_id if isinstance(user_id, int) else None
    return None


def store_update(session: Session, payload: Any, now: datetime | None = None) -> bool:
    """Store one update (committed); False when this `update_id` was stored before."""
    if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int) \
            or isinstance(payload.get("update_id"), bool) or not 0 <= payload["update_id"] < 2**63:
        raise NotAnUpdate("an update needs an integer update_id")
    moment = aware_utc(now) if now else utcnow()
    update_id = payload["update_id"]
    if session.get(TelegramUpdate, update_id) is not None:
        return False
    chat_id = chat_of(payload)
    if chat_id is not None and not -(2**63) <= chat_id < 2**63:  # no Telegram id is that large
        raise NotAnUpdate("chat id out of range")
    row = TelegramUpdate(update_id=update_id, chat_id=chat_id, status="pending", attempts=0,
                         payload=json.dumps(payload, ensure_ascii=False), next_attempt_at=moment,
                         received_at=moment)
    session.add(row)
    wakeup.after_commit(session, "telegram_updates")  # with REDIS_URL, a worker is woken at once
    try:
        session.commit()
    except IntegrityError:  # stored at the same moment by another request
        session.rollback()
        return False
    return True


def claim(session: Session, *, worker_id: str, now: datetime, limit: int = 20,
          chat_id: int | None = None) -> list[int]:
    """Claim the oldest due update of each chat (or of `chat_id` only) that no worker is processing;
    their ids."""
    now = aware_utc(now)
    busy = set(session.scalars(select(TelegramUpdate.chat_id).where(
        TelegramUpdate.status == "processing", TelegramUpdate.claimed_at >= now - LEASE)))
    due_query = (
        select(TelegramUpdate.update_id, TelegramUpdate.chat_id, TelegramUpdate.status)
        .where(((TelegramUpdate.status == "pending") & (TelegramUpdate.next_attempt_at <= now))
               | ((TelegramUpdate.status == "processing") & (TelegramUpdate.claimed_at < now - LEASE))))
    if chat_id is not None:
        due_query = due_query.where(TelegramUpdate.chat_id == chat_id)
    due = session.execute(due_query.order_by(TelegramUpdate.update_id).limit(limit * 5)).all()
    claimed: list[int] = []
    seen: set[int | None] = set()
    for update_id, chat_id, status in due:
        if len(claimed) >= limit:
            break
        if chat_id is not None and (chat_id in busy or chat_id in seen):
            continue
        seen.add(chat_id)
        result = session.execute(
            update(TelegramUpdate)
            .where(TelegramUpdate.update_id == update_id, TelegramUpdate.status == status)
            .values(status="processing", claimed_by=worker_id, claimed_at=now)
            .execution_options(synchronize_session=False))
        if result.rowcount == 1:
            claimed.append(update_id)
    session.commit()
    return claimed


# ------------------------------------------------------------------------------------ reading updates

def _biggest_photo(photos: tuple[Any, ...]) -> Any | None:
    fitting = [p for p in photos if not p.file_size or p.file_size <= MAX_BYTES]
    return max(fitting, key=lambda p: (p.width or 0) * (p.height or 0)) if fitting else None


async def _download(bot: Bot, file_id: str) -> bytes:
    file = await bot.get_file(file_id)
    if file.file_size and file.file_size > MAX_BYTES:
        raise _TooBig
    data = await file.download_as_bytearray()
    return bytes(data)


class _TooBig(Exception):
    pass


async def read_update(bot: Bot, payload: dict[str, Any]) -> Incoming | None:
    """The conversation's view of an update (photos downloaded); None for what we do not handle."""
    update = Update.de_json(payload, bot)
    incoming = await _read(bot, update)
    if incoming is not None:
        incoming.update_id = update.update_id
    return incoming


async def _read(bot: Bot, update: Update) -> Incoming | None:
    callback = update.callback_query
    if callback is not None:
        message = callback.message
        if message is not None and getattr(message, "chat", None) and message.chat.type != "private":
            return None
        label, text, message_id = "", "", None
        if message is not None and hasattr(message, "text"):
            text, message_id = message.text or "", message.message_id
            markup = message.reply_markup
            for row in (markup.inline_keyboard if markup else ()):
                for button in row:
                    if button.callback_data == callback.data:
                        label = button.text
        return Incoming(chat_id=callback.from_user.id, user_id=callback.from_user.id, kind="callback",
                        callback_id=callback.id, callback_data=str(callback.data or ""),
                        callback_message_id=message_id, callback_message_text=text, callback_label=label)
    message = update.message
    if message is None or message.chat.type != "private" or message.from_user is None:
        return None
    base: dict[str, Any] = {"chat_id": message.chat.id, "user_id": message.from_user.id}
    if message.contact is not None:
        return Incoming(**base, kind="contact", contact_user_id=message.contact.user_id,
                        contact_phone=message.contact.phone_number)
    file_id, declared_size, declared_type = None, None, None
    if message.photo:
        best = _biggest_photo(message.photo)
        if best is None:
            return Incoming(**base, kind="photo", photo_error="too_big")
        file_id, declared_size = best.file_id, best.file_size
    elif message.document is not None and (message.document.mime_type or "").startswith("image/"):
        file_id, declared_size = message.document.file_id, message.document.file_size
        declared_type = message.document.mime_type
    if file_id is not None:
        if (declared_size or 0) > MAX_BYTES:
            return Incoming(**base, kind="photo", text=message.caption or "", photo_error="too_big")
        if declared_type and declared_type not in ("image/jpeg", "image/png"):
            return Incoming(**base, kind="photo", text=message.caption or "", photo_error="type")
        try:
            data = await _download(bot, file_id)
        except _TooBig:
            return Incoming(**base, kind="photo", text=message.caption or "", photo_error="too_big")
        return Incoming(**base, kind="photo", text=message.caption or "", photo=data)
    if message.document is not None:
        return Incoming(**base, kind="photo", photo_error="type")
    if message.text is None:
        return None
    return Incoming(**base, kind="text", text=message.text)


# ------------------------------------------------------------------------------------ replying

def _seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def is_blocked(error: Forbidden) -> bool:
    text = str(error).lower()
    return "blocked" in text or "deactivated" in text


async def _call(bot: Bot, action: Outgoing) -> None:
    if action.method == "answer":
        await bot.answer_callback_query(action.callback_id or "")
    elif action.method == "edit":
        await bot.edit_message_text(action.text, chat_id=action.chat_id, message_id=action.message_id)
    else:
        await bot.send_message(action.chat_id, action.text, reply_markup=action.markup)


async def send_actions(bot: Bot, actions: list[Outgoing],
                       pacer: TelegramPacer | None = None) -> list[tuple[Outgoing, TelegramError]]:
    """Make the calls in order; RetryAfter is honoured (waited for when short, and every process
    pauses). A message waits for its chat's slot (bot/telegram/pacing.py) up to MAX_RETRY_WAIT, else
    it fails with RetryAfter and goes to the outbox. The failures."""
    failed: list[tuple[Outgoing, TelegramError]] = []
    for action in actions:
        if pacer is not None and action.method == "send":
            wait = pacer.wait_turn(action.chat_id, MAX_RETRY_WAIT)
            if wait:
                failed.append((action, RetryAfter(timedelta(seconds=max(1, round(wait))))))
                continue
        for _try in range(2):
            try:
                await _call(bot, action)
                break
            except RetryAfter as error:
                wait = _seconds(error)
                if pacer is not None:
                    pacer.pause(wait)
                if wait > MAX_RETRY_WAIT or _try:
                    failed.append((action, error))
                    break
                await asyncio.sleep(wait)
            except TelegramError as error:
                failed.append((action, error))
                break
    return failed


def _after_send_failures(session: Session, chat_id: int, failures: list[tuple[Outgoing, TelegramError]],
                         locale: str, now: datetime) -> None:
    from portal.services import identity as identity_service
    from portal.services.outbox import enqueue

    for action, error in failures:
        if isinstance(error, Forbidden) and is_blocked(error):
            identity_service.mark_opted_out(session, "telegram", str(chat_id), "carrier", now)
            break
        if action.method == "send" and not isinstance(error, BadRequest):
            enqueue(session, channel="telegram", address=str(chat_id), text=action.text, kind="reply",
                    locale=locale, now=now)
        elif action.method != "answer":
            log.warning("telegram %s failed: %s", action.method, type(error).__name__)
    session.commit()


# ------------------------------------------------------------------------------------ processing

StoreFactory = Callable[[Session], StateStore]


def process_one(sessions: sessionmaker[Session], runner: BotRunner, update_id: int, *,
                registry_factory: Callable[[], RegistryPort], store_factory: StoreFactory, worker_id: str,
                now: datetime | None = None, pacer: TelegramPacer | None = None) -> bool:
    """Process one claimed update; True when it was handled (or ignored), False when it failed.
    Replies are paced by `pacer` (default: the shared SQL state of `sessions`)."""
    moment = aware_utc(now) if now else utcnow()
    with sessions() as session:
        row = session.get(TelegramUpdate, update_id)
        if row is None or row.status != "processing" or row.claimed_by != worker_id:
            return True
        chat_id = row.chat_id
        try:
            incoming = runner.run(read_update(runner.bot, json.loads(row.payload)))
            actions = [] if incoming is None else handle(session, store_factory(session), registry_factory,
                                                         incoming, moment)
            row = session.get(TelegramUpdate, update_id)
            row.status = "done" if incoming is not None else "ignored"
            row.processed_at, row.claimed_by, row.last_error = moment, None, None
            locale = _locale(session, chat_id)
            session.commit()
        except Exception as error:
            session.rollback()
            log.exception("telegram update %s failed", update_id)
            _failed(session, update_id, error, moment)
            return False
        if actions:
            failures = runner.run(send_actions(runner.bot, actions, pacer or TelegramPacer(sessions)))
            if failures and chat_id is not None:
                _after_send_failures(session, chat_id, failures, locale, moment)
    return True


def _locale(session: Session, chat_id: int | None) -> str:
    from portal.models.citizen import ChannelIdentity

    if chat_id is None:
        return "km"
    language = session.scalar(select(ChannelIdentity.language).where(
        ChannelIdentity.channel == "telegram", ChannelIdentity.address == str(chat_id)))
    return language or "km"


def _failed(session: Session, update_id: int, error: Exception, now: datetime) -> None:
    from chumnuoy.i18n import translate
    from portal.services.outbox import enqueue

    row = session.get(TelegramUpdate, update_id)
    if row is None:
        return
    row.attempts += 1
    row.claimed_by = None
    row.last_error = f"{type(error).__name__}"[:2000]
    if row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
        if row.chat_id is not None:
            locale = _locale(session, row.chat_id)
            enqueue(session, channel="telegram", address=str(row.chat_id), text=translate(locale, MSG_ERROR),
                    kind="reply", locale=locale, dedupe_key=f"tg-failed:{update_id}", now=now)
    else:
        row.status = "pending"
        row.next_attempt_at = now + BACKOFF[min(row.attempts, len(BACKOFF)) - 1]
    session.commit()


def process_due(sessions: sessionmaker[Session], runner: BotRunner, *,
                registry_factory: Callable[[], RegistryPort], store_factory: StoreFactory, worker_id: str,
                now: datetime | None = None, limit: int = 20, pacer: TelegramPacer | None = None,
                chat_id: int | None = None) -> int:
    """One round: claim and process due updates (of one chat with `chat_id`); how many were claimed."""
    moment = aware_utc(now) if now else utcnow()
    with sessions() as session:
        ids = claim(session, worker_id=worker_id, now=moment, limit=limit, chat_id=chat_id)
    for update_id in ids:
        process_one(sessions, runner, update_id, registry_factory=registry_factory,
                    store_factory=store_factory, worker_id=worker_id, now=now, pacer=pacer)
    return len(ids)


def purge_processed(session: Session, now: datetime) -> int:
    from sqlalchemy import delete

    result = session.execute(delete(TelegramUpdate).where(
        TelegramUpdate.status.in_(("done", "ignored", "failed")),
        TelegramUpdate.received_at < now - KEEP_DONE))
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
