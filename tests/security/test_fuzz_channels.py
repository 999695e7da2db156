"""Property-based fuzzing of the citizen channel webhooks (SPEC §10, §14): arbitrary Unicode,
missing and extra fields, malformed JSON, wrong content types, with and without the secrets.

Every answer: no 5xx, no stack trace or exception name; on a citizen channel with a known phone the
reply is non-empty text in the session's language (Khmer letters in a Khmer session, Latin letters in
an English one).
"""

from __future__ import annotations

import itertools
import json

from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from bot.understand import command_of
from tests.bot.conftest import UssdPhone
from tests.security.conftest import PUBLIC, SMS_KEY, TELEGRAM_SECRET, TWILIO_TOKEN, USSD_KEY
from tests.security.fuzzing import (
    KHMER,
    assert_safe,
    case,
    citizen_text,
    form_with,
    json_values,
    phones,
    printable_junk,
)

_ids = itertools.count(1)


def in_language(reply: str, locale: str) -> bool:
    return bool(KHMER.search(reply)) if locale == "km" else any(c.isascii() and c.isalpha() for c in reply)


def fresh_phone() -> str:
    """A phone no earlier example used (examples share one database)."""
    return f"+8551239{next(_ids):05d}"


def session_locale(app, channel: str, address: str) -> str:  # type: ignore[no-untyped-def]
    """The language the citizen has chosen so far (they may change it in the language menu)."""
    from sqlalchemy import select

    from portal.models.citizen import ChannelIdentity

    with app.extensions["db_sessionmaker"]() as session:
        language = session.scalar(select(ChannelIdentity.language).where(
            ChannelIdentity.channel == channel, ChannelIdentity.address == address))
    return language or "km"


def _settle(client, phone: str, locale: str) -> UssdPhone:  # type: ignore[no-untyped-def]
    """A phone that chose its language and agreed (so every later reply is in that language)."""
    ussd = UssdPhone(client, phone)
    ussd.dial()
    ussd.press("1" if locale == "km" else "2")
    ussd.press("1")
    return ussd


# ------------------------------------------------------------------------------------------ USSD

@given(form=form_with({"sessionId": printable_junk, "serviceCode": printable_junk, "phoneNumber": phones,
                       "networkCode": printable_junk, "text": citizen_text}),
       key=st.sampled_from([USSD_KEY, USSD_KEY, USSD_KEY, None, "", "wrong"]), via_header=st.booleans())
def test_ussd_arbitrary_fields(web, form, key, via_header) -> None:
    with case("POST /channels/ussd (any fields, any key)"):
        url, headers = "/channels/ussd", {}
        if key is not None and via_header:
            headers["X-Gateway-Key"] = key
        elif key is not None:
            url += f"?key={key}"
        response = web.client.post(url, data=form, headers=headers)
        body = assert_safe(response)
        if key != USSD_KEY:
            assert response.status_code == 403
        elif response.status_code == 200:
            assert body.startswith(("CON ", "END ")) and body[4:].strip()


@given(texts=st.lists(citizen_text, min_size=1, max_size=6), locale=st.sampled_from(["km", "en"]))
def test_ussd_session_replies_in_its_language(web, texts, locale) -> None:
    """A citizen who chose a language walks the menus typing anything: every screen is in it."""
    with case("POST /channels/ussd (session, any input)"):
        phone = _settle(web.client, fresh_phone(), locale)
        for typed in texts:
            body = phone.press(typed.replace("*", "#"))  # '*' would split into several inputs
            assert in_language(body[4:], session_locale(web.app, "ussd", phone.phone)), body
            if body.startswith("END "):
                phone = phone.new_session()
                phone.dial()


# ------------------------------------------------------------------------------------------ SMS gateway

@given(payload=st.one_of(
    st.fixed_dictionaries({}, optional={"from": phones, "to": printable_junk, "text": citizen_text,
                                        "id": printable_junk}),
    json_values),
       shape=st.sampled_from(["json", "form", "raw", "text/plain", "bad-json"]),
       key=st.sampled_from([SMS_KEY, SMS_KEY, SMS_KEY, None, "wrong"]))
def test_sms_gateway_arbitrary_bodies(web, payload, shape, key) -> None:
    with case("POST /channels/sms/gateway (form/JSON/malformed)"):
        url = "/channels/sms/gateway" + (f"?key={key}" if key is not None else "")
        if shape == "json":
            response = web.client.post(url, json=payload)
        elif shape == "form" and isinstance(payload, dict):
            response = web.client.post(url, data={str(k): json.dumps(v) if not isinstance(v, str) else v
                                                  for k, v in payload.items()})
        elif shape == "bad-json":
            response = web.client.post(url, data=json.dumps(payload)[:-1] + "\x00{",
                                       content_type="application/json")
        else:
            response = web.client.post(url, data=json.dumps(payload).encode(),
                                       content_type="text/plain" if shape == "text/plain"
                                       else "application/x-www-form-urlencoded")
        assert_safe(response)
        if key != SMS_KEY:
            assert response.status_code == 403


