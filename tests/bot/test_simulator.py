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


# ------------------------------------------------------------------------------------------ Telegram

TG_SECRET = "sim-webhook-secret"


@pytest.fixture
def telegram_sim(app):
    app.config["CHUMNUOY_SETTINGS"] = replace(app.config["CHUMNUOY_SETTINGS"], simulator_enabled=True,
                                              telegram_bot_token="", telegram_webhook_secret=TG_SECRET)
    return app


class TelegramPage:
    """The simulator page driven as a browser would: every form field travels back."""

    def __init__(self, client, phone: str) -> None:
        self.client, self.phone = client, phone
        self.page = client.get("/simulator").get_data(as_text=True)
        self.csrf = csrf_of(self.page)

    def _post(self, **fields: str) -> str:
        import html

        form = {"csrf": self.csrf, "phone": self.phone,
                "tg_thread": html.unescape(hidden(self.page, "tg_thread")), **fields}
        response = self.client.post("/simulator", data=form)
        assert response.status_code == 200
        self.page = response.get_data(as_text=True)
        return self.page

    def send(self, text: str) -> str:
        return self._post(action="tg_send", tg_input=text)

    def press(self, label: str) -> str:
        import html

        values = re.findall(r'name="tg_press" value="([^"]+)">([^<]*)<', self.page)
        chosen = [value for value, text in values if html.unescape(text) == label]
        assert chosen, f"no button {label!r} in {[html.unescape(t) for _, t in values]}"
        return self._post(tg_press=html.unescape(chosen[-1]))

    def share_contact(self) -> str:
        return self._post(action="tg_contact")

    def refresh(self) -> str:
        return self._post(action="tg_refresh")

    def send_photo(self, data: bytes, caption: str) -> str:
        from io import BytesIO

        return self._post(action="tg_photo", tg_input=caption, tg_photo=(BytesIO(data), "photo.jpg"))

    def transcript(self) -> list[dict]:
        import html
        import json

        return json.loads(html.unescape(hidden(self.page, "tg_thread")))


def test_telegram_chat_p3_shares_her_contact_and_sees_her_benefits(telegram_sim, client, registry) -> None:
    from portal.models.telegram import TelegramUpdate

    chat = TelegramPage(client, "+85597000103")
    assert 'id="telegram"' in chat.page
    first = chat.send("/start")
    assert TG_SECRET not in first
    assert 'name="tg_press"' in first and ">English<" in first
    chat.press("English")
    chat.press("I agree")
    asked = chat.press("My benefits and payments")
    assert "share your phone number" in asked
    assert 'name="action" value="tg_contact">Share my phone number<' in asked  # the reply keyboard
    dob = chat.share_contact()
    assert "DDMMYYYY" in dob and 'value="tg_contact"' not in dob  # the keyboard is removed
    chat.send("20011990")
    last = chat.transcript()[-1]
    assert last["who"] == "bot" and last["text"].startswith("Your benefits")
    assert "Scholarship for students" in last["text"] and last["text"].count("80,000 ៛ paid") == 6
    pressed = [item for item in chat.transcript() if item["who"] == "bot" and "» English" in item["text"]]
    assert pressed and pressed[0]["buttons"] == []  # a pressed keyboard is edited away, as in Telegram
    with telegram_sim.extensions["db_sessionmaker"]() as session:
        rows = session.query(TelegramUpdate).filter(TelegramUpdate.chat_id == 85597000103).all()
        assert len(rows) == 6 and {row.status for row in rows} == {"done"}  # real updates, processed


def test_telegram_chat_complaint_with_photo_then_officer_reply_arrives(telegram_sim, client) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import select

    from portal.models.cases import Grievance
    from portal.models.telegram import EvidenceBlob, GrievanceEvidence
    from portal.services import grievances
    from tests.telegram.images import GPS_SECRET, jpeg_with_exif

    chat = TelegramPage(client, "+85512000102")
    chat.send("/start")
    chat.press("English")
    chat.press("I agree")
    chat.press("Make a complaint")
    chat.press(re.findall(r'name="tg_press" value="[^"]+">([^<]*)<', chat.page)[0])
    chat.send_photo(jpeg_with_exif(), "My October payment failed")
    mine = chat.transcript()[-2]
    assert mine["who"] == "me" and "My October payment failed" in mine["text"] and "KB" in mine["text"]
    with telegram_sim.extensions["db_sessionmaker"]() as session:
        grievance = session.scalars(select(Grievance)).one()
        assert grievance.channel == "telegram" and grievance.reply_address == "85512000102"
        assert grievance.description == "My October payment failed"
        assert grievance.reference in chat.transcript()[-1]["text"]
        evidence = session.scalars(select(GrievanceEvidence)).one()  # the photo, through getFile + download
        blob = session.get(EvidenceBlob, int(evidence.storage_key.rsplit("/", 1)[1]))
        assert evidence.grievance_id == grievance.id and GPS_SECRET not in blob.data
        grievances.reply(session, grievance, "We are checking your October payment.", "officer:1",
                         datetime.now(UTC))
    chat.refresh()
    texts = [item["text"] for item in chat.transcript()]
    assert "We are checking your October payment." in texts[-2]
    assert "in review" in texts[-1]


def test_telegram_chat_only_without_a_real_bot_and_the_process_api_is_guarded(telegram_sim, client) -> None:
    assert client.post("/simulator/telegram/process", data={"chat_id": "1"}).status_code == 415
    assert client.post("/simulator/telegram/process", json={"chat_id": 1},
                       environ_base=REMOTE).status_code == 403
    assert client.post("/simulator/telegram/process", json={"chat_id": "x"}).status_code == 400
    assert client.post("/simulator/telegram/process", json={"chat_id": 1}).get_json() == {"calls": []}
    telegram_sim.config["CHUMNUOY_SETTINGS"] = replace(telegram_sim.config["CHUMNUOY_SETTINGS"],
                                                       telegram_bot_token="123:real")
    page = client.get("/simulator").get_data(as_text=True)
    assert "TELEGRAM_BOT_TOKEN" in page and 'name="tg_input"' not in page
    assert client.post("/simulator/telegram/process", json={"chat_id": 1}).status_code == 409


def test_telegram_chat_refused_by_the_webhook_without_its_secret(telegram_sim, client) -> None:
    telegram_sim.config["CHUMNUOY_SETTINGS"] = replace(telegram_sim.config["CHUMNUOY_SETTINGS"],
                                                       telegram_webhook_secret="")
    chat = TelegramPage(client, "+85512000188")
    chat.send("/start")
    assert chat.transcript()[-1] == {"id": 2, "who": "note", "text": "HTTP 403"}
