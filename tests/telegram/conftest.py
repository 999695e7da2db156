"""A local Bot API stand-in (an HTTP server on 127.0.0.1 that answers like api.telegram.org and
records every call), the portal app with the Telegram webhook, and Telegram users who post updates
to the webhook; the stored updates are then processed by the real processing code, which talks to
the stand-in through python-telegram-bot."""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, Response, jsonify, request
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import make_server

from bot.state import SqlStateStore
from bot.telegram.api import BotRunner
from bot.telegram.pacing import TelegramPacer
from bot.telegram.updates import process_due
from tests.bot.conftest import make_app

TOKEN = "123456:TEST-token"
SECRET = "webhook-secret_1"
_update_ids = itertools.count(1000)


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class BotApiStandIn:
    url: str
    calls: list[Call] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    """file_id → bytes (served at /file/bot<token>/<file_id>.jpg)."""
    script: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    """method → scripted error answers, used first."""
    updates: list[dict[str, Any]] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)

    def of(self, method: str, chat_id: int | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method
                and (chat_id is None or str(c.params.get("chat_id")) == str(chat_id))]

    def fail(self, method: str, status: int, description: str, **parameters: Any) -> None:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        self.script.setdefault(method, []).append((status, body))


def _params() -> dict[str, Any]:
    raw = request.form.to_dict() if request.form else (request.get_json(silent=True) or {})
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str) and value[:1] in "[{":
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        params[key] = value
    return params


def _stand_in_app(state: BotApiStandIn) -> Flask:
    app = Flask("bot-api-stand-in")
    message_ids = itertools.count(1)

    @app.post(f"/bot{TOKEN}/<method>")
    def api(method: str) -> Response:
        params = _params()
        state.calls.append(Call(method, params))
        scripted = state.script.get(method)
        if scripted:
            status, body = scripted.pop(0)
            return jsonify(body), status  # type: ignore[return-value]
        now = int(time.time())
        if method == "getMe":
            result: Any = {"id": 42, "is_bot": True, "first_name": "Chumnuoy", "username": "chumnuoy_bot"}
        elif method in ("sendMessage", "editMessageText"):
            result = {"message_id": int(params.get("message_id") or next(message_ids)), "date": now,
                      "chat": {"id": int(params["chat_id"]), "type": "private"},
                      "text": params.get("text", "")}
        elif method == "getFile":
            file_id = params["file_id"]
            data = state.files.get(file_id, b"")
            result = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(data),
                      "file_path": f"photos/{file_id}.jpg"}
        elif method == "getUpdates":
            offset = int(params.get("offset") or 0)
            result = [u for u in state.updates if u["update_id"] >= offset]
        else:  # answerCallbackQuery, deleteWebhook, setWebhook …
            result = True
        return jsonify({"ok": True, "result": result})

    @app.get(f"/file/bot{TOKEN}/photos/<file_id>.jpg")
    def download(file_id: str) -> Response:
        state.downloads.append(file_id)
        if file_id not in state.files:
            return Response("not found", status=404)
        return Response(state.files[file_id], mimetype="application/octet-stream")

    return app


@pytest.fixture
def bot_api() -> Iterator[BotApiStandIn]:
    state = BotApiStandIn(url="")
    server = make_server("127.0.0.1", 0, _stand_in_app(state), threaded=True)
    state.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()


class Harness:
    def __init__(self, app: Flask, registry: Any, bot_api: BotApiStandIn) -> None:
        self.app, self.registry, self.bot_api = app, registry, bot_api
        self.client = app.test_client()
        self.settings = app.config["CHUMNUOY_SETTINGS"]
        self.sessions: sessionmaker[Session] = app.extensions["db_sessionmaker"]
        self.runner = BotRunner(self.settings)
        self.pacer = TelegramPacer(self.sessions, per_chat=timedelta(0))
        """Conversation tests answer at once; pacing itself is proved in test_pacing.py / test_sender.py."""

    def post(self, update: dict[str, Any], secret: str | None = SECRET) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        return self.client.post("/channels/telegram", json=update, headers=headers).status_code

    processor: Any = None
    """When set (e.g. the worker job), what processes stored updates instead of `process_due`."""

    def process(self, now: Any = None) -> int:
        if self.processor is not None:
            total = 0
            while handled := self.processor():
                total += handled
            return total
        total = 0
        while True:
            handled = process_due(self.sessions, self.runner, registry_factory=lambda: self.registry,
                                  store_factory=SqlStateStore, worker_id="test-worker", now=now,
                                  pacer=self.pacer)
            total += handled
            if not handled:
                return total

    def user(self, user_id: int, first_name: str = "Citizen") -> TelegramUser:
        return TelegramUser(self, user_id, first_name)


