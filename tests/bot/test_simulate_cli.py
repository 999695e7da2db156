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


@pytest.fixture
def served_telegram(app) -> Iterator[object]:
    """The app (simulator on, no real bot, a webhook secret) served over HTTP on 127.0.0.1."""
    settings = replace(app.config["CHUMNUOY_SETTINGS"], simulator_enabled=True, telegram_bot_token="",
                       telegram_webhook_secret="cli-webhook-secret")
    app.config["CHUMNUOY_SETTINGS"] = settings
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield replace(settings, public_base_url=f"http://127.0.0.1:{server.server_port}")
    server.shutdown()


def test_telegram_in_the_terminal(served_telegram, app) -> None:
    from sqlalchemy import select

    from portal.models.telegram import TelegramUpdate

    printed: list[str] = []
    run("telegram", "+85597000103", served_telegram,
        ["/start", "/2", "/1", "/2", "/contact", "20011990", "/9", "/quit"], printed.append)
    assert printed[0].startswith("Telegram as +85597000103")
    assert "[/1] ខ្មែរ  [/2] English" in printed[1]
    assert "[/1] I agree" in printed[2]
    assert "[/1] Check eligibility" in printed[3] and "[/2] My benefits and payments" in printed[3]
    assert "share your phone number" in printed[4] and "[/contact] Share my phone number" in printed[4]
    assert "DDMMYYYY" in printed[5]
    assert printed[6].startswith("bot> Your benefits") and "Scholarship for students" in printed[6]
    assert printed[7] == "(no such button)"  # the benefits message has only its Main menu button
    with app.extensions["db_sessionmaker"]() as session:
        statuses = session.scalars(select(TelegramUpdate.status).where(
            TelegramUpdate.chat_id == 85597000103)).all()
    assert len(statuses) == 6 and set(statuses) == {"done"}


def test_telegram_in_the_terminal_needs_the_webhook_secret(served_telegram) -> None:
    with pytest.raises(Exception, match="403"):
        run("telegram", P6, replace(served_telegram, telegram_webhook_secret="wrong"), ["/start"], print)


def test_telegram_complaint_with_a_photo_in_the_terminal(served_telegram, app, tmp_path) -> None:
    from sqlalchemy import select

    from portal.models.cases import Grievance
    from portal.models.telegram import GrievanceEvidence
    from tests.telegram.images import jpeg_with_exif

    photo = tmp_path / "receipt.jpg"
    photo.write_bytes(jpeg_with_exif())
    printed: list[str] = []
    run("telegram", P6, served_telegram, ["/start", "/2", "/1", "/3", "/1",
                                          f"/photo {photo} Nobody paid me in October"], printed.append)
    with app.extensions["db_sessionmaker"]() as session:
        grievance = session.scalars(select(Grievance)).one()
        assert grievance.description == "Nobody paid me in October"
        assert session.scalars(select(GrievanceEvidence)).one().grievance_id == grievance.id
    assert grievance.reference in printed[-1]
