"""The pieces of `chumnuoy bench ussd` (the full run starts gunicorn and belongs to `make bench`):
its HTTP load client against the bare endpoint and the real webhook, and its menu walk."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from bot.bench_ussd import BARE_BODY, WALK, _first_hops, _onboard, _walks, create_bare_app
from tests.bot.conftest import USSD_KEY


def serve(app) -> Iterator[int]:  # type: ignore[no-untyped-def]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port
    server.shutdown()


@pytest.fixture
def bare_port() -> Iterator[int]:
    yield from serve(create_bare_app())


@pytest.fixture
def app_port(app) -> Iterator[int]:
    yield from serve(app)


def test_bare_endpoint_under_load(bare_port) -> None:
    tally, elapsed = asyncio.run(_first_hops(bare_port, "/channels/ussd", ["+1", "+2", "+3"], 0.3, BARE_BODY))
    assert tally.ok > 10 and tally.errors == 0 and elapsed >= 0.3
    assert len(tally.latencies_ms) == tally.ok


def test_first_hops_and_menu_walks_on_the_real_webhook(app_port) -> None:
    path = f"/channels/ussd?key={USSD_KEY}"
    phones = ["+85512900001", "+85512900002"]
    asyncio.run(_onboard(app_port, path, phones))
    tally, _ = asyncio.run(_first_hops(app_port, path, phones, 0.3, "CON ១ ពិនិត្យសិទ្ធិ"))
    assert tally.ok >= 2 and tally.errors == 0, tally.first_error  # onboarded: the menu at once
    walk = asyncio.run(_walks(app_port, path, phones, 0.2))
    assert walk.errors == 0, walk.first_error
    assert walk.ok >= len(WALK) and walk.ok % len(WALK) == 0  # whole walks, every hop a CON screen


def test_wrong_answers_are_counted_as_errors(app_port) -> None:
    tally, _ = asyncio.run(_first_hops(app_port, "/channels/ussd?key=wrong", ["+85512900003"], 0.1, "CON "))
    assert tally.ok == 0 and tally.errors > 0 and tally.first_error.startswith("403")


def test_sessions_take_turns_with_many_onboarded_phones(app, app_port, portal_database_url) -> None:
    """The bench's setup: phones onboarded in the database, each concurrent session dialling its share
    in turn, so that no phone trips the flood limit; every first hop is the main menu."""
    from bot.bench_ussd import _shares, onboard_in_database

    phones = [f"+8551293{index:05d}" for index in range(12)]
    assert _shares(phones, 5) == [phones[0::5], phones[1::5], phones[2::5], phones[3::5], phones[4::5]]
    assert _shares(phones[:3], None) == [[phone] for phone in phones[:3]]
    onboard_in_database(portal_database_url, phones)
    tally, _ = asyncio.run(_first_hops(app_port, f"/channels/ussd?key={USSD_KEY}", phones, 0.3,
                                       "CON ១ ពិនិត្យសិទ្ធិ", sessions=3))
    assert tally.ok >= 3 and tally.errors == 0, tally.first_error
