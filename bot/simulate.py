"""`chumnuoy simulate --channel ussd|sms --phone +855…`: a phone in the terminal.

It drives the real HTTP webhooks of a running `web` process at PUBLIC_BASE_URL, authenticated with
the gateway keys from the settings, exactly as a USSD gateway (Africa's Talking convention: one
session id, the cumulative `text`) or an SMS aggregator (`/channels/sms/gateway`) would. Each reply
is printed; SMS replies with their segment count. `/new` starts a new USSD session (redial), `/quit`
(or end of input) stops.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable

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


def run(channel: str, phone: str, settings: Settings, lines: Iterable[str], out: Output,
        client: httpx.Client | None = None) -> None:
    """The interactive loop over `lines` (stdin in the CLI)."""
    own = client is None
    client = client or httpx.Client(base_url=settings.public_base_url.rstrip("/"), timeout=15)
    try:
        if channel == "ussd":
            ussd = UssdSession(client, settings, phone)
            out(_screen(ussd.dial()))
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
            else:
                reply = sms_send(client, settings, phone, typed)
                out("(no reply)" if reply is None else f"{reply}\n[{sms_segments(reply)} SMS segment(s)]")
    finally:
        if own:
            client.close()


def _screen(body: str) -> str:
    rule = "-" * 24
    return f"{rule}\n{body}\n{rule}"
