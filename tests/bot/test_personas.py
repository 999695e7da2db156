"""The issue's personas end to end over HTTP, on USSD and on SMS (SPEC §4, §5, sandbox personas)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select, text

from tests.bot.conftest import P1, P2, P5, P6, P7, P8, SMS_KEY, SmsPhone, UssdPhone

KHMER_TO_ASCII = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")
PERSONA_NAMES = ("ចាន់", "សុខា", "CHAN", "Sokha", "ឡុង", "វិចិត្រ", "ឈឹម", "សុភាព", "LONG", "CHHIM",
                 "ហេង", "រតនា", "HENG", "១៩៩៦", "1996", "100000")


def ussd_khmer(client, number: str) -> UssdPhone:
    phone = UssdPhone(client, number)
    phone.dial()
    phone.press("1")
    phone.press("1")
    return phone


def sms_khmer(client, number: str) -> SmsPhone:
    phone = SmsPhone(client, number)
    phone.send("សួស្តី")
    phone.send("1")
    phone.send("1")
    return phone


def page_through(send, first: str, limit: int = 8) -> list[str]:
    """Every page of a paged list (`98` until it wraps back to the first page)."""
    pages = [first]
    for _ in range(limit):
        page = send("98")
        if page == first:
            break
        pages.append(page)
    return pages


def option_number(screen: str, words: str) -> str:
    """The (ASCII) number of the option whose label contains `words`."""
    body = screen[4:] if screen.startswith(("CON ", "END ")) else screen
    line = next(line for line in body.split("\n") if words in line)
    return line.split()[0].translate(KHMER_TO_ASCII)


def reference_in(reply: str) -> str:
    words = reply.translate(KHMER_TO_ASCII).replace("។", " ").split()
    return next(word for word in words if word.isdigit() and len(word) == 8)


def committed_grievances(app) -> list[tuple[str, str, str]]:
    """Read through a separate engine: only what was committed is visible."""
    engine = create_engine(app.config["CHUMNUOY_SETTINGS"].database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(
                text("SELECT reference, category, channel FROM grievances"))]
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------------------ P1

def assert_p1_payments(pages: list[str]) -> None:
    body = "\n".join(pages)
    assert "១៥ កញ្ញា ២០២៦ ៨០,០០០ ៛ បានបើកប្រាក់" in body
    assert "២០ តុលា ២០២៦ ៨០,០០០ ៛ បានបើកប្រាក់" in body
    assert body.count("៨០,០០០ ៛ បានបើកប្រាក់") == 2
    assert "៨០,០០០ ៛ កំពុងរង់ចាំ" in body  # the third antenatal payment
    assert "80,000" not in body and "80000" not in body  # Khmer digits in Khmer text


def test_p1_sees_two_paid_antenatal_payments_and_the_pending_one_on_ussd(client) -> None:
    phone = ussd_khmer(client, P1)
    assert "ថ្ងៃខែឆ្នាំកំណើត" in phone.press("2")
    benefits = phone.press("១២០៤១៩៩៦")
    maternal = next(page for page in page_through(phone.press, benefits) if "ស្ត្រីមានផ្ទៃពោះ" in page)
    number = option_number(maternal, "ស្ត្រីមានផ្ទៃពោះ")
    payments = phone.press(number)
    assert payments.startswith("CON ការបើកប្រាក់៖")
    pages = page_through(phone.press, payments)
    assert_p1_payments(pages)
    detail = phone.press("2")
    assert detail.startswith("END ") and "៨០,០០០ ៛" in detail and "ទទួលនៅ" in detail


def test_p1_sees_her_payments_by_sms(client) -> None:
    phone = sms_khmer(client, P1)
    phone.send("2")
    benefits = phone.send("12-04-1996")
    maternal = next(page for page in page_through(phone.send, benefits) if "ស្ត្រីមានផ្ទៃពោះ" in page)
    number = option_number(maternal, "ស្ត្រីមានផ្ទៃពោះ")
    payments = phone.send(number)
    assert payments.startswith("ការបើកប្រាក់៖")
    assert_p1_payments(page_through(phone.send, payments))


# ------------------------------------------------------------------------------------------ P2

def test_p2_non_payment_complaint_on_ussd_is_committed_before_the_acknowledgement(client, app) -> None:
    phone = ussd_khmer(client, P2)
    assert "១ មិនទាន់ទទួលបានប្រាក់" in phone.press("3")
    ack = phone.press("1")
    assert ack.startswith("END បានទទួលបណ្តឹង ")
    reference = reference_in(ack)
    assert committed_grievances(app) == [(reference, "non_payment", "ussd")]


def test_p2_non_payment_complaint_by_sms_is_committed_before_the_acknowledgement(client, app) -> None:
    phone = sms_khmer(client, P2)
    phone.send("3")
    phone.send("1")
    ack = phone.send("ខែតុលាខ្ញុំមិនបានលុយទេ")
    assert ack.startswith("បានទទួលបណ្តឹង")
    reference = reference_in(ack)
    assert committed_grievances(app) == [(reference, "non_payment", "sms")]


# ------------------------------------------------------------------------------------------ P6

QUESTIONNAIRE_NO_CARD = ("2", "1", "2", "2", "2", "2", "2", "2")
"""Eligibility → questions: no … card? "No" (4th), then yes/no answers."""


@pytest.mark.parametrize("channel", ["ussd", "sms"])
def test_p6_questionnaire_and_complaint_but_no_personal_data(client, app, registry, channel) -> None:
    phone = ussd_khmer(client, P6) if channel == "ussd" else sms_khmer(client, P6)
    send = phone.press if channel == "ussd" else phone.send
    send("1")
    assert "ប័ណ្ណសមធម៌" in send("1")
    send("4")  # no Equity Card
    for key in ("1", "2", "2", "2", "2", "2"):  # pregnant or a child under 2; then no
        results = send(key)
    assert "អត្តសញ្ញាណកម្មគ្រួសារក្រីក្រ (ប័ណ្ណសមធម៌): " in results  # one line per programme
    assert registry.calls == []  # the questionnaire never reads the registry
    send("00")
    send("3")
    ack = send("1") if channel == "ussd" else (send("1"), send("មិនទាន់បានលុយ"))[1]
    assert "បានទទួលបណ្តឹង" in ack
    # personal features: any date of birth, even a real persona's, shows nothing personal
    send("00")
    send("2")
    refused = send("12041996")
    assert "ប្រាក់ឧបត្ថម្ភរបស់អ្នក" not in refused and "មិនអាចផ្ទៀងផ្ទាត់" in refused
    seen = phone.screens if channel == "ussd" else phone.replies
    assert not [s for s in seen if any(name in s for name in PERSONA_NAMES)]
    assert [(c, ch) for _, c, ch in committed_grievances(app)] == [("non_payment", channel)]


# ------------------------------------------------------------------------------------------ P7

def test_p7_told_why_and_how_to_request_on_demand_idpoor_on_ussd(client) -> None:
    phone = ussd_khmer(client, P7)
    phone.press("1")
    phone.press("2")
    results = phone.press("14021970")
    assert "១ អត្តសញ្ញាណកម្មគ្រួសារក្រីក្រ (ប័ណ្ណសមធម៌): គ្មានសិទ្ធិ" in results
    reason = phone.press("1")
    assert reason.startswith("CON ប័ណ្ណសមធម៌របស់អ្នកផុតកំណត់នៅ ៣០ មិថុនា ២០២៥។")
    assert "១ ខ្ញុំអាចធ្វើអ្វីបាន?" in reason
    guidance = phone.press("1")
    assert guidance.startswith("END ") and "តាមការស្នើសុំ" in guidance  # On-Demand IDPoor


def test_p7_told_why_and_how_by_sms(client) -> None:
    phone = sms_khmer(client, P7)
    phone.send("1")
    phone.send("2")
    phone.send("14/02/1970")
    reason = phone.send("1")
    assert "ផុតកំណត់នៅ ៣០ មិថុនា ២០២៥" in reason and "តាមការស្នើសុំ" in reason


# ------------------------------------------------------------------------------------------ P8

@pytest.mark.parametrize("channel", ["ussd", "sms"])
def test_p8_asked_which_person_before_anything_personal(client, channel) -> None:
    phone = ussd_khmer(client, P8) if channel == "ussd" else sms_khmer(client, P8)
    send = phone.press if channel == "ussd" else phone.send
    which = send("2")
    assert "ច្រើននាក់" in which and "ថ្ងៃខែឆ្នាំកំណើត" not in which
    assert not any(name in which for name in PERSONA_NAMES)
    ask_dob = send("1986")
    assert "ថ្ងៃខែឆ្នាំកំណើត" in ask_dob and not any(name in ask_dob for name in PERSONA_NAMES)
    assert "មិនអាចផ្ទៀងផ្ទាត់" in send("07071988")  # his wife's date of birth is not his
    assert "ប្រាក់ឧបត្ថម្ភរបស់អ្នក" in send("15031986")


# ------------------------------------------------------------------------------------------ lock

def lock_rows(app) -> list[tuple[str, int]]:
    from portal.models.citizen import VerificationLock

    with app.extensions["db_sessionmaker"]() as session:
        return [(lock.person_spid, lock.failed_count) for lock in session.scalars(select(VerificationLock))]


def test_five_wrong_dates_of_birth_lock_the_person_on_ussd(client, app) -> None:
    phone = ussd_khmer(client, P5)
    phone.press("2")
    screens = [phone.press(wrong) for wrong in ("01011990", "02011990", "03011990", "04011990", "05011990")]
    assert all("មិនអាចផ្ទៀងផ្ទាត់" in s for s in screens[:4])
    assert screens[4].startswith("END ") and "២៤ម៉ោង" in screens[4]
    assert [count for _, count in lock_rows(app)] == [5]
    again = phone.new_session()
    assert again.dial().startswith("CON ១ ពិនិត្យសិទ្ធិ")  # the locked session ended: no resume offered
    again.press("2")
    locked = again.press("05111979")  # even the right date of birth while locked
    assert locked.startswith("END ") and "២៤ម៉ោង" in locked


def test_five_wrong_dates_of_birth_lock_the_person_by_sms(client) -> None:
    phone = sms_khmer(client, P5)
    phone.send("2")
    replies = [phone.send(f"0{day}011990") for day in range(1, 6)]
    assert "២៤ម៉ោង" in replies[4] and "២៤ម៉ោង" not in replies[3]
    phone.send("ម៉ឺនុយ")
    phone.send("2")
    assert "២៤ម៉ោង" in phone.send("05/11/1979")


# ------------------------------------------------------------------------------------------ English

def test_english_after_a_language_switch_on_ussd(client) -> None:
    phone = ussd_khmer(client, P1)
    assert "៤ និយាយជាមួយមន្ត្រី" in phone.press("4")
    assert "៥ ភាសា" in phone.press("98")
    assert phone.press("5") == "CON Chumnuoy\n1 ខ្មែរ\n2 English"
    menu = phone.press("2")
    assert menu == ("CON Language saved.\n1 Check eligibility\n2 My benefits and payments\n"
                    "3 Make a complaint\n4 More")
    again = phone.new_session()
    assert again.dial().startswith("CON 1 Check eligibility")  # remembered
    assert "date of birth" in again.press("2").lower()


def test_english_after_a_language_switch_by_sms(client) -> None:
    phone = sms_khmer(client, P2)
    assert phone.send("LANGUAGE") == "Chumnuoy\n1 ខ្មែរ\n2 English"
    assert phone.send("2").startswith("Language saved.\n1 Check eligibility")
    assert "What is the problem?" in phone.send("3")
    phone.send("1")
    assert phone.send("No money since October").startswith("Complaint")


# ------------------------------------------------------------------------------------------ dedup

def test_a_repeated_message_id_lodges_one_complaint(client, app) -> None:
    phone = sms_khmer(client, P2)
    phone.send("3")
    phone.send("1")
    message = {"from": P2, "to": "1234", "text": "ខ្ញុំមិនទាន់បានលុយ", "id": "agg-777"}
    first = client.post(f"/channels/sms/gateway?key={SMS_KEY}", json=message)
    repeat = client.post(f"/channels/sms/gateway?key={SMS_KEY}", json=message)
    assert first.status_code == 200 and "បានទទួលបណ្តឹង" in first.get_json()["text"]
    assert repeat.status_code == 204
    assert len(committed_grievances(app)) == 1


# ------------------------------------------------------------------------------------------ mine

@pytest.mark.parametrize("channel", ["ussd", "sms"])
def test_my_complaints_at_level_2(client, channel) -> None:
    phone = ussd_khmer(client, P2) if channel == "ussd" else sms_khmer(client, P2)
    send = phone.press if channel == "ussd" else phone.send
    send("3")
    ack = send("1") if channel == "ussd" else (send("1"), send("មិនទាន់បានលុយខែតុលា"))[1]
    reference = reference_in(ack)
    if channel == "ussd":
        phone = phone.new_session()
        phone.dial()
        send = phone.press
    else:
        send("ម៉ឺនុយ")
    send("4")
    assert "៧ បណ្តឹងរបស់ខ្ញុំ" in send("98")
    assert "ថ្ងៃខែឆ្នាំកំណើត" in send("7")  # personal: verified first
    mine = send("03091958")
    assert mine.startswith(("CON បណ្តឹងរបស់អ្នក៖", "បណ្តឹងរបស់អ្នក៖"))
    khmer_reference = reference.translate(str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩"))
    assert f"១ {khmer_reference}" in mine
    status = send("1")
    assert reference in status.translate(KHMER_TO_ASCII) and "ទទួល" in status


def test_my_complaints_empty(client) -> None:
    phone = ussd_khmer(client, P7)
    phone.press("4")
    phone.press("98")
    phone.press("7")
    assert phone.press("14021970") == "END អ្នកមិនមានបណ្តឹងជាមួយយើងទេ។"
