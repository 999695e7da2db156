"""Address changes through the real webhooks: province → district → commune → village on SMS (generic
gateway and Twilio-signed) and Telegram with typed names, short lists and "not found"; on USSD the
province from a paged list, then the rest by SMS follow-up (same request completed) or an officer's
call. The change request carries codes and names, the registry's address as the old value, and the
officer sees both side by side; approving moves the household in the registry."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import select

from bot.budget import sms_segments
from chumnuoy.digits import to_khmer_digits
from tests.bot.conftest import P1, PUBLIC, TWILIO_TOKEN, SmsPhone, UssdPhone, make_app
from tests.telegram.conftest import bot_api, harness  # noqa: F401  (fixtures for the Telegram test)

P1_DOB = "12041996"


def change_requests(app):
    from portal.models.cases import ChangeRequest

    with app.extensions["db_sessionmaker"]() as session:
        return session.scalars(select(ChangeRequest).order_by(ChangeRequest.id)).all()


def outbox_to(app, address: str):
    from portal.models.cases import OutboxMessage

    with app.extensions["db_sessionmaker"]() as session:
        return session.scalars(select(OutboxMessage).where(OutboxMessage.address == address)).all()


def place(app, code: str):
    from portal.services import places

    with app.extensions["db_sessionmaker"]() as session:
        found = places.get(session, code)
        session.expunge_all()
        return found


def sms_to_address(phone: SmsPhone, language: str = "1") -> str:
    """New SMS phone: language, consent, verification, details menu, 'Address'."""
    phone.send("hello")
    phone.send(language)
    phone.send("1")
    phone.send("4")
    phone.send("2")
    phone.send(P1_DOB)
    return phone.send("2")


def test_sms_khmer_typed_names_typos_short_list_and_not_found(client, app) -> None:
    phone = SmsPhone(client, P1)
    provinces = sms_to_address(phone)
    assert "ខេត្ត/រាជធានីណា?" in provinces and "១ បន្ទាយមានជ័យ" in provinces
    not_found = phone.send("ឡុងដុង")  # no such province
    assert not_found.startswith("សូមទោស រកមិនឃើញឈ្មោះនេះទេ") and "ខេត្ត/រាជធានីណា?" in not_found
    districts = phone.send("ខេត្តកណ្ដាល")  # level word and coeng DA spelling: Kandal (08)
    assert districts.startswith("កណ្ដាល៖ ស្រុក/ខណ្ឌណា?") or districts.startswith("កណ្តាល៖ ស្រុក/ខណ្ឌណា?")
    communes = phone.send("ស្រុក ៣")  # a number within a typed name (Khmer digit)
    district = place(app, "0803")
    assert communes.startswith(f"{district.name_km}៖ ឃុំ/សង្កាត់ណា?")
    short = phone.send("ឃុំគំរូ")  # every commune matches: a numbered short list
    assert short.startswith("តើជាកន្លែងមួយណា?") and "១ ឃុំគំរូ ១" in short
    villages = phone.send("២")  # Khmer digit chooses from the short list
    assert "ឃុំគំរូ ២៖ ភូមិណា?" in villages
    done = phone.send("ភូមិគំរូ៣")  # no space, Khmer digit
    assert "អាសយដ្ឋានថ្មី៖ ភូមិគំរូ ៣, ឃុំគំរូ ២, ស្រុកគំរូ ៣, កណ្ដាល" in done.replace("កណ្តាល", "កណ្ដាល")
    assert "មន្ត្រី" in done
    (request,) = change_requests(app)
    assert request.change_type == "address" and request.status == "pending"
    assert {k: request.new_value[k] for k in ("province_code", "district_code", "commune_code",
                                               "village_code")} == {
        "province_code": "08", "district_code": "0803", "commune_code": "080302", "village_code": "08030203"}
    assert request.new_value["village"] == "ភូមិគំរូ ៣ (Synthetic Village 3)"
    assert request.new_value["gazetteer"].endswith("(synthetic)")
    assert request.old_value["province_code"] == "05"  # P1 lives in Kampong Speu (registry)
    assert request.old_value["province"] == "កំពង់ស្ពឺ (Kampong Speu)"
    assert (request.province_code, request.commune_code) == ("08", "080302")
    assert max(sms_segments(r) for r in phone.replies) <= 3


def test_sms_english_romanised_names_and_navigation(client, app) -> None:
    phone = SmsPhone(client, P1)
    provinces = sms_to_address(phone, language="2")
    assert "Which province?" in provinces
    short = phone.send("Kompong")  # four provinces start so
    assert short.startswith("Did you mean one of these?")
    assert "\n1 Kampong Cham\n2 Kampong Chhnang\n3 Kampong Speu\n4 Kampong Thom\n" in short
    retyped = phone.send("Kompong Chnang")  # typing again on the short list: romanised variant, typo
    assert retyped.startswith("Kampong Chhnang: which district?")
    back = phone.send("0")
    assert back.startswith("Did you mean one of these?")
    assert phone.send("0").startswith("Which province?")
    assert phone.send("Pnom Penh").startswith("Phnom Penh: which district?")
    assert phone.send("Khan 2").startswith("Synthetic Khan 2: which commune?")
    assert phone.send("Synthetic Sangkat 1").startswith("Synthetic Sangkat 1: which village?")
    assert "Sorry, we did not find" in phone.send("Paris")
    assert "1 Check eligibility" in phone.send("00")  # main menu, nothing stored
    assert change_requests(app) == []


def twilio(client, body: str, sid: str) -> str:
    from twilio.request_validator import RequestValidator

    form = {"MessageSid": sid, "From": P1, "To": "+15550001", "Body": body}
    path = "/channels/sms/twilio"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + path, form)
    response = client.post(path, data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200 and response.mimetype == "application/xml"
    import html
    import re

    found = re.search(r"<Message>(.*)</Message>", response.get_data(as_text=True), re.DOTALL)
    assert found, response.get_data(as_text=True)
    return html.unescape(found.group(1))


def test_twilio_signed_sms_address(client, app) -> None:
    inputs = ["hi", "1", "1", "4", "2", P1_DOB, "2", "Siem Reap", "1", "1"]
    replies = [twilio(client, text, f"SM{i:04d}") for i, text in enumerate(inputs)]
    assert replies[7].startswith("សៀមរាប៖ ស្រុក/ខណ្ឌណា?")
    assert replies[8].startswith("ស្រុកគំរូ ១៖ ឃុំ/សង្កាត់ណា?")
    assert replies[9].startswith("ឃុំគំរូ ១៖ ភូមិណា?")
    done = twilio(client, to_khmer_digits("2"), "SM0010")
    assert "ភូមិគំរូ ២, ឃុំគំរូ ១, ស្រុកគំរូ ១, សៀមរាប" in done
    (request,) = change_requests(app)
    assert request.new_value["village_code"] == "17010102"


def test_ussd_province_then_sms_followup_completes_the_same_request(client, app) -> None:
    phone = UssdPhone(client, P1)
    phone.dial()
    for key in ("1", "1", "4", "2", P1_DOB):
        phone.press(key)
    provinces = phone.press("2")
    assert "១ បន្ទាយមានជ័យ" in provinces and "៩៨" in provinces
    for _ in range(2):
        provinces = phone.press("98")
    end = phone.press("12")  # Phnom Penh, from its page
    assert end.startswith("END ") and "ផ្ញើសារ" in end and "មន្ត្រី" in end
    (request,) = change_requests(app)
    assert request.new_value["province_code"] == "12" and request.new_value["rest"]
    assert request.province_code == "12"
    (invite,) = outbox_to(app, P1)
    assert invite.channel == "sms" and "ភ្នំពេញ" in invite.text and "អាសយដ្ឋាន" in invite.text
    assert sms_segments(invite.text) == 1

    sms = SmsPhone(client, P1)
    sms.send("អាសយដ្ឋាន")  # first SMS from this phone: language and consent first
    sms.send("1")
    sms.send("1")
    assert "ថ្ងៃខែឆ្នាំកំណើត" in sms.send("អាសយដ្ឋាន")  # level 2 on SMS too
    districts = sms.send(P1_DOB)
    assert districts.startswith("ភ្នំពេញ៖ ស្រុក/ខណ្ឌណា?")  # resumed at the district
    sms.send("ខណ្ឌគំរូ ១")
    sms.send("សង្កាត់គំរូ ១")
    done = sms.send("១")
    assert "អាសយដ្ឋានថ្មី៖ ភូមិគំរូ ១, សង្កាត់គំរូ ១, ខណ្ឌគំរូ ១, ភ្នំពេញ" in done
    (completed,) = change_requests(app)  # the same request, completed
    assert completed.id == request.id and "rest" not in completed.new_value
    assert completed.new_value["village_code"] == "12010101" and completed.commune_code == "120101"


def test_ussd_address_keyword_without_pending_request_starts_at_the_province(client) -> None:
    sms = SmsPhone(client, P1)
    for text in ("hi", "2", "1"):
        sms.send(text)
    sms.send("ADDRESS")
    assert sms.send(P1_DOB).startswith("Which province?")


def test_telegram_address_typed_and_buttons(harness) -> None:  # noqa: F811
    user = harness.user(7101, "Sokha")
    user.start_in_english()
    user.press("More")
    user.press("Update my details")
    user.share_contact(P1.lstrip("+"))
    user.send(P1_DOB)
    provinces = user.press("Address")
    assert provinces.startswith("Which province?")
    assert len(user.buttons()) == 25 + 2  # every province as a button, then back and menu
    assert user.send("Batambang").startswith("Battambang: which district?")
    assert user.press("Synthetic District 2").startswith("Synthetic District 2: which commune?")
    assert user.send("Commune 1").startswith("Synthetic Commune 1: which village?")
    done = user.press("Synthetic Village 1")
    assert "New address: Synthetic Village 1, Synthetic Commune 1, Synthetic District 2, Battambang" in done
    with harness.sessions() as session:
        from portal.models.cases import ChangeRequest

        (request,) = session.scalars(select(ChangeRequest)).all()
        assert request.new_value["village_code"] == "02020101" and request.reply_channel == "telegram"


@pytest.fixture
def private_app(portal_database_url, new_database) -> Iterator:
    from tests.fixtures.registry import private_live_registry

    with private_live_registry(new_database("registry_address"), random_seed=7) as live:
        app, registry = make_app(portal_database_url, live)
        yield app, registry
        registry.inner.close()  # type: ignore[attr-defined]
        app.extensions["db_engine"].dispose()


def test_officer_sees_old_and_new_and_approval_moves_the_household(private_app) -> None:
    from portal.services import officers
    from tests.ui.conftest import PASSWORD, csrf_of, sign_in

    app, registry = private_app
    phone = SmsPhone(app.test_client(), P1)
    sms_to_address(phone, language="2")
    for text in ("Takeo", "1", "1", "1"):
        phone.send(text)
    (request,) = change_requests(app)
    with app.extensions["db_sessionmaker"]() as session:
        officers.create_officer(session, login="admin", name="Admin", password=PASSWORD, role="admin",
                                locale="en")
        session.commit()
    client = app.test_client()
    sign_in(client, "admin")
    page = client.get(f"/portal/changes/{request.id}").get_data(as_text=True)
    for key, old, new in (("province", "Kampong Speu", "Takeo"), ("village_code", "05", "21010101")):
        row = page.split(f"<th>{key}</th>", 1)[1].split("</tr>", 1)[0]
        assert old in row.split('class="new"')[0] and new in row.split('class="new"')[1]
    token = csrf_of(client, f"/portal/changes/{request.id}")
    client.post(f"/portal/changes/{request.id}/approve", data={"csrf_token": token})
    assert change_requests(app)[0].status == "approved"
    (person,) = registry.find_people("MOBILE", P1)
    assert (person.address.province_code, person.address.village_code) == ("21", "21010101")
    assert replace(person.address, line=None).commune_code == "210101"


def test_places_catalog_is_complete_in_khmer_and_english() -> None:
    import re

    from bot.journeys.details import PLACES_MSGIDS
    from bot.journeys.start import APPLY_MSGIDS
    from chumnuoy.i18n import catalog

    km, en = catalog("km"), catalog("en")
    for msgid in (*PLACES_MSGIDS, *APPLY_MSGIDS):
        assert km.get(msgid, "").strip() and en.get(msgid, "").strip(), msgid
        assert re.search("[\u1780-\u17ff]", km[msgid]), msgid  # real Khmer, not the English source
        placeholders = set(re.findall(r"{\w+}", msgid))
        assert set(re.findall(r"{\w+}", km[msgid])) == placeholders == set(re.findall(r"{\w+}", en[msgid]))
