"""Update my details (level 2) on USSD and SMS: change requests stored for an officer (E1's service)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.bot.conftest import P1, P8, SmsPhone, UssdPhone


def requests(app):
    from portal.models.cases import ChangeRequest

    with app.extensions["db_sessionmaker"]() as session:
        return session.scalars(select(ChangeRequest)).all()


@pytest.mark.parametrize("language", ["1", "2"], ids=["km", "en"])
def test_phone_change_on_ussd(client, app, language) -> None:
    phone = UssdPhone(client, P1)
    phone.dial()
    phone.press(language)
    phone.press("1")
    phone.press("4")
    phone.press("2")
    menu = phone.press("12041996")
    assert ("អ្វីបានផ្លាស់ប្តូរ?" if language == "1" else "What changed?") in menu
    assert phone.press("1").startswith("CON ")
    done = phone.press("០១២៣៤៥៦៧៨")
    assert done.startswith("END ")
    (request,) = requests(app)
    assert (request.change_type, request.new_value, request.status) == ("phone", "+85512345678", "pending")
    assert request.reply_channel == "sms" and request.reply_address == P1


def test_province_from_a_paged_list_on_ussd(client, app) -> None:
    phone = UssdPhone(client, P1)
    phone.dial()
    phone.press("1")
    phone.press("1")
    phone.press("4")
    phone.press("2")
    phone.press("12041996")
    provinces = phone.press("2")
    assert "១ បន្ទាយមានជ័យ" in provinces
    for _ in range(2):
        provinces = phone.press("98")
    assert "បាត់ដំបង" not in provinces
    end = phone.press("12")  # Phnom Penh
    assert end.startswith("END ") and "មន្ត្រី" in end
    (request,) = requests(app)
    assert request.change_type == "address" and request.new_value["province_code"] == "12"


def test_member_moved_out_on_shared_phone_by_sms(client, app) -> None:
    phone = SmsPhone(client, P8)
    phone.send("hi")
    phone.send("1")
    phone.send("1")
    phone.send("4")
    phone.send("2")
    phone.send("1986")  # LONG Vichet (born 1986) on the shared phone
    menu = phone.send("15031986")
    assert "ឡុង វិចិត្រ" in menu and "អ្វីបានផ្លាស់ប្តូរ?" in menu
    assert "មានអ្វីកើតឡើង?" in phone.send("3")
    who = phone.send("3")
    assert "ឈឹម សុភាព" in who
    done = phone.send("1")
    assert "មន្ត្រី" in done
    (request,) = requests(app)
    assert request.change_type == "member_moved_out" and request.person_spid != ""