@dataclass
class TelegramUser:
    harness: Harness
    user_id: int
    first_name: str
    _seen: int = 0

    @property
    def sender(self) -> dict[str, Any]:
        return {"id": self.user_id, "is_bot": False, "first_name": self.first_name, "language_code": "km"}

    def _message(self, **content: Any) -> dict[str, Any]:
        return {"update_id": next(_update_ids), "message": {
            "message_id": next(_update_ids), "date": int(time.time()), "from": self.sender,
            "chat": {"id": self.user_id, "type": "private", "first_name": self.first_name}, **content}}

    def deliver(self, update: dict[str, Any]) -> list[Call]:
        assert self.harness.post(update) == 200
        self.harness.process()
        return self.new_calls()

    def new_calls(self) -> list[Call]:
        calls = [c for c in self.harness.bot_api.calls
                 if c.method in ("sendMessage", "editMessageText", "answerCallbackQuery")]
        mine = [c for c in calls if str(c.params.get("chat_id", self.user_id)) == str(self.user_id)]
        fresh = mine[self._seen:]
        self._seen = len(mine)
        return fresh

    def send(self, text: str) -> str:
        return self.last_text(self.deliver(self._message(text=text)))

    def share_contact(self, phone: str, contact_user_id: int | None = None) -> str:
        contact = {"phone_number": phone, "first_name": self.first_name,
                   "user_id": self.user_id if contact_user_id is None else contact_user_id}
        return self.last_text(self.deliver(self._message(contact=contact)))

    def send_photo(self, file_id: str, data: bytes, caption: str = "") -> str:
        self.harness.bot_api.files[file_id] = data
        photo = [{"file_id": file_id, "file_unique_id": f"u{file_id}", "width": 640, "height": 480,
                  "file_size": len(data)}]
        content: dict[str, Any] = {"photo": photo}
        if caption:
            content["caption"] = caption
        return self.last_text(self.deliver(self._message(**content)))

    def last_message(self) -> Call:
        sent = self.harness.bot_api.of("sendMessage", self.user_id)
        assert sent, "the bot sent nothing"
        return sent[-1]

    @staticmethod
    def last_text(calls: list[Call]) -> str:
        sent = [c for c in calls if c.method == "sendMessage"]
        assert sent, f"no reply; calls: {calls}"
        return str(sent[-1].params["text"])

    def buttons(self) -> list[dict[str, Any]]:
        markup = self.last_message().params.get("reply_markup") or {}
        return [button for row in markup.get("inline_keyboard", []) for button in row]

    def press(self, label: str) -> str:
        message = self.last_message()
        button = next((b for b in self.buttons() if b["text"] == label), None)
        assert button is not None, f"no button {label!r} in {[b['text'] for b in self.buttons()]}"
        return self.press_data(button["callback_data"], message)

    def press_data(self, data: str, message: Call | None = None) -> str:
        message = message or self.last_message()
        update = {"update_id": next(_update_ids), "callback_query": {
            "id": str(next(_update_ids)), "from": self.sender, "chat_instance": "ci", "data": data,
            "message": {"message_id": 1, "date": int(time.time()), "text": message.params.get("text", ""),
                        "chat": {"id": self.user_id, "type": "private"},
                        "reply_markup": message.params.get("reply_markup")}}}
        return self.last_text(self.deliver(update))

    def start_in_english(self) -> str:
        self.send("/start")
        self.press("English")
        return self.press("I agree")


@pytest.fixture
def harness(portal_database_url, live_registry, bot_api) -> Iterator[Harness]:
    app, registry = make_app(portal_database_url, live_registry)
    settings = replace(app.config["CHUMNUOY_SETTINGS"], telegram_bot_token=TOKEN,
                       telegram_webhook_secret=SECRET, telegram_api_base_url=bot_api.url)
    app.config["CHUMNUOY_SETTINGS"] = settings
    made = Harness(app, registry, bot_api)
    yield made
    made.runner.close()
    registry.inner.close()  # type: ignore[attr-defined]
    app.extensions["db_engine"].dispose()
