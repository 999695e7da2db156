"""The Twilio SMS sender for the outbox worker (named in `portal.services.senders.SENDER_FACTORIES`).

POST `{TWILIO_API_BASE_URL or https://api.twilio.com}/2010-04-01/Accounts/{sid}/Messages.json` with
`From`, `To`, `Body` and a `StatusCallback` to our signed `/channels/sms/twilio/status`. Result
mapping: 2xx → sent (the `sid`); 21610 (recipient sent STOP) → opted out, never retried; 429 →
retry after `Retry-After`; other 4xx → permanent failure; 5xx and network errors → retried.
Importing this module registers the factory.
"""

from __future__ import annotations

from typing import Any

import httpx

from chumnuoy.settings import Settings
from portal.models.cases import OutboxMessage
from portal.services.senders import SendResult

DEFAULT_BASE_URL = "https://api.twilio.com"
OPT_OUT_CODES = frozenset({21610})


class TwilioSender:
    def __init__(self, settings: Settings, *, timeout: float = 10.0,
                 client: httpx.Client | None = None) -> None:
        self.account_sid = settings.twilio_account_sid
        self.sender = settings.twilio_from
        self.base_url = (settings.twilio_api_base_url or DEFAULT_BASE_URL).rstrip("/")
        self.status_callback = settings.public_base_url.rstrip("/") + "/channels/sms/twilio/status"
        self.client = client or httpx.Client(timeout=timeout,
                                             auth=(settings.twilio_account_sid, settings.twilio_auth_token))

    def send(self, message: OutboxMessage) -> SendResult:
        url = f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        form = {"From": self.sender, "To": message.address, "Body": message.text,
                "StatusCallback": self.status_callback}
        try:
            response = self.client.post(url, data=form)
        except httpx.HTTPError as error:
            return SendResult(ok=False, error=type(error).__name__)
        body = _json(response)
        status = response.status_code
        if 200 <= status < 300:
            return SendResult(ok=True, provider_id=str(body.get("sid") or "") or None)
        code = body.get("code")
        error = f"HTTP {status} code {code}"
        if code in OPT_OUT_CODES:
            return SendResult(ok=False, opted_out=True, permanent_failure=True, error=error)
        if status == 429:
            try:
                retry_after = float(response.headers.get("Retry-After", ""))
            except ValueError:
                retry_after = None
            return SendResult(ok=False, retry_after=retry_after, error=error)
        if 400 <= status < 500:
            return SendResult(ok=False, permanent_failure=True, error=error)
        return SendResult(ok=False, error=error)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def twilio_sender(settings: Settings) -> TwilioSender | None:
    """Configured only with an account, a token and a From number."""
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from:
        return TwilioSender(settings)
    return None


