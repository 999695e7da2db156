"""A local stand-in for Twilio's Messages API that records every message it is asked to send, so the
load bench and the fault tests can count deliveries (and duplicates) of the outbox.

Both halves of the Messages list resource the outbox uses are served the way Twilio serves them, so the
`twilio` library runs against it unchanged (`client.api.base_url = stand_in.url`):
- `POST /2010-04-01/Accounts/{sid}/Messages.json` (form `To`, `From`, `Body`, …) → 201 + a Message;
- `GET  /2010-04-01/Accounts/{sid}/Messages.json` → one page `{"messages": [...], "page", "page_size",
  "start", "end", "uri", "first_page_uri", "next_page_uri", "previous_page_uri"}`, newest first, with
  the filters `To`, `From`, `DateSent`, `DateSent<`, `DateSent>` (date granularity, as Twilio documents:
  `DateSent>` = sent on or after midnight GMT of that date) and `PageSize` (default 50, max 1000) /
  `Page` / `PageToken` paging. `list_page` is shared with the Flask stand-in of the bot tests.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50


def new_message(account_sid: str, form: Mapping[str, str], *, now: datetime | None = None) -> dict[str, Any]:
    """The stored record of one accepted message (the stand-in "sends" it at once)."""
    moment = now or datetime.now(UTC)
    return {"sid": "SM" + secrets.token_hex(16), "account_sid": account_sid, "to": form.get("To", ""),
            "from": form.get("From", ""), "body": form.get("Body", ""), "created": moment, "sent": moment,
            "status_callback": form.get("StatusCallback")}


def message_resource(record: Mapping[str, Any], *, status: str = "sent") -> dict[str, Any]:
    """Twilio's JSON for one Message (dates RFC 2822 in GMT, like the real API)."""
    account, sid = record["account_sid"], record["sid"]
    uri = f"/2010-04-01/Accounts/{account}/Messages/{sid}.json"
    body = record["body"]
    return {
        "account_sid": account, "api_version": "2010-04-01", "body": body,
        "date_created": format_datetime(record["created"], usegmt=True),
        "date_sent": format_datetime(record["sent"], usegmt=True) if record.get("sent") else None,
        "date_updated": format_datetime(record["created"], usegmt=True),
        "direction": "outbound-api", "error_code": None, "error_message": None, "from": record["from"],
        "messaging_service_sid": None, "num_media": "0", "num_segments": str(_segments(body)),
        "price": None, "price_unit": "USD", "sid": sid, "status": status, "to": record["to"], "uri": uri,
        "subresource_uris": {"media": uri.replace(".json", "/Media.json"),
                             "feedback": uri.replace(".json", "/Feedback.json")},
    }


def _segments(body: str) -> int:
    units = len(body.encode("utf-16-le")) // 2
    if body.isascii():
        return 1 if len(body) <= 160 else -(-len(body) // 153)
    return 1 if units <= 70 else -(-units // 67)


def _filter_date(value: str) -> date:
    """Twilio reads `YYYY-MM-DD`; the twilio library sends an ISO date-time: its date part counts."""
    return date.fromisoformat(value.strip()[:10])


def list_page(records: list[Mapping[str, Any]], path: str, query: Mapping[str, str]) -> tuple[int, dict]:
    """One page of `GET …/Messages.json` over `records` (oldest first, as stored) → (status, JSON)."""
    selected = [r for r in records if ("To" not in query or r["to"] == query["To"])
                and ("From" not in query or r["from"] == query["From"])]
    try:
        for key, keep in (("DateSent", lambda d, f: d == f), ("DateSent>", lambda d, f: d >= f),
                          ("DateSent<", lambda d, f: d <= f)):
            if key in query:
                bound = _filter_date(query[key])
                selected = [r for r in selected if r.get("sent") and keep(r["sent"].date(), bound)]
        page_size = min(MAX_PAGE_SIZE, max(1, int(query.get("PageSize", DEFAULT_PAGE_SIZE))))
        page = max(0, int(query.get("Page", 0)))
    except ValueError:
        return 400, {"code": 20001, "message": "Invalid filter or paging value", "status": 400}
    selected.sort(key=lambda r: r["sent"] or r["created"], reverse=True)  # newest first
    start = page * page_size
    chunk = selected[start:start + page_size]
    filters = {k: v for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}

    def uri(number: int, token: str | None = None) -> str:
        params = {**filters, "PageSize": page_size, "Page": number}
        if token:
            params["PageToken"] = token
        return f"{path}?{urlencode(params)}"

    more = start + page_size < len(selected)
    return 200, {
        "messages": [message_resource(r) for r in chunk], "page": page, "page_size": page_size,
        "start": start, "end": start + max(0, len(chunk) - 1), "uri": uri(page), "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1, "PA" + chunk[-1]["sid"]) if more and chunk else None,
        "previous_page_uri": uri(page - 1) if page > 0 else None,
    }


class TwilioStandIn:
    """Twilio's Messages list resource (create and read); keeps every accepted message."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.records: list[dict[str, Any]] = []
        self.list_requests = 0
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, payload: dict) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                # a sender killed mid-request leaves the message accepted (as at Twilio), quietly
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.end_headers()
                    self.wfile.write(body)

            def _account(self, path: str) -> str | None:
                parts = path.strip("/").split("/")
                shape = len(parts) == 4 and parts[:2] == ["2010-04-01", "Accounts"]
                return parts[2] if shape and parts[3] == "Messages.json" else None

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("utf-8")).items()}
                account = self._account(urlsplit(self.path).path)
                if account is None or "To" not in form or "Body" not in form:
                    self._answer(400, {"code": 21604, "message": "A 'To' and a 'Body' are required",
                                       "status": 400})
                    return
                record = new_message(account, form)
                with stand_in.lock:
                    stand_in.records.append(record)
                self._answer(201, message_resource(record, status="queued"))

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if self._account(parts.path) is None:
                    self._answer(404, {"code": 20404, "message": "The requested resource was not found",
                                       "status": 404})
                    return
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                with stand_in.lock:
                    stand_in.list_requests += 1
                    records = list(stand_in.records)
                self._answer(*list_page(records, parts.path, query))

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TwilioStandIn:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def messages(self) -> list[tuple[str, str]]:
        """(To, Body) of every message accepted, in order."""
        with self.lock:
            return [(r["to"], r["body"]) for r in self.records]

    def sids(self) -> list[str]:
        with self.lock:
            return [r["sid"] for r in self.records]

    def duplicates(self) -> int:
        """Messages received more than once (same recipient and text): extra copies counted."""
        return sum(count - 1 for count in Counter(self.messages()).values() if count > 1)
