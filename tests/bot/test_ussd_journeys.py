"""USSD journeys through the real webhook, in Khmer, against the real services and the live sandbox."""

from __future__ import annotations

from sqlalchemy import select

from bot.budget import ussd_fits
from tests.bot.conftest import P1, P6, P8, USSD_KEY, UssdPhone


def first_contact_khmer(phone: UssdPhone) -> str:
    screen = phone.dial()
    assert screen == "CON Chumnuoy\n1 ខ្មែរ\n2 English"
    consent = phone.press("1")
    assert "យើងប្រើលេខទូរស័ព្ទ" in consent and "១ យល់ព្រម" in consent
    return phone.press("1")


def test_first_contact_language_consent_menu_without_registry(client, registry, app) -> None:
    phone = UssdPhone(client, P1)
    menu = first_contact_khmer(phone)
    assert menu == "CON ១ ពិនិត្យសិទ្ធិ\n២ ប្រាក់ឧបត្ថម្ភរបស់ខ្ញុំ\n៣ ដាក់បណ្តឹង\n៤ ផ្សេងទៀត"
    assert registry.calls == []  # lazy identity: language, consent and menu never call the registry
    from portal.models.citizen import ConsentRecord

    with app.extensions["db_sessionmaker"]() as session:
        consent = session.scalars(select(ConsentRecord)).one()
        assert (consent.channel, consent.address, consent.locale) == ("ussd", P1, "km")
    # the next session remembers language and consent: straight to the menu
    again = phone.new_session()
    assert again.dial() == menu
    assert registry.calls == []


def test_english_first_contact_is_plain_gsm(client) -> None:
    phone = UssdPhone(client, P6)
    phone.dial()
    consent = phone.press("2")
    assert consent == "CON We use your phone number and registry data only to help you.\n1 I agree\n2 No"
    menu = phone.press("1")
    assert menu.startswith("CON 1 Check eligibility\n2 My benefits and payments\n3 Make a complaint\n4 More")


def test_declining_consent_ends_and_asks_again_next_time(client) -> None:
    phone = UssdPhone(client, P6)
    phone.dial()
    phone.press("1")
    assert phone.press("2").startswith("END ")
    assert "យល់ព្រម" in phone.new_session().dial()


def test_complaint_on_ussd_is_stored_before_the_acknowledgement(client, app) -> None:
    from portal.models.cases import Grievance, OutboxMessage

    phone = UssdPhone(client, P6)
    first_contact_khmer(phone)
    categories = phone.press("3")
    assert "មានបញ្ហាអ្វី?" in categories and "១ មិនទាន់ទទួលបានប្រាក់" in categories
    end = phone.press("1")
    assert end.startswith("END បានទទួលបណ្តឹង ")
    reference = end.split()[2].rstrip("។")
    assert len(reference) == 8 and reference.isdigit()
    with app.extensions["db_sessionmaker"]() as session:
        grievance = session.scalars(select(Grievance)).one()
        assert grievance.reference == reference
        assert (grievance.category, grievance.channel) == ("non_payment", "ussd")
        sms = session.scalars(select(OutboxMessage).where(OutboxMessage.address == P6)).all()
        assert any(reference in m.text for m in sms)  # E1 also sends the acknowledgement by SMS


def test_misconduct_may_be_anonymous(client, app) -> None:
    from portal.models.cases import Grievance

    phone = UssdPhone(client, P1)
    first_contact_khmer(phone)
    phone.press("3")
    screen = ""
    for _ in range(10):  # page through the categories to misconduct (option 8)
        if "៨ " in screen:
            break
        screen = phone.press("98")
    assert "៨ " in screen
    anonymity = phone.press("8")
    assert "លាក់ឈ្មោះ" in anonymity
    assert phone.press("1").startswith("END ")
    with app.extensions["db_sessionmaker"]() as session:
        grievance = session.scalars(select(Grievance)).one()
        assert grievance.category == "misconduct" and grievance.anonymous and grievance.identity_id is None


