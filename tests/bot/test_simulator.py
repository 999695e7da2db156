"""The /simulator page (phone-like USSD screen with keypad, SMS thread with segment counts) drives
the real webhooks; only when enabled, with the sandbox, from loopback or for a signed-in admin."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from tests.bot.conftest import P6, SMS_KEY, USSD_KEY

REMOTE = {"REMOTE_ADDR": "10.1.2.3"}


@pytest.fixture
def enabled(app):
    app.config["CHUMNUOY_SETTINGS"] = replace(app.config["CHUMNUOY_SETTINGS"], simulator_enabled=True)
    return app


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', page).group(1)


def officer(app, role: str) -> int:
    from portal.models.cases import Officer

    with app.extensions["db_sessionmaker"]() as session:
        row = Officer(login=f"{role}-sim", name=role, password_hash="x", role=role, level="national")
        session.add(row)
        session.commit()
        return row.id


def test_simulator_is_off_unless_enabled_and_never_with_a_real_registry(app, client) -> None:
    assert client.get("/simulator").status_code == 404
    settings = app.config["CHUMNUOY_SETTINGS"]
    app.config["CHUMNUOY_SETTINGS"] = replace(settings, simulator_enabled=True,
                                              xroad_client="CAMBODIA/GOV/X/Y")
    assert client.get("/simulator").status_code == 404
    app.config["CHUMNUOY_SETTINGS"] = replace(settings, simulator_enabled=True,
                                              registry_url="https://spr.example.gov.kh")
    assert client.get("/simulator").status_code == 404


def test_remote_requests_need_an_admin_login(enabled, client) -> None:
    refused = client.get("/simulator", environ_base=REMOTE)
    assert refused.status_code in (302, 403)
    if refused.status_code == 302:
        assert "/portal/login" in refused.headers["Location"]
    with client.session_transaction() as browser:
        browser["officer_id"] = officer(enabled, "officer")
    assert client.get("/simulator", environ_base=REMOTE).status_code in (302, 403)
    with client.session_transaction() as browser:
        browser["officer_id"] = officer(enabled, "admin")
    assert client.get("/simulator", environ_base=REMOTE).status_code == 200


def test_post_without_the_csrf_token_is_refused(enabled, client) -> None:
    assert client.post("/simulator", data={"action": "dial", "phone": P6}).status_code == 400


def test_ussd_screen_and_keypad_drive_the_webhook(enabled, client) -> None:
    page = client.get("/simulator").get_data(as_text=True)
    assert page.count("onclick=\"press(") == 12  # the keypad
    assert USSD_KEY not in page and SMS_KEY not in page  # keys stay on the server
    csrf = csrf_of(page)
    page = client.post("/simulator", data={"action": "dial", "phone": P6, "csrf": csrf}).get_data(
        as_text=True)
    assert 'class="screen" id="screen">CON Chumnuoy\n1 ខ្មែរ\n2 English<' in page
    session_id = hidden(page, "session")
    form = {"action": "ussd", "phone": P6, "session": session_id, "text": "", "input": "1", "csrf": csrf}
    page = client.post("/simulator", data=form).get_data(as_text=True)
    assert "យល់ព្រម" in page and hidden(page, "text") == "1"
    form.update(text="1", input="2")
    page = client.post("/simulator", data=form).get_data(as_text=True)
    assert "END " in page and hidden(page, "session") == ""  # declined consent: the session ended
    assert USSD_KEY not in page


def test_sms_thread_with_segment_counts(enabled, client) -> None:
    csrf = csrf_of(client.get("/simulator").get_data(as_text=True))
    page = client.post("/simulator", data={"action": "sms", "phone": "+85512000188", "input": "hi",
                                           "csrf": csrf}).get_data(as_text=True)
    assert '<div class="me">hi</div>' in page
    assert '<div class="bot">Chumnuoy\n1 ខ្មែរ\n2 English</div>' in page
    assert page.count("SMS ១ ផ្នែក") == 2
    thread = hidden(page, "thread")
    page = client.post("/simulator", data={"action": "sms", "phone": "+85512000188", "input": "1",
                                           "thread": thread.replace("&#34;", '"').replace("&quot;", '"'),
                                           "csrf": csrf}).get_data(as_text=True)
    assert page.count('<div class="me">') == 2 and "យល់ព្រម" in page
