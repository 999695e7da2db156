"""Enumeration attempts get nothing (SPEC §5, §14): before level 1 a registered and an unregistered
phone see exactly the same screens; one-time codes answer the same whether the ID exists or not;
guessing complaint numbers is cut off after a few misses, with the same answer for a real number."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from bot.abuse import LOOKUP_LIMIT, MSG_LOOKUPS
from chumnuoy.damm import with_check_digit
from chumnuoy.i18n import translate
from portal.services.case_messages import REFERENCE_NOT_FOUND
from tests.bot.conftest import P1, P6, SmsPhone, UssdPhone


def _ussd_walk(client, phone: str) -> list[str]:  # type: ignore[no-untyped-def]
    ussd = UssdPhone(client, phone)
    screens = [ussd.dial(), ussd.press("1"), ussd.press("1"), ussd.press("2")]
    screens += [ussd.press("01011990"), ussd.press("0"), ussd.press("31021990")]  # wrong, then impossible
    return screens


def test_registered_and_unregistered_phones_see_the_same_ussd_screens(web) -> None:
    registered, unregistered = _ussd_walk(web.client, P1), _ussd_walk(web.client, P6)
    assert registered == unregistered
    assert len(set(registered)) >= 4  # the walk really went through language, consent, menu, DOB


def _sms_walk(client, phone: str) -> list[str | None]:  # type: ignore[no-untyped-def]
    sms = SmsPhone(client, phone)
    return [sms.send(text) for text in ("hi", "1", "1", "2", "01/01/1990", "1990", "check my payment")]


def test_registered_and_unregistered_phones_see_the_same_sms_replies(web) -> None:
    assert _sms_walk(web.client, P1) == _sms_walk(web.client, P6)


def test_one_time_code_answers_do_not_tell_whether_the_id_exists(web) -> None:
    from portal.services import identity

    now = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    with web.app.extensions["db_sessionmaker"]() as session:
        asker = identity.identity_for(session, "telegram", "888001", now)
        known = identity.request_link_code(session, web.registry, asker, id_type="UIN", value="100000102",
                                           now=now, pepper="p")
        unknown = identity.request_link_code(session, web.registry, asker, id_type="UIN", value="199999999",
                                             now=now, pepper="p")
        session.commit()
    assert known == unknown


def _guesses(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [with_check_digit(f"{rng.randrange(10**7):07d}") for _ in range(count)]


def test_guessing_complaint_numbers_is_cut_off(web) -> None:
    from portal.services import grievances

    with web.app.extensions["db_sessionmaker"]() as session:
        real = grievances.lodge(session, category_code="other", channel="sms", now=datetime.now(UTC),
                                address="+85512300010", description="a real case").reference
    guesser = SmsPhone(web.client, "+85512300011")
    for text in ("hi", "1", "1", "4", "1"):  # Khmer, consent, More, Complaint status
        guesser.send(text)
    not_found, too_many = translate("km", REFERENCE_NOT_FOUND), translate("km", MSG_LOOKUPS)
    first = guesser.send(real) or ""
    assert first and not_found not in first and too_many not in first  # found while within the limit
    for text in ("00", "4", "1"):
        guesser.send(text)
    replies = [guesser.send(ref) for ref in _guesses(LOOKUP_LIMIT[0], 7) if ref != real]
    assert all(not_found in (reply or "") for reply in replies)
    assert too_many in (guesser.send(_guesses(1, 8)[0]) or "")
    assert too_many in (guesser.send(real) or "")  # past the limit the real number answers the same
    # another phone is not affected
    other = SmsPhone(web.client, "+85512300012")
    for text in ("hi", "1", "1", "4", "1"):
        other.send(text)
    assert too_many not in (other.send(real) or "")