@given(texts=st.lists(citizen_text, min_size=1, max_size=5), locale=st.sampled_from(["km", "en"]))
def test_sms_gateway_session_replies_in_its_language(web, texts, locale) -> None:
    with case("POST /channels/sms/gateway (session, any text)"):
        phone = fresh_phone()
        for text in ("1" if locale == "km" else "2", "1", *texts):
            response = web.client.post(f"/channels/sms/gateway?key={SMS_KEY}",
                                       json={"from": phone, "to": "1234", "text": text,
                                             "id": f"g{next(_ids)}"})
            assert_safe(response)
            assert response.status_code == 200, response.get_data(as_text=True)
            reply = response.get_json()["text"]
            assert reply.strip() and in_language(reply, session_locale(web.app, "sms", phone)), reply


# ------------------------------------------------------------------------------------------ Twilio

def _twilio(client, path: str, form: dict[str, str], sign: bool):  # type: ignore[no-untyped-def]
    headers = {}
    if sign:
        headers["X-Twilio-Signature"] = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + path, form)
    return client.post(path, data=form, headers=headers)


@given(form=form_with({"MessageSid": printable_junk, "From": phones, "To": printable_junk,
                       "Body": citizen_text, "AccountSid": printable_junk}),
       sign=st.sampled_from([True, True, True, False]))
def test_twilio_inbound_signed_and_unsigned(web, form, sign) -> None:
    with case("POST /channels/sms/twilio (signed/unsigned)"):
        response = _twilio(web.client, "/channels/sms/twilio", form, sign)
        assert_safe(response)
        if not sign:
            assert response.status_code == 403


@given(texts=st.lists(citizen_text, min_size=1, max_size=5))
def test_twilio_session_replies_in_khmer(web, texts) -> None:
    with case("POST /channels/sms/twilio (session, any text)"):
        blocked, phone = False, fresh_phone()
        for text in ("1", "1", *texts):
            form = {"MessageSid": f"SM{next(_ids)}", "From": phone, "To": "+1555", "Body": text}
            response = _twilio(web.client, "/channels/sms/twilio", form, True)
            body = assert_safe(response)
            assert response.status_code == 200 and response.mimetype == "application/xml"
            command = command_of(text, carrier=True)
            blocked = (blocked or command == "carrier_stop") and command != "start"
            if not blocked:
                assert "<Message>" in body and in_language(body, session_locale(web.app, "sms", phone)), body


@given(form=form_with({"MessageSid": printable_junk, "MessageStatus": printable_junk,
                       "ErrorCode": printable_junk, "To": phones}),
       sign=st.booleans())
def test_twilio_status_callbacks(web, form, sign) -> None:
    with case("POST /channels/sms/twilio/status"):
        response = _twilio(web.client, "/channels/sms/twilio/status", form, sign)
        assert_safe(response)
        assert response.status_code in ((204, 400) if sign else (403,))


# ------------------------------------------------------------------------------------------ Telegram

updates = st.one_of(
    json_values,
    st.fixed_dictionaries({"update_id": st.one_of(st.integers(), st.integers(2**62, 2**70), printable_junk)},
                          optional={
        "message": st.fixed_dictionaries({}, optional={
            "message_id": st.integers(), "text": citizen_text, "date": st.integers(),
            "chat": st.fixed_dictionaries({"id": st.one_of(st.integers(), st.integers(2**62, 2**70),
                                                           printable_junk)},
                                          optional={"type": printable_junk}),
            "from": st.fixed_dictionaries({"id": st.integers()}, optional={"first_name": printable_junk,
                                                                             "is_bot": st.booleans()}),
            "contact": st.dictionaries(printable_junk, json_values, max_size=3)}),
        "callback_query": st.dictionaries(printable_junk, json_values, max_size=4)}),
)


@given(update=updates,
       secret=st.sampled_from([TELEGRAM_SECRET, TELEGRAM_SECRET, TELEGRAM_SECRET, None, "wrong"]),
       raw=st.one_of(st.none(), st.binary(max_size=200)))
def test_telegram_webhook_arbitrary_json(web, update, secret, raw) -> None:
    with case("POST /channels/telegram (any JSON, bytes)"):
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        if raw is not None:
            response = web.client.post("/channels/telegram", data=raw, headers=headers,
                                       content_type="application/json")
        else:
            response = web.client.post("/channels/telegram", json=update, headers=headers)
        assert_safe(response)
        if secret != TELEGRAM_SECRET:
            assert response.status_code == 403
