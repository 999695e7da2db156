"""The Telegram chat of the phone simulator (SPEC §10), driving the real channel code path.

A simulated user's action becomes a real Telegram `Update` (JSON as Telegram sends it) posted to the
real webhook `POST /channels/telegram` with TELEGRAM_WEBHOOK_SECRET; the stored update is then
processed by `bot.telegram.updates.process_due` (the worker's code) for that chat only, and the
chat's pending outbox messages (officer replies, status changes) are delivered by the real outbox
(`deliver_one`) through the real `TelegramSender`. Only the transport differs: the python-telegram-bot
`Bot` gets `CapturingRequest` instead of HTTP, which answers like the Bot API and records every call
(sendMessage, editMessageText, answerCallbackQuery …) with its parameters, so the simulator shows the
bot's messages, inline buttons and the share-contact keyboard.

Decision: the Telegram chat exists only while no real TELEGRAM_BOT_TOKEN is configured. With a token
the worker processes every stored update and sends to the real Bot API, so simulated chats (whose ids
are not Telegram's) would be answered there; the simulator then says so and offers USSD and SMS only.
Without a token the worker leaves Telegram updates and Telegram outbox rows alone (no sender), so the
simulator is the only one to process and deliver them. Simulated chat ids are the phone's digits
(`+85597000103` → 85597000103), the simulated user id is the same number.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from telegram import Bot
from telegram.request import BaseRequest, RequestData

from chumnuoy.settings import Settings

SIMULATOR_TOKEN = "100000:simulator"  # noqa: S105 (not a secret: the in-process Bot API stand-in's token)
SIMULATOR_BOT = {"id": 100000, "is_bot": True, "first_name": "Chumnuoy", "username": "chumnuoy_sim_bot"}


def available(settings: Settings) -> bool:
    """The simulator's Telegram chat: only without a real bot (see the module docstring)."""
    return not settings.telegram_bot_token


def chat_id_for(phone: str) -> int:
    digits = "".join(ch for ch in phone if ch.isdigit())
    if not 8 <= len(digits) <= 15:
        raise ValueError("a phone number in E.164 form, e.g. +85597000103")
    return int(digits)


def new_update_id() -> int:
    """Random 46-bit ids, far above Telegram's sequential ones (a repeat is refused by the store)."""
    return (1 << 45) + secrets.randbelow(1 << 45)


# ------------------------------------------------------------------------------------ updates

def _user(chat_id: int, first_name: str) -> dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": first_name, "language_code": "km"}


def _message(chat_id: int, message_id: int, first_name: str, **content: Any) -> dict[str, Any]:
    return {"update_id": new_update_id(), "message": {
        "message_id": message_id, "date": int(time.time()), "from": _user(chat_id, first_name),
        "chat": {"id": chat_id, "type": "private", "first_name": first_name}, **content}}


def text_update(chat_id: int, message_id: int, text: str, first_name: str = "Simulator") -> dict[str, Any]:
    return _message(chat_id, message_id, first_name, text=text)


def contact_update(chat_id: int, message_id: int, phone: str, *, contact_user_id: int | None = None,
                   first_name: str = "Simulator") -> dict[str, Any]:
    contact = {"phone_number": phone.lstrip("+"), "first_name": first_name,
               "user_id": chat_id if contact_user_id is None else contact_user_id}
    return _message(chat_id, message_id, first_name, contact=contact)


def photo_update(chat_id: int, message_id: int, file_id: str, size: int, caption: str = "",
                 first_name: str = "Simulator") -> dict[str, Any]:
    """A photo as Telegram sends one (a single size here); its bytes are served by CapturingRequest."""
    content: dict[str, Any] = {"photo": [{"file_id": file_id, "file_unique_id": f"u{file_id}", "width": 1280,
                                          "height": 960, "file_size": size}]}
    if caption:
        content["caption"] = caption
    return _message(chat_id, message_id, first_name, **content)


