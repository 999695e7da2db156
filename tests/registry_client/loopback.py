"""Tiny HTTP servers on 127.0.0.1 for client tests: a scriptable handler, and a forwarder to the
live sandbox that can inject real failures (503, dropped connections, hangs) in front of it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


Handler = Callable[[Seen], "Reply | None"]
"""Returns the reply, or None to drop the connection without answering."""


class Loopback:
    def __init__(self, handle: Handler) -> None:
        self.handle = handle
        self.seen: list[Seen] = []
        outer = self

        class _RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                            self.rfile.read(length) if length else b"")
                outer.seen.append(seen)
                reply = outer.handle(seen)
                if reply is None:
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = _serve

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _RequestHandler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def paths(self, prefix: str = "") -> list[str]:
        return [s.path for s in self.seen if s.path.startswith(prefix)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


_FORWARDED_HEADERS = ("content-type", "authorization")


def forward(target: str, seen: Seen, strip_prefix: str = "") -> Reply:
    """Send the request on to `target` (the live sandbox) and relay its answer."""
    path = seen.path[len(strip_prefix):] if strip_prefix and seen.path.startswith(strip_prefix) else seen.path
    headers = {k: v for k, v in seen.headers.items() if k in _FORWARDED_HEADERS}
    response = httpx.request(seen.method, target + path, content=seen.body or None, headers=headers,
                             timeout=10)
    return Reply(response.status_code, response.content,
                 {"Content-Type": response.headers.get("content-type", "application/json")})


def hang(seconds: float) -> Reply:
    time.sleep(seconds)
    return Reply(200, b"{}")


def unavailable() -> Reply:
    return Reply(503, b'{"errors":[{"code":"err.service.unavailable","message":"down for the test"}]}')
