"""Identity and verification (SPEC §5) against the live sandbox registry and a real database."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from chumnuoy.i18n import translate
from portal.services import identity as ident
from tests.portal.citizen_fixtures import NOW, registry_fixture  # noqa: F401 (fixture)

P1_PHONE, P6_PHONE, P8_PHONE = "+85512000101", "+85512000199", "+85512000108"


class RecordingRegistry:
    """Delegates to the real client and records which calls were made (to compare code paths)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str]] = []

    def find_people(self, id_type, value):
        self.calls.append(("find_people", id_type))
        return self.inner.find_people(id_type, value)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_level0_answers_identical_for_registered_and_unregistered(db_session, registry) -> None:
    recorded = {}
    for phone in (P1_PHONE, P6_PHONE):
        spy = RecordingRegistry(registry)
        person = ident.identity_for(db_session, "sms", phone, NOW)
        steps = [ident.begin_verification(db_session, spy, person, NOW)]
        steps.append(ident.check_date_of_birth(db_session, spy, person, "01011990", NOW))
        steps.append(ident.check_date_of_birth(db_session, spy, person, "99", NOW))
        for _ in range(4):
            steps.append(ident.check_date_of_birth(db_session, spy, person, "02021991", NOW))
        recorded[phone] = (steps, spy.calls)
    assert recorded[P1_PHONE] == recorded[P6_PHONE]
    texts = {
        phone: [translate(locale, step.message) for step in recorded[phone][0] for locale in ("km", "en")]
        for phone in recorded
    }
    assert texts[P1_PHONE] == texts[P6_PHONE] and "ថ្ងៃខែឆ្នាំកំណើត" in texts[P1_PHONE][0]
    steps = recorded[P1_PHONE][0]
    assert [s.kind for s in steps] == [
        "ask_dob",
        "not_matched",
        "invalid_input",
        "not_matched",
        "not_matched",
        "not_matched",
        "locked",
    ]
    assert steps[0].level == 0 and steps[0].candidates == ()


def test_khmer_digit_date_of_birth_gives_level_2(db_session, registry) -> None:
    person = ident.identity_for(db_session, "sms", P1_PHONE, NOW)
    assert ident.begin_verification(db_session, registry, person, NOW).kind == "ask_dob"
    assert ident.current_level(person, NOW) == 1
    step = ident.check_date_of_birth(db_session, registry, person, "១២០៤១៩៩៦", NOW)
    assert step.kind == "verified" and step.level == 2
    assert ident.verified_person(registry, person, NOW).uin == "100000101"


@pytest.mark.parametrize(
    ("text", "channel", "expected"),
    [
        ("15/03/1986", "sms", "1986-03-15"),
        ("១៥/០៣/១៩៨៦", "telegram", "1986-03-15"),
        ("15-3-1986", "sms", "1986-03-15"),
        ("15031986", "ussd", "1986-03-15"),
        ("១៥០៣១៩៨៦", "ussd", "1986-03-15"),
        ("15/03/1986", "ussd", None),
        ("31021986", "sms", None),
        ("1503198", "sms", None),
        ("abc", "sms", None),
    ],
)
def test_parse_date_of_birth(text: str, channel: str, expected: str | None) -> None:
    born = ident.parse_date_of_birth(text, channel)
    assert (born.isoformat() if born else None) == expected


def test_lockout_after_five_failures_and_unlock_after_24h(db_session, registry) -> None:
    person = ident.identity_for(db_session, "sms", P1_PHONE, NOW)
    ident.begin_verification(db_session, registry, person, NOW)
    kinds = [
        ident.check_date_of_birth(db_session, registry, person, "01011990", NOW + timedelta(minutes=i)).kind
        for i in range(5)
    ]
    assert kinds == ["not_matched"] * 4 + ["locked"]
    db_session.commit()
    sixth = ident.check_date_of_birth(db_session, registry, person, "12041996", NOW + timedelta(minutes=6))
    assert sixth.kind == "locked" and ident.current_level(person, NOW + timedelta(minutes=6)) == 1
    # the lock follows the person, not the address: USSD from the same phone is locked too
    ussd = ident.identity_for(db_session, "ussd", P1_PHONE, NOW)
    ident.begin_verification(db_session, registry, ussd, NOW, session_id="s1")
    assert (
        ident.check_date_of_birth(
            db_session, registry, ussd, "12041996", NOW + timedelta(hours=2), session_id="s1"
        ).kind
        == "locked"
    )
    later = NOW + timedelta(minutes=4, hours=24, seconds=1)
    assert ident.check_date_of_birth(db_session, registry, person, "12041996", later).kind == "verified"


