"""`chumnuoy simulate --channel ussd|sms|telegram --phone +855…`: a phone in the terminal.

It drives the real HTTP webhooks of a running `web` process at PUBLIC_BASE_URL, authenticated with
the gateway keys from the settings, exactly as a USSD gateway (Africa's Talking convention: one
session id, the cumulative `text`) or an SMS aggregator (`/channels/sms/gateway`) would. Each reply
is printed; SMS replies with their segment count. `/new` starts a new USSD session (redial), `/quit`
(or end of input) stops.

Telegram: each line becomes a real Update posted to `/channels/telegram` with
TELEGRAM_WEBHOOK_SECRET, as Telegram would post it; then `POST /simulator/telegram/process` asks the
web process to run the worker's processing for this chat with the simulator's Bot API
(bot/telegram/simulated.py) and returns the bot's calls, printed with numbered inline buttons.
`/2` presses button 2 of the newest message, `/contact` shares the phone's own contact,
`/photo PATH [caption]` sends a photo, `/refresh` fetches what arrived meanwhile (officer replies);
other lines (`/start`, `/menu`, text) are sent.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx

from bot.budget import sms_segments
from chumnuoy.settings import Settings

Output = Callable[[str], None]


class UssdSession:
    def __init__(self, client: httpx.Client, settings: Settings, phone: str) -> None:
        self.client, self.key, self.phone = client, settings.ussd_gateway_key, phone
        self.session_id, self.inputs = "", []  # type: tuple[str, list[str]]
        self.ended = True

    def dial(self) -> str:
        self.session_id, self.inputs, self.ended = "sim-" + secrets.token_hex(6), [], False
        return self._post()

    def press(self, typed: str) -> str:
        if self.ended:
            return self.dial()
        self.inputs.append(typed)
        return self._post()

    def _post(self) -> str:
        response = self.client.post("/channels/ussd", headers={"X-Gateway-Key": self.key}, data={
            "sessionId": self.session_id, "serviceCode": "*1234#", "phoneNumber": self.phone,
            "networkCode": "simulator", "text": "*".join(self.inputs)})
        response.raise_for_status()
        body = response.text
        self.ended = body.startswith("END ")
        return body


def sms_send(client: httpx.Client, settings: Settings, phone: str, text: str) -> str | None:
    """One SMS through the generic gateway webhook; the reply text (None = no reply)."""
    response = client.post("/channels/sms/gateway", headers={"X-Gateway-Key": settings.sms_gateway_key},
                           json={"from": phone, "to": "simulator", "text": text,
                                 "id": "sim-" + secrets.token_hex(8)})
    if response.status_code == 204:
        return None
    response.raise_for_status()
    return str(response.json()["text"])


class TelegramChat:
    """A simulated Telegram user whose chat id is the phone's digits."""

    def __init__(self, client: httpx.Client, settings: Settings, phone: str) -> None:
        from bot.telegram import simulated

        self.client, self.settings, self.phone = client, settings, phone
        self.chat_id = simulated.chat_id_for(phone)
        self.thread: list[dict[str, Any]] = []

    def act(self, typed: str) -> list[dict[str, Any]]:
        """One line: a button press, the contact, a refresh or a message; the new transcript items."""
        from bot.telegram import simulated

        message_id = simulated.next_message_id(self.thread)
        update: dict[str, Any] | None = None
        files: dict[str, str] = {}
        if typed.startswith("/photo "):
            path, _, caption = typed.removeprefix("/photo ").strip().partition(" ")
            try:
                data = Path(path).expanduser().read_bytes()
            except OSError as error:
                return [{"who": "note", "text": f"({error.strerror}: {path})"}]
            file_id = simulated.new_file_id()
            files[file_id] = base64.b64encode(data).decode()
            update = simulated.photo_update(self.chat_id, message_id, file_id, len(data), caption.strip())
        elif typed.startswith("/") and typed[1:].isdigit():
            message, buttons = simulated.latest_buttons(self.thread)
            number = int(typed[1:])
            if message is None or not 1 <= number <= len(buttons):
                return [{"who": "note", "text": "(no such button)"}]
            update = simulated.callback_update(self.chat_id, message, buttons[number - 1]["data"])
        elif typed == "/contact":
            update = simulated.contact_update(self.chat_id, message_id, self.phone)
        elif typed != "/refresh":
            update = simulated.text_update(self.chat_id, message_id, typed)
            self.thread.append({"id": message_id, "who": "me", "text": typed})
        if update is not None:
            from bot.telegram.web import SECRET_HEADER

            response = self.client.post("/channels/telegram", json=update,
                                        headers={SECRET_HEADER: self.settings.telegram_webhook_secret})
            response.raise_for_status()
        response = self.client.post("/simulator/telegram/process", json={
            "chat_id": self.chat_id, "first_message_id": simulated.next_message_id(self.thread),
            "files": files})
        if response.status_code == 409:
            raise httpx.HTTPStatusError(response.json()["error"]["message"], request=response.request,
                                        response=response)
        response.raise_for_status()
        known = {id(item) for item in self.thread}
        simulated.apply_calls(self.thread, simulated.calls_from_json(response.json()["calls"]))
        return [item for item in self.thread if id(item) not in known and item["who"] != "me"]


def _bubble(item: dict[str, Any]) -> str:
    lines = [f"bot> {item['text']}" if item.get("who") == "bot" else str(item.get("text", ""))]
    number = 0
    for row in item.get("buttons") or []:
        labels = []
        for button in row:
            number += 1
            labels.append(f"[/{number}] {button['text']}")
        lines.append("     " + "  ".join(labels))
    for row in item.get("keyboard") or []:
        for button in row:
            if button.get("contact"):
                lines.append(f"     [/contact] {button['text']}")
    return "\n".join(lines)


def run(channel: str, phone: str, settings: Settings, lines: Iterable[str], out: Output,
        client: httpx.Client | None = None) -> None:
    """The interactive loop over `lines` (stdin in the CLI)."""
    own = client is None
    client = client or httpx.Client(base_url=settings.public_base_url.rstrip("/"), timeout=15)
    try:
        if channel == "ussd":
            ussd = UssdSession(client, settings, phone)
            out(_screen(ussd.dial()))
        elif channel == "telegram":
            chat = TelegramChat(client, settings, phone)
            out(f"Telegram as {phone}: /start to begin, /N presses button N, /contact, /photo PATH, "
                "/refresh, /quit")
        else:
            out(f"SMS from {phone}; type a message (/quit to stop)")
        for line in lines:
            typed = line.strip()
            if typed in ("/quit", "/exit"):
                break
            if channel == "ussd":
                out(_screen(ussd.dial() if typed == "/new" else ussd.press(typed)))
                if ussd.ended:
                    out("(session ended; type anything to dial again)")
            elif channel == "telegram":
                if typed:
                    for item in chat.act(typed):
                        out(_bubble(item))
            else:
                reply = sms_send(client, settings, phone, typed)
                out("(no reply)" if reply is None else f"{reply}\n[{sms_segments(reply)} SMS segment(s)]")
    finally:
        if own:
            client.close()


def _screen(body: str) -> str:
    rule = "-" * 24
    return f"{rule}\n{body}\n{rule}"
