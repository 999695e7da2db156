"""Helpers for the case-service tests: a recording HTTP gateway on loopback, a test calendar, clocks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from portal.services.working_time import WorkingCalendar

HOLIDAY = date(2026, 4, 14)  # Khmer New Year (a Tuesday)
CALENDAR = WorkingCalendar({HOLIDAY, date(2026, 4, 15), date(2026, 4, 16)})


def at(text: str) -> datetime:
    """`2026-04-06 09:00` in Phnom Penh → an aware UTC datetime."""
    local = datetime.fromisoformat(text).replace(tzinfo=CALENDAR.tz)
    return local.astimezone(UTC)


@dataclass
class Gateway:
    """A local SMS/Telegram gateway stand-in: records every POST; answers from `script` (then 200)."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    script: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(
        self,
        status: int,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        for _ in range(times):
            self.script.append((status, body or {}, headers or {}))


def _handler(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            payload = json.loads(self.rfile.read(length) or b"{}")
            with gateway.lock:
                gateway.received.append(payload)
                status, body, headers = (
                    gateway.script.pop(0)
                    if gateway.script
                    else (200, {"id": f"prov-{len(gateway.received)}"}, {})
                )
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: object) -> None:
            pass

    return Handler


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_port}/send"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def dead_url() -> str:
    """A loopback URL where nothing listens (a port just released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/send"