def test_status_by_reference_level0_and_typo(client) -> None:
    phone = UssdPhone(client, P6)
    first_contact_khmer(phone)
    phone.press("3")
    reference = phone.press("2").split()[2].rstrip("។")
    other = UssdPhone(client, P1)
    first_contact_khmer(other)
    other.press("4")
    assert "វាយលេខបណ្តឹង" in other.press("1")
    typo = reference[:-1] + str((int(reference[-1]) + 1) % 10)
    wrong = other.press(typo)
    assert wrong.startswith("CON ") and "វាយលេខបណ្តឹង" in wrong
    khmer_digits = reference.translate(str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩"))
    status = other.press(khmer_digits)
    assert status.startswith("END ") and reference in status and "ទទួល" in status


def test_navigation_back_menu_and_free_input(client) -> None:
    phone = UssdPhone(client, P6)
    menu = first_contact_khmer(phone)
    more = phone.press("4")
    assert "ស្ថានភាពបណ្តឹង" in more
    assert phone.press("0") == menu
    phone.press("4")
    phone.press("1")  # free-input screen (reference)
    assert phone.press("00") == menu
    phone.press("4")
    status_prompt = phone.press("1")
    # "98" on a free-input screen is input, not "next page"
    assert "វាយលេខបណ្តឹង" in phone.press("98")
    assert phone.press("0") == more or "ស្ថានភាពបណ្តឹង" in phone.screens[-1]
    assert status_prompt


def test_verification_p6_answers_like_a_registered_number(client) -> None:
    """P6 (not in the registry) and P1 (registered, not verified) see the same words."""
    seen = {}
    for number in (P6, P1):
        phone = UssdPhone(client, number)
        first_contact_khmer(phone)
        ask = phone.press("2")
        wrong = phone.press("01011990")
        seen[number] = (ask, wrong)
    assert seen[P6] == seen[P1]
    assert "ថ្ងៃខែឆ្នាំកំណើត" in seen[P1][0] or "DDMMYYYY" in seen[P1][0]


def test_p1_benefits_after_date_of_birth(client, registry) -> None:
    phone = UssdPhone(client, P1)
    first_contact_khmer(phone)
    phone.press("2")
    assert registry.calls  # the first registry call comes with the personal feature
    benefits = phone.press("១២០៤១៩៩៦")  # Khmer digits accepted
    assert benefits.startswith("CON ")
    assert "ប្រាក់ឧបត្ថម្ភរបស់អ្នក" in benefits
    listing = phone.press("98")
    assert "២ ឧបត្ថម្ភសាច់ប្រាក់ស្ត្រីមានផ្ទៃពោះ" in listing and "៨០,០០០ ៛" in listing
    payments = phone.press("2")  # the recent payments, one per line, paged
    assert payments.startswith("CON ការបើកប្រាក់៖") and "៨០,០០០ ៛" in payments and "២០២៦" in payments
    detail = phone.press("1")
    assert detail.startswith("END ") and "៨០,០០០ ៛" in detail


def test_p8_shared_phone_asks_which_person(client) -> None:
    phone = UssdPhone(client, P8)
    first_contact_khmer(phone)
    choose = phone.press("2")
    ask_dob = phone.press("1988")
    assert choose != ask_dob and ask_dob.startswith("CON ")
    assert phone.press("07071988").startswith("CON ")  # verified as CHHIM Sopheap: her benefits list


def test_registry_eligibility_for_p7_says_card_expired(client) -> None:
    phone = UssdPhone(client, "+85512000107")
    first_contact_khmer(phone)
    assert "ប្រើព័ត៌មានចុះបញ្ជីរបស់ខ្ញុំ" in phone.press("1")
    phone.press("2")
    results = phone.press("14021970")
    assert "១ អត្តសញ្ញាណកម្មគ្រួសារក្រីក្រ (ប័ណ្ណសមធម៌): គ្មានសិទ្ធិ" in results
    reason = phone.press("1")
    assert reason == "CON ប័ណ្ណសមធម៌របស់អ្នកផុតកំណត់នៅ ៣០ មិថុនា ២០២៥។\n១ ខ្ញុំអាចធ្វើអ្វីបាន?"


def test_questionnaire_eligibility_at_level0(client, registry) -> None:
    phone = UssdPhone(client, P6)
    first_contact_khmer(phone)
    phone.press("1")
    assert "ប័ណ្ណសមធម៌" in phone.press("1")
    for key in ("1", "1", "2", "2", "2", "2", "2"):
        screen = phone.press(key)
    assert "១ អត្តសញ្ញាណកម្មគ្រួសារក្រីក្រ (ប័ណ្ណសមធម៌): បានចុះឈ្មោះ" in screen  # Equity Card level 1
    second = phone.press("98")
    assert "២ " in second and "ប្រហែល" in second  # pregnant + card: indicative "maybe"
    reason = phone.press("2")
    assert reason.startswith("END ") and len(reason) > 10
    assert registry.calls == []


def test_dropped_session_resumes(client) -> None:
    phone = UssdPhone(client, P6)
    first_contact_khmer(phone)
    phone.press("4")
    categories_or_more = phone.press("1")  # status prompt, then the network drops the session
    again = phone.new_session()
    resume = again.dial()
    assert "បន្តពីកន្លែងដែលឈប់?" in resume
    assert again.press("1") == categories_or_more


def test_gateway_key_and_ip_allow_list(client, app) -> None:
    form = {"sessionId": "x", "serviceCode": "*1#", "phoneNumber": P6, "networkCode": "1", "text": ""}
    assert client.post("/channels/ussd", data=form).status_code == 403
    assert client.post("/channels/ussd?key=wrong", data=form).status_code == 403
    assert client.post("/channels/ussd", data=form, headers={"X-Gateway-Key": USSD_KEY}).status_code == 200
    from dataclasses import replace

    settings = app.config["CHUMNUOY_SETTINGS"]
    app.config["CHUMNUOY_SETTINGS"] = replace(settings, ussd_allowed_ips="10.0.0.0/8")
    assert client.post(f"/channels/ussd?key={USSD_KEY}", data=form).status_code == 403
    app.config["CHUMNUOY_SETTINGS"] = replace(settings, ussd_allowed_ips="127.0.0.1")
    assert client.post(f"/channels/ussd?key={USSD_KEY}", data=form).status_code == 200
    app.config["CHUMNUOY_SETTINGS"] = replace(settings, ussd_gateway_key="")
    assert client.post("/channels/ussd?key=", data=form).status_code == 403  # fail closed


def test_every_screen_seen_fits_the_budget(client) -> None:
    phone = UssdPhone(client, P1)
    first_contact_khmer(phone)
    for key in ("4", "98", "0", "3", "98", "98", "98", "0", "00"):
        phone.press(key)
    for screen in phone.screens:
        assert ussd_fits(screen[4:]), screen