def new_file_id() -> str:
    return "sim" + secrets.token_hex(8)


def callback_update(chat_id: int, message: dict[str, Any], data: str,
                    first_name: str = "Simulator") -> dict[str, Any]:
    """A button press on `message` (a transcript item: id, text, buttons)."""
    markup = {"inline_keyboard": [[{"text": b["text"], "callback_data": b["data"]} for b in row]
                                  for row in message.get("buttons", [])]}
    return {"update_id": new_update_id(), "callback_query": {
        "id": str(new_update_id()), "from": _user(chat_id, first_name), "chat_instance": f"sim{chat_id}",
        "data": data, "message": {"message_id": int(message["id"]), "date": int(time.time()),
                                  "text": message.get("text", ""), "from": SIMULATOR_BOT,
                                  "chat": {"id": chat_id, "type": "private"}, "reply_markup": markup}}}


# ------------------------------------------------------------------------------------ the stand-in

@dataclass
class Call:
    method: str
    params: dict[str, Any]
    result: Any = None


@dataclass
class CapturingRequest(BaseRequest):
    """A python-telegram-bot transport answering like api.telegram.org, in process, recording calls."""

    first_message_id: int = 1
    calls: list[Call] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    """file_id → the bytes of a photo the simulated user sent (getFile, then the download)."""

    def __post_init__(self) -> None:
        self._ids = itertools.count(self.first_message_id)

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None, connect_timeout: Any = None,
                         pool_timeout: Any = None) -> tuple[int, bytes]:
        name = url.rstrip("/").rsplit("/", 1)[-1]
        if method == "GET":  # a file download: <base_file_url><token>/sim/<file_id>
            data = self.files.get(name)
            return (200, data) if data is not None else (404, b'{"ok": false, "error_code": 404}')
        params = dict(request_data.parameters) if request_data is not None else {}
        result = self._answer(name, params)
        self.calls.append(Call(name, params, result))
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _answer(self, method: str, params: dict[str, Any]) -> Any:
        now = int(time.time())
        if method == "getMe":
            return {**SIMULATOR_BOT, "can_join_groups": False, "can_read_all_group_messages": False,
                    "supports_inline_queries": False}
        if method == "getFile":
            file_id = str(params.get("file_id", ""))
            return {"file_id": file_id, "file_unique_id": f"u{file_id}",
                    "file_size": len(self.files.get(file_id, b"")), "file_path": f"sim/{file_id}"}
        if method in ("sendMessage", "editMessageText"):
            message_id = int(params.get("message_id") or next(self._ids))
            return {"message_id": message_id, "date": now, "from": SIMULATOR_BOT,
                    "text": params.get("text", ""), "chat": {"id": int(params["chat_id"]), "type": "private"}}
        return True


def simulator_bot(settings: Settings, request: CapturingRequest) -> Bot:
    return Bot(SIMULATOR_TOKEN, request=request, get_updates_request=CapturingRequest())


# ------------------------------------------------------------------------------------ one round

def process_chat(sessions: Any, settings: Settings, chat_id: int, *, registry_factory: Callable[[], Any],
                 store_factory: Callable[[Any], Any], first_message_id: int = 1,
                 files: dict[str, bytes] | None = None) -> list[Call]:
    """Process the chat's stored updates and deliver its pending outbox messages (the real code);
    the Bot API calls they made, in order."""
    from sqlalchemy import select

    from bot.telegram.api import BotRunner
    from bot.telegram.pacing import TelegramPacer
    from bot.telegram.sender import TelegramSender
    from bot.telegram.updates import process_due
    from portal.models.cases import OutboxMessage
    from portal.services.outbox import deliver_one

    request = CapturingRequest(first_message_id=first_message_id, files=dict(files or {}))
    runner = BotRunner(replace(settings, telegram_bot_token=SIMULATOR_TOKEN),
                       bot=simulator_bot(settings, request))
    pacer = TelegramPacer(sessions, settings.redis_url)
    try:
        while process_due(sessions, runner, registry_factory=registry_factory, store_factory=store_factory,
                          worker_id="simulator", pacer=pacer, chat_id=chat_id):
            pass
        sender = TelegramSender(settings, runner=runner, pacer=pacer)
        with sessions() as session:
            due = session.scalars(select(OutboxMessage.id).where(
                OutboxMessage.channel == "telegram", OutboxMessage.address == str(chat_id),
                OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= datetime.now(UTC))
                .order_by(OutboxMessage.id)).all()
            for message_id in due:
                deliver_one(session, message_id, sender, worker_id="simulator")
    finally:
        runner.close()
    return [call for call in request.calls if call.method not in ("getMe", "getFile")]


