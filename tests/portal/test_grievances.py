"""Grievances: references, routing, states, views, anonymity, add-details by SMS, the ack invariant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from chumnuoy.damm import is_valid
from chumnuoy.digits import to_khmer_digits
from portal.models.cases import Grievance, GrievanceEvent, OutboxMessage
from portal.services import grievances as svc
from portal.services.audit import entries_for
from portal.services.grievance_catalogue import Area
from portal.services.references import leading_reference, new_reference, parse_reference
from portal.services.senders import HttpJsonSender
from tests.portal.cases_support import CALENDAR, at, dead_url, gateway  # noqa: F401 (fixture)

NOW = at("2026-04-06 09:00")  # a Monday
MSISDN = "+85512000199"


def lodge(session: Session, **overrides):  # type: ignore[no-untyped-def]
    fields = {
        "category_code": "non_payment",
        "channel": "sms",
        "now": NOW,
        "description": "No money in October",
        "address": MSISDN,
        "area": Area.from_codes(commune_code="120101"),
        "calendar": CALENDAR,
    }
    fields.update(overrides)
    return svc.lodge(session, **fields)


def outbox(session: Session) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


# ---------------------------------------------------------------- references


def test_references_are_eight_digits_with_a_valid_damm_check_digit():
    refs = {new_reference() for _ in range(200)}
    assert len(refs) > 190
    assert all(len(r) == 8 and r.isdigit() and is_valid(r) for r in refs)


def test_every_single_digit_typo_and_adjacent_swap_is_detected_never_matched(db_session):
    g = lodge(db_session)
    ref = g.reference
    mistyped = set()
    for i in range(8):
        for digit in "0123456789":
            if digit != ref[i]:
                mistyped.add(ref[:i] + digit + ref[i + 1 :])
        if i < 7 and ref[i] != ref[i + 1]:
            mistyped.add(ref[:i] + ref[i + 1] + ref[i] + ref[i + 2 :])
    for typo in mistyped:
        assert svc.lookup_status(db_session, typo).outcome == "invalid"
        assert svc.get_by_reference(db_session, typo) is None


def test_lookup_accepts_khmer_digits_and_spaces(db_session):
    g = lodge(db_session)
    typed = to_khmer_digits(f"{g.reference[:4]} {g.reference[4:]}")
    assert parse_reference(typed) == g.reference
    assert svc.lookup_status(db_session, typed).grievance.id == g.id


def test_a_well_formed_unknown_reference_is_not_found():
    assert parse_reference("1234") is None
    ref = next(r for r in iter(new_reference, None))
    assert parse_reference(ref) == ref


# ---------------------------------------------------------------- routing


def test_routing_by_commune_category_and_programme(db_session):
    g = lodge(db_session)
    assert (g.level, g.agency, g.province_code, g.district_code, g.commune_code) == (
        "commune",
        "NSAF",
        "12",
        "1201",
        "120101",
    )
    assert lodge(db_session, category_code="exclusion").agency == "MoP"
    assert lodge(db_session, category_code="non_payment", programme="scholarship").agency == "MoEYS"
    assert lodge(db_session, category_code="card_account", programme="disability").agency == "MoSVY"
    assert lodge(db_session, category_code="other", programme="nssf").agency == "NSSF"
    assert lodge(db_session, category_code="other", programme="health_equity_fund").agency == "MoH"
    assert lodge(db_session, area=Area.from_codes(province_code="17")).level == "province"


def test_no_address_goes_to_the_national_triage_queue(db_session):
    g = lodge(db_session, area=None)
    assert (g.level, g.province_code, g.commune_code) == ("national", None, None)


def test_sla_class_comes_from_the_category(db_session):
    assert lodge(db_session, category_code="wrong_amount").sla_class_days == 15
    assert lodge(db_session, category_code="exclusion").sla_class_days == 30


# ---------------------------------------------------------------- acknowledgement invariant


def test_acknowledged_grievance_is_stored_even_when_the_gateway_fails(portal_engine, gateway):  # noqa: F811
    gateway.answer(500, {"error": "upstream down"})
    with Session(portal_engine, expire_on_commit=False) as session:
        g = lodge(session, channel="ussd", description="", sender=HttpJsonSender(gateway.url))
        reference = g.reference
    assert len(gateway.received) == 1  # the send was really tried, and failed
    with Session(portal_engine) as fresh:
        stored = fresh.scalar(select(Grievance).where(Grievance.reference == reference))
        assert stored is not None and stored.state == "received"
        assert [e.type for e in stored.events] == ["lodged"]
        (message,) = fresh.scalars(select(OutboxMessage).where(OutboxMessage.grievance_id == stored.id))
        assert message.status == "pending" and message.attempts == 1 and "500" in message.last_error
        assert reference in message.text


def test_acknowledged_grievance_is_stored_when_the_gateway_is_down(portal_engine):
    with Session(portal_engine, expire_on_commit=False) as session:
        g = lodge(session, channel="api", reply_channel="sms", sender=HttpJsonSender(dead_url(), timeout=1.0))
    with Session(portal_engine) as fresh:
        stored = fresh.scalar(select(Grievance).where(Grievance.reference == g.reference))
        assert stored is not None
        (message,) = fresh.scalars(select(OutboxMessage).where(OutboxMessage.grievance_id == stored.id))
        assert message.status == "pending" and message.attempts == 1 and "Connect" in message.last_error


def test_ussd_lodging_sends_the_reference_and_add_details_rule_by_sms(db_session):
    g = lodge(db_session, channel="ussd", description="", locale="en")
    (message,) = outbox(db_session)
    assert (message.channel, message.address, message.kind) == ("sms", MSISDN, "notice")
    assert g.reference in message.text and "24 hours" in message.text


# ---------------------------------------------------------------- states, events, notifications


def test_officer_actions_are_events_and_reach_the_citizen(db_session):
    g = lodge(db_session, channel="telegram", address="777001", locale="en")
    svc.assign(db_session, g, None, "officer:7", NOW + timedelta(hours=1))
    svc.reply(
        db_session,
        g,
        "Please bring your Equity Card to the commune office.",
        "officer:7",
        NOW + timedelta(hours=2),
        calendar=CALENDAR,
    )
    svc.note(db_session, g, "called the NSAF branch", "officer:7", NOW + timedelta(hours=3))
    svc.resolve(
        db_session,
        g,
        resolution_code="paid",
        text="Paid on 10 April.",
        actor="officer:7",
        now=NOW + timedelta(days=4),
    )
    types = [(e.actor, e.type) for e in g.events]
    assert types[0] == ("citizen", "lodged")
    assert ("officer:7", "assigned") in types and ("officer:7", "reply") in types
    assert ("officer:7", "note") in types and ("officer:7", "resolved") in types
    assert all(e.at is not None for e in g.events)
    texts = [m.text for m in outbox(db_session)]
    assert all(m.channel == "telegram" and m.address == "777001" for m in outbox(db_session))
    assert any("in review" in t for t in texts)
    assert any("Please bring your Equity Card" in t for t in texts)
    assert not any("NSAF branch" in t for t in texts)  # notes stay internal
    assert any("Paid on 10 April." in t for t in texts)
    assert g.state == "resolved" and g.first_action_at is not None


def test_reject_needs_a_reason_and_tells_the_citizen(db_session):
    g = lodge(db_session, locale="en")
    with pytest.raises(svc.GrievanceError):
        svc.reject(db_session, g, reason=" ", actor="officer:1", now=NOW)
    svc.reject(db_session, g, reason="Not a social protection matter", actor="officer:1", now=NOW)
    assert g.state == "rejected"
    assert "Not a social protection matter" in outbox(db_session)[-1].text


def test_reopen_only_within_thirty_days_of_resolution(db_session):
    g = lodge(db_session)
    svc.resolve(db_session, g, resolution_code="paid", text="ok", actor="officer:1", now=NOW)
    svc.reopen(db_session, g, actor="citizen", now=NOW + timedelta(days=29), calendar=CALENDAR)
    assert g.state == "reopened" and g.reopen_count == 1
    svc.resolve(
        db_session, g, resolution_code="paid", text="ok", actor="officer:1", now=NOW + timedelta(days=30)
    )
    with pytest.raises(svc.GrievanceError) as error:
        svc.reopen(db_session, g, actor="citizen", now=NOW + timedelta(days=61))
    assert error.value.code == "reopen_window_closed"
    assert g.state == "resolved"


def test_auto_close_fourteen_days_after_resolution(db_session):
    g = lodge(db_session)
    svc.resolve(db_session, g, resolution_code="paid", text="ok", actor="officer:1", now=NOW)
    assert svc.auto_close(db_session, NOW + timedelta(days=13, hours=23)) == 0
    assert g.state == "resolved"
    assert svc.auto_close(db_session, NOW + timedelta(days=14)) == 1
    db_session.refresh(g)
    assert g.state == "closed" and g.events[-1].actor == "system"
    assert g.reference in outbox(db_session)[-1].text


def test_rating_is_one_to_three_and_only_after_resolution(db_session):
    g = lodge(db_session)
    with pytest.raises(svc.GrievanceError):
        svc.rate(db_session, g, 2, NOW)
    svc.resolve(db_session, g, resolution_code="paid", text="ok", actor="officer:1", now=NOW)
    with pytest.raises(svc.GrievanceError):
        svc.rate(db_session, g, 4, NOW)
    svc.rate(db_session, g, 3, NOW)
    assert g.rating == 3


def test_rating_reminder_is_sent_once(db_session):
    g = lodge(db_session)
    svc.resolve(db_session, g, resolution_code="paid", text="ok", actor="officer:1", now=NOW)
    assert svc.remind_rating(db_session, NOW + timedelta(days=2)) == 0
    assert svc.remind_rating(db_session, NOW + timedelta(days=3)) == 1
    assert svc.remind_rating(db_session, NOW + timedelta(days=4)) == 0
    assert outbox(db_session)[-1].kind == "reminder"


# ---------------------------------------------------------------- views and anonymity


def test_level0_status_has_no_officer_text_but_the_lodging_address_sees_the_reply(db_session):
    g = lodge(db_session, locale="en")
    svc.reply(db_session, g, "Your payment was sent to Wing.", "officer:3", NOW, calendar=CALENDAR)
    anyone = svc.lookup_status(db_session, g.reference, locale="en")
    assert anyone.full is False
    assert set(anyone.view) == {"reference", "state", "level", "text"}
    assert "Wing" not in str(anyone.view)
    assert anyone.view["state"] == "in_review" and anyone.view["level"] == "commune"
    other_phone = svc.lookup_status(db_session, g.reference, channel="sms", address="+85512000101")
    assert other_phone.full is False
    mine = svc.lookup_status(db_session, g.reference, channel="sms", address=MSISDN)
    assert mine.full is True and mine.view["last_reply"] == "Your payment was sent to Wing."


def test_verified_complainant_sees_details_from_another_address(db_session):
    g = lodge(db_session, person_spid="KH0000001014")
    svc.reply(db_session, g, "Answer", "officer:3", NOW, calendar=CALENDAR)
    result = svc.lookup_status(
        db_session, g.reference, channel="telegram", address="9999", verified_spid="KH0000001014"
    )
    assert result.full and result.view["last_reply"] == "Answer"


def test_anonymity_hides_the_address_from_officers_and_keeps_updates_working(db_session):
    g = lodge(
        db_session,
        category_code="misconduct",
        anonymous=True,
        person_spid="KH0000001014",
        description="The agent asked for 10,000 riel",
        locale="en",
    )
    assert g.person_spid is None and g.identity_id is None
    view = svc.officer_view(db_session, g, "officer:5", NOW)
    assert MSISDN not in str(view) and "reply_address" not in view and "person_spid" not in view
    assert view["anonymous"] is True and view["description"].startswith("The agent")
    assert [e.action for e in entries_for(db_session, "grievance", g.reference)] == ["view_grievance"]
    svc.reply(db_session, g, "We are looking into it.", "officer:5", NOW, calendar=CALENDAR)
    assert outbox(db_session)[-1].address == MSISDN  # status updates still reach the citizen


def test_named_case_shows_the_address_to_officers(db_session):
    g = lodge(db_session)
    assert svc.officer_view(db_session, g, "officer:5", NOW)["reply_address"] == MSISDN


def test_anonymity_is_only_for_misconduct_and_fraud(db_session):
    with pytest.raises(ValueError):
        lodge(db_session, category_code="non_payment", anonymous=True)


# ---------------------------------------------------------------- add details by SMS (USSD complaints)


def test_sms_starting_with_the_reference_within_24h_adds_details(db_session):
    g = lodge(db_session, channel="ussd", description="", locale="en")
    text = f"{to_khmer_digits(g.reference)} ខ្ញុំមិនទាន់ទទួលបានប្រាក់ខែតុលា"
    found = svc.add_details_by_sms(db_session, MSISDN, text, NOW + timedelta(hours=23))
    assert found is not None and found.id == g.id
    assert g.description == "ខ្ញុំមិនទាន់ទទួលបានប្រាក់ខែតុលា"
    assert g.events[-1].type == "details_added"
    assert "Details added" in outbox(db_session)[-1].text


def test_sms_add_details_refused_after_24h_from_another_phone_or_for_non_ussd(db_session):
    g = lodge(db_session, channel="ussd", description="")
    assert (
        svc.add_details_by_sms(db_session, MSISDN, f"{g.reference} late", NOW + timedelta(hours=25)) is None
    )
    assert svc.add_details_by_sms(db_session, "+85512000101", f"{g.reference} not mine", NOW) is None
    sms_case = lodge(db_session, channel="sms")
    assert svc.add_details_by_sms(db_session, MSISDN, f"{sms_case.reference} more", NOW) is None
    typo = g.reference[:-1] + str((int(g.reference[-1]) + 1) % 10)
    assert svc.add_details_by_sms(db_session, MSISDN, f"{typo} more", NOW) is None
    db_session.refresh(g)
    assert g.description == ""
    assert leading_reference("hello 12345678") == (None, "hello 12345678")


def test_every_event_has_an_actor_and_a_time(db_session):
    g = lodge(db_session)
    svc.escalate(db_session, g, "officer:2", NOW, reason="needs district", calendar=CALENDAR)
    events = db_session.scalars(select(GrievanceEvent).where(GrievanceEvent.grievance_id == g.id)).all()
    assert {e.type for e in events} >= {"lodged", "escalated", "status_change"}
    assert all(e.actor and e.at for e in events)
    assert g.level == "district" and g.state == "escalated"