def test_shared_phone_chooses_person_first(db_session, registry) -> None:
    person = ident.identity_for(db_session, "sms", P8_PHONE, NOW)
    step = ident.begin_verification(db_session, registry, person, NOW)
    assert step.kind == "choose_person"
    assert sorted((c.given_name_latin, c.birth_year) for c in step.candidates) == [
        ("Sopheap", 1988),
        ("Vichet", 1986),
    ]
    # nothing personal before choosing: the DOB is not even checked
    assert ident.check_date_of_birth(db_session, registry, person, "07071988", NOW).kind == "choose_person"
    assert ident.choose_person(db_session, registry, person, "Dara").kind == "choose_person"
    assert ident.choose_person(db_session, registry, person, "១៩៨៨").kind == "ask_dob"
    assert ident.check_date_of_birth(db_session, registry, person, "15031986", NOW).kind == "not_matched"
    assert ident.check_date_of_birth(db_session, registry, person, "07071988", NOW).kind == "verified"
    assert ident.verified_person(registry, person, NOW).uin == "100000108"
    # choosing the other person on the phone never inherits her level 2
    both = [p.spid for p in registry.find_people("MOBILE", P8_PHONE)]
    person.pending_candidates = json.dumps(both)
    assert ident.choose_person(db_session, registry, person, "Vichet").kind == "ask_dob"
    assert ident.current_level(person, NOW) == 1


def test_choose_by_latin_first_name(db_session, registry) -> None:
    person = ident.identity_for(db_session, "telegram", "777001", NOW)
    ident.link_shared_contact(
        db_session,
        registry,
        person,
        contact_user_id=777001,
        from_user_id=777001,
        phone="012 000 108",
        now=NOW,
    )
    assert ident.choose_person(db_session, registry, person, "vichet").kind == "ask_dob"
    assert ident.check_date_of_birth(db_session, registry, person, "15/03/1986", NOW).kind == "verified"


def test_level2_expires_after_ten_idle_minutes(db_session, registry) -> None:
    person = ident.identity_for(db_session, "sms", P1_PHONE, NOW)
    ident.begin_verification(db_session, registry, person, NOW)
    ident.check_date_of_birth(db_session, registry, person, "12041996", NOW)
    assert ident.touch(person, NOW + timedelta(minutes=9)) == 2
    assert ident.touch(person, NOW + timedelta(minutes=18)) == 2  # sliding
    assert ident.current_level(person, NOW + timedelta(minutes=28, seconds=1)) == 1
    with pytest.raises(ident.NotVerified):
        ident.verified_person(registry, person, NOW + timedelta(minutes=29))
    assert (
        ident.begin_verification(db_session, registry, person, NOW + timedelta(minutes=29)).kind == "ask_dob"
    )


def test_ussd_level2_lasts_for_the_session_only(db_session, registry) -> None:
    person = ident.identity_for(db_session, "ussd", P1_PHONE, NOW)
    ident.begin_verification(db_session, registry, person, NOW, session_id="ATsess1")
    assert (
        ident.check_date_of_birth(db_session, registry, person, "12041996", NOW, session_id="ATsess1").kind
        == "verified"
    )
    assert ident.current_level(person, NOW + timedelta(minutes=1), "ATsess1") == 2
    assert ident.current_level(person, NOW + timedelta(minutes=1), "ATsess2") == 1


def test_telegram_contact_must_be_the_users_own(db_session, registry) -> None:
    person = ident.identity_for(db_session, "telegram", "555", NOW)
    assert ident.begin_verification(db_session, registry, person, NOW).kind == "share_contact"
    step = ident.link_shared_contact(
        db_session, registry, person, contact_user_id=556, from_user_id=555, phone="+85512000101", now=NOW
    )
    assert step.kind == "not_matched" and person.person_spid is None
    step = ident.link_shared_contact(
        db_session, registry, person, contact_user_id=555, from_user_id=555, phone="+85512000101", now=NOW
    )
    assert step.kind == "ask_dob" and ident.current_level(person, NOW) == 1


class Outbox:
    """E1's real outbox; `sent` lists the one-time-code rows queued since the last `clear`."""

    def __init__(self, session) -> None:
        from portal.services.outbox import enqueue

        self.session, self.enqueue, self.since = session, enqueue, 0

    def __call__(self, session, **message):
        return self.enqueue(session, **message)

    @property
    def sent(self) -> list[dict]:
        from sqlalchemy import select

        from portal.models.cases import OutboxMessage

        self.session.flush()
        rows = self.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "otp", OutboxMessage.id > self.since)
            .order_by(OutboxMessage.id)
        ).all()
        return [
            {"channel": r.channel, "address": r.address, "kind": r.kind, "text": r.text, "id": r.id}
            for r in rows
        ]

    def clear(self) -> None:
        sent = self.sent
        self.since = sent[-1]["id"] if sent else self.since


