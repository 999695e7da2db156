"""Rate limits over HTTP (SPEC §5, §14): per channel address (SMS and USSD floods are slowed with one
polite answer in the sender's language), per target person (five wrong dates of birth lock the person
for 24 hours, even with the right date after; one-time codes for one person are capped whoever asks),
per officer login (sign-in refused with 429 past five attempts, even with the right password)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.abuse import FLOOD_LIMITS, MSG_FLOOD
from chumnuoy.i18n import translate
from portal.services.identity import MSG_CODE_REQUESTED, MSG_LOCKED, MSG_NOT_MATCHED
from tests.bot.conftest import P1, SmsPhone, UssdPhone
from tests.security.conftest import ADMIN_LOGIN, ADMIN_PASSWORD, SMS_KEY

MID_WINDOW = datetime(2026, 11, 25, 3, 5, tzinfo=UTC)
"""Flood counters use fixed 10-minute windows: the tests pin the clock mid-window so a window ending
during a test cannot reset the count."""


def pin_clock(app) -> None:  # type: ignore[no-untyped-def]
    app.config["CHUMNUOY_CLOCK"] = lambda: MID_WINDOW


def test_sms_flood_from_one_phone_gets_one_polite_answer_then_silence(web) -> None:
    pin_clock(web.app)
    limit = FLOOD_LIMITS["sms"][0]
    flooder, other = SmsPhone(web.client, "+85512300001"), SmsPhone(web.client, "+85512300002")
    flooder.send("hi")
    flooder.send("2")  # English
    for _ in range(limit - 2):
        assert flooder.send("hello") is not None
    refused = web.client.post(f"/channels/sms/gateway?key={SMS_KEY}",
                              json={"from": flooder.phone, "text": "hello", "id": "flood-1"})
    assert refused.status_code == 200 and refused.get_json()["text"] == translate("en", MSG_FLOOD)
    for n in range(3):  # no paid SMS for every further one
        again = web.client.post(f"/channels/sms/gateway?key={SMS_KEY}",
                                json={"from": flooder.phone, "text": "hello", "id": f"flood-{n + 2}"})
        assert again.status_code == 204
    assert other.send("hello") is not None  # another phone is not slowed


def test_sms_flood_limit_with_redis_counters(portal_database_url, live_registry, redis_url) -> None:
    """With REDIS_URL the counters live in Redis (several web processes share them)."""
    from tests.security.conftest import build_app

    app, registry = build_app(portal_database_url, live_registry, redis_url=redis_url)
    try:
        pin_clock(app)
        client = app.test_client()
        replies = [client.post(f"/channels/sms/gateway?key={SMS_KEY}",
                               json={"from": "+85512300006", "text": "hi", "id": f"r{n}"})
                   for n in range(FLOOD_LIMITS["sms"][0] + 2)]
        assert [r.status_code for r in replies[-2:]] == [200, 204]
        assert replies[-2].get_json()["text"] == translate("km", MSG_FLOOD)
        import redis

        assert list(redis.Redis.from_url(redis_url).scan_iter("chumnuoy:rl:flood:*"))
    finally:
        registry.inner.close()  # type: ignore[attr-defined]
        app.extensions["db_engine"].dispose()


def test_twilio_flood_answers_in_khmer_once(web) -> None:
    from twilio.request_validator import RequestValidator

    from tests.security.conftest import PUBLIC, TWILIO_TOKEN

    def send(sid: str) -> str:
        form = {"MessageSid": sid, "From": "+85512300003", "To": "+1555", "Body": "សួស្តី"}
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + "/channels/sms/twilio", form)
        response = web.client.post("/channels/sms/twilio", data=form,
                                   headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200
        return response.get_data(as_text=True)

    pin_clock(web.app)
    replies = [send(f"SMflood{n}") for n in range(FLOOD_LIMITS["sms"][0] + 3)]
    assert translate("km", MSG_FLOOD) in replies[FLOOD_LIMITS["sms"][0]]
    assert all("<Message>" not in reply for reply in replies[FLOOD_LIMITS["sms"][0] + 1:])
    assert all("<Message>" in reply for reply in replies[: FLOOD_LIMITS["sms"][0]])


def test_ussd_new_sessions_are_limited_but_menu_hops_are_not(web) -> None:
    pin_clock(web.app)
    limit = FLOOD_LIMITS["ussd"][0]
    phone = UssdPhone(web.client, "+85512300004")
    phone.dial()
    phone.press("1")
    phone.press("1")  # Khmer, agreed
    for _ in range(3 * limit):  # walking menus inside one session costs nothing
        assert phone.press("4").startswith("CON ") and phone.press("0").startswith("CON ")
    for _ in range(limit - 1):  # each new session is counted at its first answer
        session = phone.new_session()
        assert session.dial().startswith("CON ") and session.press("4").startswith("CON ")
    refused = phone.new_session()
    assert refused.dial().startswith("CON ")  # the dial only reads
    assert refused.press("4") == "END " + translate("km", MSG_FLOOD)
    other = UssdPhone(web.client, "+85512300005")
    assert other.dial().startswith("CON ") and other.press("4").startswith("CON ")


def _ussd_dob(client, phone: str, dob: str) -> str:  # type: ignore[no-untyped-def]
    """A new USSD session: My benefits, then a date of birth; the screen after it."""
    ussd = UssdPhone(client, phone)
    ussd.dial()
    ussd.press("2")
    screen = ussd.press(dob)
    ussd.press("00")  # back to the menu: the next session starts there (no "continue?" question)
    return screen


def test_five_wrong_dates_of_birth_lock_the_person_even_against_the_right_date(web) -> None:
    first = UssdPhone(web.client, P1)
    first.dial()
    first.press("1")
    first.press("1")
    not_matched, locked = translate("km", MSG_NOT_MATCHED), translate("km", MSG_LOCKED)
    screens = [_ussd_dob(web.client, P1, "01011990") for _ in range(5)]
    assert all(not_matched in s for s in screens[:4]) and locked in screens[4]
    assert locked in _ussd_dob(web.client, P1, "12041996")  # the right date: still locked
    # the lock is the person's: the same person reached over SMS is locked too
    sms = SmsPhone(web.client, P1)
    for text in ("hi", "1", "1", "2"):  # language, consent, My benefits
        sms.send(text)
    assert locked in (sms.send("12/04/1996") or "")


def test_one_time_codes_for_one_person_are_capped_whoever_asks(web) -> None:
    """Telegram users asking codes for P1's ID card number: at most three codes an hour reach P1's
    phone, and every requester gets the same answer."""
    from portal.models.cases import OutboxMessage
    from portal.services import identity

    now = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    answers = []
    with web.app.extensions["db_sessionmaker"]() as session:
        for user in range(6):
            requester = identity.identity_for(session, "telegram", f"77700{user}", now)
            answers.append(identity.request_link_code(session, web.registry, requester, id_type="UIN",
                                                      value="100000101", now=now, pepper="p"))
            session.commit()
        sent = session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "otp"))
    assert {a.message for a in answers} == {MSG_CODE_REQUESTED}
    assert sent == 3


def test_officer_login_is_limited_per_login(web) -> None:
    client = web.app.test_client()
    page = client.get("/portal/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    wrong = {"login": ADMIN_LOGIN, "password": "wrong", "csrf_token": token.group(1)}
    statuses = [client.post("/portal/login", data=wrong).status_code for _ in range(5)]
    assert statuses == [401] * 5
    right = client.post("/portal/login", data={"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD,
                                               "csrf_token": token.group(1)})
    assert right.status_code == 429  # past the limit even the right password is not checked
