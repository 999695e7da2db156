"""SMS through the real webhooks (generic gateway and Twilio), in Khmer, against the real services."""

from __future__ import annotations

from sqlalchemy import select
from twilio.request_validator import RequestValidator

from bot.budget import sms_segments
from tests.bot.conftest import P1, P2, P6, PUBLIC, SMS_KEY, TWILIO_TOKEN, SmsPhone, UssdPhone


def start_khmer(phone: SmsPhone) -> str:
    assert phone.send("សួស្តី") == "Chumnuoy\n1 ខ្មែរ\n2 English"
    assert "យល់ព្រម" in phone.send("1")
    return phone.send("១")  # Khmer digit


def identity(app, address: str):
    from portal.models.citizen import ChannelIdentity

    with app.extensions["db_sessionmaker"]() as session:
        return session.scalars(select(ChannelIdentity).where(ChannelIdentity.address == address,
                                                             ChannelIdentity.channel == "sms")).one()


def test_complaint_by_sms_with_description_and_status(client, app) -> None:
    from portal.models.cases import Grievance

    phone = SmsPhone(client, P6)
    menu = start_khmer(phone)
    assert "៣ ដាក់បណ្តឹង" in menu
    assert "មានបញ្ហាអ្វី?" in phone.send("3")
    assert "សរសេរ" in phone.send("1")
    ack = phone.send("ខ្ញុំមិនទាន់បានលុយខែនេះទេ")
    assert ack.startswith("បានទទួលបណ្តឹង")
    reference = next(word for word in ack.replace("។", " ").split() if word.isdigit() and len(word) == 8)
    with app.extensions["db_sessionmaker"]() as session:
        grievance = session.scalars(select(Grievance)).one()
        assert grievance.reference == reference and "លុយ" in grievance.description
        assert grievance.channel == "sms" and grievance.category == "non_payment"
    # status, from the menu, with the reference typed in Khmer digits
    phone.send("ម៉ឺនុយ")
    phone.send("4")
    assert "វាយលេខបណ្តឹង" in phone.send("1")
    status = phone.send(reference.translate(str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩")))
    assert reference in status and "ទទួល" in status


def test_free_text_goes_through_the_nlu(client) -> None:
    phone = SmsPhone(client, P6)
    start_khmer(phone)
    assert "មានបញ្ហាអ្វី?" in phone.send("ខ្ញុំចង់ដាក់បណ្តឹង")
    phone.send("ម៉ឺនុយ")
    assert "ពិនិត្យដោយរបៀបណា?" in phone.send("ខ្ញុំមានសិទ្ធិទេ")


def test_help_menu_keywords_and_legacy_font(client) -> None:
    phone = SmsPhone(client, P6)
    menu = start_khmer(phone)
    help_text = phone.send("ជំនួយ")
    assert "START" in help_text and "ម៉ឺនុយ" in help_text
    assert phone.send("MENU") == menu
    assert "យូនីកូដ" in phone.send("sYsþI Gñk")


def test_in_app_stop_stops_notifications_only(client, app) -> None:
    phone = SmsPhone(client, P6)
    menu = start_khmer(phone)
    stopped = phone.send("ឈប់")
    assert "ឈប់ផ្ញើដំណឹង" in stopped
    row = identity(app, P6)
    assert row.notifications_opted_out and not row.carrier_blocked
    assert phone.send("ម៉ឺនុយ") == menu  # replies continue


def twilio_post(client, path: str, form: dict[str, str], token: str = TWILIO_TOKEN, sign: bool = True):
    headers = {}
    if sign:
        headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(PUBLIC + path, form)
    return client.post(path, data=form, headers=headers)


def test_twilio_signature_required(client) -> None:
    form = {"MessageSid": "SM1", "From": P6, "To": "+15550001", "Body": "hello"}
    assert twilio_post(client, "/channels/sms/twilio", form, sign=False).status_code == 403
    assert twilio_post(client, "/channels/sms/twilio", form, token="wrong").status_code == 403
    tampered = dict(form)
    response = client.post("/channels/sms/twilio", data={**tampered, "Body": "other"}, headers={
        "X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(
            PUBLIC + "/channels/sms/twilio", form)})
    assert response.status_code == 403
    ok = twilio_post(client, "/channels/sms/twilio", form)
    assert ok.status_code == 200 and ok.mimetype == "application/xml"
    assert "<Message>Chumnuoy\n1 ខ្មែរ\n2 English</Message>" in ok.get_data(as_text=True)
    status = {"MessageSid": "SM9", "MessageStatus": "delivered", "To": P6}
    assert twilio_post(client, "/channels/sms/twilio/status", status, sign=False).status_code == 403
    assert twilio_post(client, "/channels/sms/twilio/status", status).status_code == 204


def test_twilio_dedup_by_message_sid(client, app) -> None:
    from portal.models.citizen import ConsentRecord

    for body in ("hi", "1"):
        twilio_post(client, "/channels/sms/twilio", {"MessageSid": f"SM-{body}", "From": P6, "Body": body})
    form = {"MessageSid": "SM-consent", "From": P6, "Body": "1"}
    first = twilio_post(client, "/channels/sms/twilio", form).get_data(as_text=True)
    again = twilio_post(client, "/channels/sms/twilio", form).get_data(as_text=True)
    assert "ពិនិត្យសិទ្ធិ" in first
    assert "<Message>" not in again  # a retried delivery gets no second reply and changes nothing
    with app.extensions["db_sessionmaker"]() as session:
        assert len(session.scalars(select(ConsentRecord)).all()) == 1


def test_gateway_dedup_and_key(client) -> None:
    phone = SmsPhone(client, P6)
    assert phone.send("hi", message_id="m-1") is not None
    assert phone.send("hi", message_id="m-1") is None
    assert client.post("/channels/sms/gateway", json={"from": P6, "text": "hi", "id": "x"}).status_code == 403
    form = client.post(f"/channels/sms/gateway?key={SMS_KEY}", data={"from": P6, "text": "1", "id": "m-2"})
    assert form.status_code == 200 and "យល់ព្រម" in form.get_json()["text"]


def test_carrier_stop_blocks_until_start(client, app) -> None:
    twilio_post(client, "/channels/sms/twilio", {"MessageSid": "S1", "From": P2, "Body": "hi"})
    stop = twilio_post(client, "/channels/sms/twilio", {"MessageSid": "S2", "From": P2, "Body": "STOP"})
    assert "<Message>" not in stop.get_data(as_text=True)
    assert identity(app, P2).carrier_blocked
    silent = twilio_post(client, "/channels/sms/twilio", {"MessageSid": "S3", "From": P2, "Body": "1"})
    assert "<Message>" not in silent.get_data(as_text=True)
    back = twilio_post(client, "/channels/sms/twilio", {"MessageSid": "S4", "From": P2, "Body": "START"})
    assert "<Message>" in back.get_data(as_text=True)
    assert not identity(app, P2).carrier_blocked


def test_status_callback_21610_marks_carrier_opt_out(client, app) -> None:
    SmsPhone(client, P1).send("hi")
    form = {"MessageSid": "SMx", "MessageStatus": "undelivered", "ErrorCode": "21610", "To": P1}
    assert twilio_post(client, "/channels/sms/twilio/status", form).status_code == 204
    assert identity(app, P1).carrier_blocked


def test_ussd_complaint_details_added_by_sms(client, app) -> None:
    from portal.models.cases import Grievance

    ussd = UssdPhone(client, P6)
    ussd.dial()
    ussd.press("1")
    ussd.press("1")
    ussd.press("3")
    reference = ussd.press("1").split()[2].rstrip("។")
    sms = SmsPhone(client, P6)
    sms.send("hi")
    sms.send("1")
    sms.send("1")
    reply = sms.send(f"{reference} អ្នកភូមិមិនទាន់បានលុយ")
    assert reference in reply
    with app.extensions["db_sessionmaker"]() as session:
        assert "អ្នកភូមិ" in session.scalars(select(Grievance)).one().description


def test_sms_verification_and_benefits_for_p2(client) -> None:
    phone = SmsPhone(client, P2)
    start_khmer(phone)
    ask = phone.send("2")
    wrong = phone.send("01/01/1950")
    assert ask != wrong and ("ផ្ទៀងផ្ទាត់" in wrong or "មិន" in wrong)
    benefits = phone.send("03/09/1958")  # separators accepted on SMS
    assert "ប្រាក់ឧបត្ថម្ភរបស់អ្នក" in benefits
    assert all(sms_segments(reply) <= 3 for reply in phone.replies)


def test_p6_on_sms_reads_like_a_registered_unverified_number(client) -> None:
    answers = {}
    for number in (P6, P1):
        phone = SmsPhone(client, number)
        start_khmer(phone)
        answers[number] = (phone.send("2"), phone.send("01011990"), phone.send("០២០២១៩៩១"))
    assert answers[P6] == answers[P1]
    assert answers[P1][0] != answers[P1][1]  # the failed check is said, identically for both
