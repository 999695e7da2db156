"""How to apply (SPEC §4) for the citizen's own commune: from the registry address when the phone is
linked (level 1/2), else the generic text plus, on SMS and Telegram, a lookup of the commune. Level 0
never reaches the registry."""

from __future__ import annotations

from bot.budget import sms_segments, ussd_fits
from tests.bot.conftest import P1, SmsPhone, UssdPhone
from tests.telegram.conftest import bot_api, harness  # noqa: F401  (fixtures for the Telegram test)

UNKNOWN = "+85512000555"


def places_of(app, *codes: str):
    from portal.services import places

    with app.extensions["db_sessionmaker"]() as session:
        found = [places.get(session, code) for code in codes]
        session.expunge_all()
        return found


def test_level0_ussd_generic_text_and_no_registry_call(client, registry) -> None:
    phone = UssdPhone(client, UNKNOWN)
    phone.dial()
    phone.press("1")
    phone.press("1")
    phone.press("4")
    end = phone.press("3")
    assert end == "END ទៅសាលាឃុំ/សង្កាត់។ សុំការកំណត់អត្តសញ្ញាណគ្រួសារក្រីក្រ តាមការស្នើសុំ។"
    assert registry.calls == []


def test_level0_sms_lookup_of_a_commune(client, app, registry) -> None:
    phone = SmsPhone(client, UNKNOWN)
    for text in ("hi", "1", "1", "4"):
        phone.send(text)
    generic = phone.send("3")
    assert generic.startswith("ទៅសាលាឃុំ/សង្កាត់។") and "១ រកការិយាល័យឃុំរបស់ខ្ញុំ" in generic
    assert phone.send("១").startswith("ខេត្ត/រាជធានីណា?")
    assert phone.send("តាកែវ").startswith("តាកែវ៖ ស្រុក/ខណ្ឌណា?")
    assert phone.send("1").startswith("ស្រុកគំរូ ១៖ ឃុំ/សង្កាត់ណា?")
    answer = phone.send("ឃុំគំរូ ២")
    assert answer == ("សុំប័ណ្ណសមធម៌ តាមការស្នើសុំ៖ សួរក្រុមប្រឹក្សាឃុំគំរូ ២ ឬមេភូមិ។\n"
                      "ជំនួយបន្ថែម៖ ការិយាល័យសង្គមកិច្ចស្រុកគំរូ ១។")
    assert sms_segments(answer) <= 2
    assert registry.calls == []  # level 0: the registry is never asked


def test_level0_english_typed_commune_via_nlu_route(client) -> None:
    phone = SmsPhone(client, UNKNOWN)
    for text in ("hi", "2", "1"):
        phone.send(text)
    generic = phone.send("how do I apply")
    assert generic.startswith("Go to your commune office.") and "1 Find the office for my commune" in generic
    phone.send("1")
    phone.send("Phnom Penh")
    phone.send("Khan 1")
    answer = phone.send("Sangkat 2")
    assert answer == ("IDPoor on demand: ask the Synthetic Sangkat 2 council or your village chief.\n"
                      "More help: Synthetic Khan 1 social affairs office.")


def test_linked_phone_gets_its_own_commune_on_ussd_and_sms(client, app, registry) -> None:
    (person,) = registry.inner.find_people("MOBILE", P1)
    commune, district = places_of(app, person.address.commune_code, person.address.commune_code[:4])
    first = UssdPhone(client, P1)
    first.dial()
    for key in ("1", "1", "4", "2", "12041996"):  # verified once: the phone is linked (level 1 later)
        first.press(key)
    second = first.new_session()
    assert "បន្ត" in second.dial()  # "continue where you stopped?"
    second.press("2")
    second.press("4")
    end = second.press("3")
    assert end.startswith("END ") and ussd_fits(end[4:])
    assert f"ក្រុមប្រឹក្សា{commune.name_km}" in end  # level 1 on a new USSD session
    sms = SmsPhone(client, P1)  # identities are per channel: this one links by verifying on SMS
    for text in ("hi", "2", "1", "2", "12041996", "00", "4"):
        sms.send(text)
    reply = sms.send("3")
    assert reply == (f"IDPoor on demand: ask the {commune.name_en} council or your village chief.\n"
                     f"More help: {district.name_en} social affairs office.")


def test_telegram_lookup_with_buttons(harness) -> None:  # noqa: F811
    user = harness.user(7201, "Dara")
    user.start_in_english()
    user.press("More")
    generic = user.press("How to apply")
    assert generic.startswith("Go to your commune office.")
    user.press("Find the office for my commune")
    user.press("Kampot")
    user.press("Synthetic District 1")
    answer = user.press("Synthetic Commune 1")
    assert "Synthetic Commune 1 council" in answer and "Synthetic District 1 social affairs office" in answer
    assert harness.registry.calls == []
