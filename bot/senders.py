"""The Twilio SMS sender for the outbox worker (named in `portal.services.senders.SENDER_FACTORIES`).

POST `{TWILIO_API_BASE_URL or https://api.twilio.com}/2010-04-01/Accounts/{sid}/Messages.json` with
`From`, `To`, `Body` and a `StatusCallback` to our signed `/channels/sms/twilio/status`. Result
mapping: 2xx → sent (the `sid`); 21610 (recipient sent STOP) → opted out, never retried; 429 →
retry after `Retry-After`; other 4xx → permanent failure; 5xx and network errors → retried.
Importing this module registers the factory.

`find_sent` (used when the outbox takes a row over from a dead worker, issue #8) asks Twilio, through
the `twilio` library, which messages went from our number to the recipient since the row became due:
`messages.list(to, from_, date_sent_after)` (Twilio filters that by date only) plus the newest page
without a date filter (a message still queued has no `date_sent`), then keeps those created since
`since` whose body is the row's text. Twilio's Message resource carries no caller metadata (not the
StatusCallback either), so recipient + text + time window is the match; the outbox skips ids it has
already recorded on another row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from chumnuoy.settings import Settings
from portal.models.cases import OutboxMessage
from portal.services.senders import LookupFailed, SendResult

DEFAULT_BASE_URL = "https://api.twilio.com"
OPT_OUT_CODES = frozenset({21610})
CLOCK_SKEW = timedelta(minutes=2)
"""Twilio's clock against ours: a message created this long before `since` still counts."""
LOOKUP_LIMIT = 200


class TwilioSender:
    def __init__(self, settings: Settings, *, timeout: float = 10.0,
                 client: httpx.Client | None = None) -> None:
        self.account_sid = settings.twilio_account_sid
        self.sender = settings.twilio_from
        self.base_url = (settings.twilio_api_base_url or DEFAULT_BASE_URL).rstrip("/")
        self.status_callback = settings.public_base_url.rstrip("/") + "/channels/sms/twilio/status"
        self.auth_token = settings.twilio_auth_token
        self.timeout = timeout
        self.client = client or httpx.Client(timeout=timeout,
                                             auth=(settings.twilio_account_sid, settings.twilio_auth_token))
        self._rest: Any = None

    def _twilio(self) -> Any:
        """The twilio library's client, pointed at `TWILIO_API_BASE_URL` when one is set."""
        if self._rest is None:
            from twilio.http.http_client import TwilioHttpClient
            from twilio.rest import Client

            http = TwilioHttpClient(timeout=self.timeout)
            rest = Client(self.account_sid, self.auth_token, http_client=http)
            rest.api.base_url = self.base_url
            self._rest = rest
        return self._rest

    def find_sent(self, message: OutboxMessage, since: datetime) -> list[str]:
        from twilio.base.exceptions import TwilioException

        earliest = since - CLOCK_SKEW
        messages = self._twilio().api.v2010.accounts(self.account_sid).messages
        try:
            found = messages.list(to=message.address, from_=self.sender, date_sent_after=earliest,
                                  limit=LOOKUP_LIMIT)
            found += messages.list(to=message.address, from_=self.sender, limit=50, page_size=50)
        except (TwilioException, OSError) as error:  # requests' errors are OSErrors
            raise LookupFailed(type(error).__name__) from error
        matches: dict[str, datetime] = {}
        for item in found:
            created = item.date_created
            if (item.sid and item.body == message.text and item.to == message.address
                    and created is not None and created >= earliest):
                matches[item.sid] = created
        return sorted(matches, key=lambda sid: (matches[sid], sid))

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