# ------------------------------------------------------------------------------------ the transcript

def _buttons(markup: Any) -> list[list[dict[str, str]]]:
    if not isinstance(markup, dict):
        return []
    return [[{"text": str(b.get("text", "")), "data": str(b.get("callback_data", ""))} for b in row]
            for row in markup.get("inline_keyboard", [])]


def apply_calls(thread: list[dict[str, Any]], calls: list[Call]) -> list[dict[str, Any]]:
    """The transcript after the bot's calls: new messages (with inline buttons or a reply keyboard),
    edited ones (an edit without buttons removes them, as in Telegram); answerCallbackQuery shows
    nothing unless it carries a text."""
    by_id = {item.get("id"): item for item in thread}
    for call in calls:
        params = call.params
        if call.method == "sendMessage":
            markup = params.get("reply_markup")
            sent_id = call.result.get("message_id") if isinstance(call.result, dict) else None
            item: dict[str, Any] = {"id": int(sent_id or 0) or _next_id(thread), "who": "bot",
                                    "text": str(params.get("text", "")), "buttons": _buttons(markup)}
            if isinstance(markup, dict) and markup.get("keyboard"):
                item["keyboard"] = [[{"text": str(b.get("text", "")),
                                      "contact": bool(b.get("request_contact"))} for b in row]
                                    for row in markup["keyboard"]]
            if isinstance(markup, dict) and markup.get("remove_keyboard"):
                item["remove_keyboard"] = True
            thread.append(item)
            by_id[item["id"]] = item
        elif call.method == "editMessageText":
            edited = by_id.get(int(params.get("message_id") or 0))
            if edited is not None:
                edited["text"] = str(params.get("text", ""))
                edited["buttons"] = _buttons(params.get("reply_markup"))
        elif call.method == "answerCallbackQuery" and params.get("text"):
            thread.append({"id": _next_id(thread), "who": "note", "text": str(params["text"])})
    return thread


def _next_id(thread: list[dict[str, Any]]) -> int:
    return max((int(item.get("id") or 0) for item in thread), default=0) + 1


def next_message_id(thread: list[dict[str, Any]]) -> int:
    return _next_id(thread)


def reply_keyboard(thread: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The reply keyboard showing now (the latest one sent and not removed)."""
    keyboard: list[list[dict[str, Any]]] = []
    for item in thread:
        if item.get("remove_keyboard"):
            keyboard = []
        if item.get("keyboard"):
            keyboard = item["keyboard"]
    return keyboard


def latest_buttons(thread: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    """The newest bot message that has inline buttons, and its buttons in reading order."""
    for item in reversed(thread):
        if item.get("who") == "bot" and item.get("buttons"):
            return item, [b for row in item["buttons"] for b in row]
    return None, []


def calls_as_json(calls: list[Call]) -> list[dict[str, Any]]:
    return [{"method": c.method, "params": c.params, "result": c.result} for c in calls]


def calls_from_json(items: list[dict[str, Any]]) -> list[Call]:
    return [Call(str(i["method"]), dict(i.get("params") or {}), i.get("result")) for i in items]
