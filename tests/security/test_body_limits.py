"""Huge bodies (7 MB) are refused with 413 before anything reads them, with a polite bilingual text
on the citizen channels (the body was not read, so the language is unknown), the API's error shape
on /api, and nothing internal anywhere; NUL characters in portal and API input are a 400."""

from __future__ import annotations

import pytest

from chumnuoy.i18n import translate
from portal.inputguard import MAX_BODY_BYTES, MSG_TOO_LONG, MSG_TOO_LONG_USSD
from tests.security.conftest import SMS_KEY, TELEGRAM_SECRET, USSD_KEY
from tests.security.fuzzing import assert_safe

HUGE = 7 * 1024 * 1024  # over the simulator's 6 MB too (it uploads photos of up to 5 MB)
FORM = ("text=" + "ក" * (HUGE // 3 + 1)).encode()  # 3 bytes each in UTF-8
JSON = ('{"text": "' + "a" * HUGE + '"}').encode()


@pytest.mark.parametrize("path, headers", [
    (f"/channels/ussd?key={USSD_KEY}", {}),
    ("/channels/sms/twilio", {"X-Twilio-Signature": "x"}),
    (f"/channels/sms/gateway?key={SMS_KEY}", {}),
    ("/channels/telegram", {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}),
    ("/api/v1/grievances", {}),
    ("/portal/login", {}),
    ("/simulator", {}),
])
@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "application/json"])
def test_huge_bodies_get_413_and_a_polite_answer(web, path, headers, content_type) -> None:
    body = FORM if content_type.endswith("urlencoded") else JSON
    assert len(body) > HUGE
    headers = {**headers, **(web.bearer if path.startswith("/api/") else {})}
    response = web.client.post(path, data=body, headers=headers, content_type=content_type)
    text = assert_safe(response)
    assert response.status_code == 413
    if path.startswith("/channels/ussd"):
        assert text == f"END {translate('km', MSG_TOO_LONG_USSD)}\n{translate('en', MSG_TOO_LONG_USSD)}"
    elif path.startswith("/channels/sms/twilio"):
        assert "<Message>" in text and translate("km", MSG_TOO_LONG) in text
    elif path.startswith("/channels/"):
        assert translate("km", MSG_TOO_LONG) in response.get_json()["text"]
    elif path.startswith("/api/"):
        assert response.get_json()["error"]["code"] == "request_entity_too_large"


def test_a_body_just_under_the_limit_is_read(web) -> None:
    """Just under the limit a body is read: an absurd 1 MB SMS text is still answered (cut short)."""
    response = web.client.post(f"/channels/sms/gateway?key={SMS_KEY}",
                               json={"from": "+85512300020", "text": "a" * (MAX_BODY_BYTES - 200),
                                     "id": "big"})
    assert response.status_code == 200 and response.get_json()["text"]


@pytest.mark.parametrize("path", ["/api/v1/grievances", "/api/v1/grievances/lookup"])
def test_nul_in_api_json_is_a_400_with_the_error_shape(web, path) -> None:
    response = web.client.post(path, json={"reference": "1234\x005678", "category": "other"},
                               headers=web.bearer)
    assert response.status_code == 400
    assert set(response.get_json()["error"]) == {"code", "message"}


def test_inbound_cleaning() -> None:
    from bot.inbound import MAX_ID, clean_id, clean_text, phone_or_none

    assert clean_text("a\x00b\x1bc\nd\te\u17a2") == "abc\nd\te\u17a2"
    assert len(clean_text("x" * 10_000)) == 2000
    assert clean_id("s" * 500) != clean_id("s" * 499) and len(clean_id("s" * 500)) == MAX_ID
    assert phone_or_none("០១២ ០០០ ១០១") == "+85512000101" and phone_or_none("1" * 100) is None
    assert phone_or_none(["+85512000101"]) is None and phone_or_none("") is None