def test_one_time_code_links_telegram_and_answers_identically(db_session, registry) -> None:
    outbox = Outbox(db_session)
    person = ident.identity_for(db_session, "telegram", "9001", NOW)
    registered = ident.request_link_code(
        db_session, registry, person, id_type="UIN", value="១០០០០០១០១", now=NOW, enqueue=outbox
    )
    unknown = ident.request_link_code(
        db_session, registry, person, id_type="UIN", value="100000999", now=NOW, enqueue=outbox
    )
    assert registered == unknown and registered.message == ident.MSG_CODE_REQUESTED
    assert len(outbox.sent) == 1
    message = outbox.sent[0]
    assert (message["channel"], message["address"], message["kind"]) == ("sms", "+85512000101", "otp")
    code = re.search(r"\d{6}", message["text"]).group(0)  # type: ignore[union-attr]
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert ident.confirm_link_code(db_session, person, wrong, NOW).kind == "code_invalid"
    assert (
        ident.confirm_link_code(db_session, person, code, NOW + timedelta(minutes=11)).kind == "code_invalid"
    )
    assert ident.confirm_link_code(db_session, person, code, NOW + timedelta(minutes=2)).kind == "linked"
    assert (
        ident.confirm_link_code(db_session, person, code, NOW + timedelta(minutes=3)).kind == "code_invalid"
    )
    assert ident.begin_verification(db_session, registry, person, NOW).kind == "ask_dob"
    assert ident.check_date_of_birth(db_session, registry, person, "12041996", NOW).kind == "verified"


def test_one_time_codes_rate_limited_per_target_and_requester(db_session, registry) -> None:
    outbox = Outbox(db_session)
    answers = []
    for n in range(5):  # five requesters, same target: 3 codes per hour per target
        requester = ident.identity_for(db_session, "telegram", f"81{n}", NOW)
        answers.append(
            ident.request_link_code(
                db_session,
                registry,
                requester,
                id_type="UIN",
                value="100000102",
                now=NOW + timedelta(minutes=n),
                enqueue=outbox,
            )
        )
    assert len(set(answers)) == 1 and answers[0].kind == "code_requested"
    assert len(outbox.sent) == 3
    outbox.clear()
    requester = ident.identity_for(db_session, "telegram", "8200", NOW)
    targets = ["100000101", "100000103", "100000105", "100000107", "100000109", "100000104"]
    answers = [
        ident.request_link_code(
            db_session, registry, requester, id_type="UIN", value=uin, now=NOW, enqueue=outbox
        )
        for uin in targets
    ]
    assert len(set(answers)) == 1
    assert len(outbox.sent) == 5  # the sixth request from the same requester sends nothing
    later = NOW + timedelta(hours=1, minutes=5)
    ident.request_link_code(
        db_session, registry, requester, id_type="UIN", value="100000104", now=later, enqueue=outbox
    )
    assert len(outbox.sent) == 6


def test_consent_language_and_opt_out(db_session) -> None:
    person = ident.identity_for(db_session, "sms", P6_PHONE, NOW)
    assert person.language is None and not ident.has_consented(db_session, person)
    ident.set_language(person, "km")
    record = ident.record_consent(
        db_session, person, wording_version="v1", text="យល់ព្រម", locale="km", now=NOW
    )
    db_session.commit()
    assert ident.has_consented(db_session, person, "v1") and not ident.has_consented(db_session, person, "v2")
    assert record.text_hash == ident.consent_text_hash("យល់ព្រម") and len(record.text_hash) == 64
    ident.mark_opted_out(db_session, "sms", P6_PHONE, "notifications", NOW)
    assert ident.may_send(person, "reply") and not ident.may_send(person, "status")
    ident.mark_opted_out(db_session, "sms", P6_PHONE, "carrier", NOW)
    assert not ident.may_send(person, "reply")
    ident.opt_in(db_session, "sms", P6_PHONE, "carrier")
    assert ident.may_send(person, "reply") and not ident.may_send(person, "reminder")
    ident.opt_in(db_session, "sms", P6_PHONE, "notifications")
    assert ident.may_send(person, "reminder") and person.opted_out_at is None
    db_session.commit()
    again = ident.identity_for(db_session, "sms", P6_PHONE, NOW + timedelta(days=1))
    assert again.id == person.id and again.language == "km"
