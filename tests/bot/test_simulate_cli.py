"""`chumnuoy simulate`: the terminal phone drives the real webhooks of a web process over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from werkzeug.serving import make_server

from bot.simulate import run
from tests.bot.conftest import P1, P6


@pytest.fixture
def served(app) -> Iterator[object]:
    """The app served over HTTP on 127.0.0.1, with PUBLIC_BASE_URL pointing at it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield replace(app.config["CHUMNUOY_SETTINGS"], public_base_url=f"http://127.0.0.1:{server.server_port}")
    server.shutdown()


def test_ussd_in_the_terminal(served) -> None:
    printed: list[str] = []
    run("ussd", P6, served, ["1", "1", "4", "/new", "/quit", "never sent"], printed.append)
    screens = [p for p in printed if p.startswith("---")]
    assert "CON Chumnuoy\n1 ខ្មែរ\n2 English" in screens[0]
    assert "យល់ព្រម" in screens[1]
    assert "១ ពិនិត្យសិទ្ធិ" in screens[2] and "ស្ថានភាពបណ្តឹង" in screens[3]
    assert "CON ១ ពិនិត្យសិទ្ធិ" in screens[4] or "បន្ត" in screens[4]  # /new: a new session
    assert len(screens) == 5


def test_sms_in_the_terminal_shows_segments(served) -> None:
    printed: list[str] = []
    run("sms", P1, served, ["hi", "1"], printed.append)
    assert printed[1] == "Chumnuoy\n1 ខ្មែរ\n2 English\n[1 SMS segment(s)]"
    assert "យល់ព្រម" in printed[2] and printed[2].endswith("SMS segment(s)]")


def test_wrong_key_is_an_error_not_a_screen(served) -> None:
    with pytest.raises(Exception, match="403"):
        run("ussd", P6, replace(served, ussd_gateway_key="wrong"), [], print)
