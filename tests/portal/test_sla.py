"""The SLA clock: working days (weekends, holidays, pauses), breaches, escalation and alerts."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from portal.models.cases import OutboxMessage
from portal.services import grievances as svc
from portal.services.grievance_catalogue import Area
from portal.services.officers import create_officer
from portal.services.working_time import (
    DEFAULT_HOLIDAYS_FILE,
    PHNOM_PENH,
    WorkingCalendar,
    default_calendar,
    holidays_file,
    load_holidays,
)
from tests.portal.cases_support import CALENDAR, HOLIDAY, at

MONDAY = at("2026-04-06 09:00")


def local(value):  # type: ignore[no-untyped-def]
    return value.astimezone(PHNOM_PENH).replace(tzinfo=None).isoformat(" ", "minutes")


# ---------------------------------------------------------------- working-day arithmetic


def test_weekends_do_not_count():
    friday = at("2026-04-03 15:00")
    assert local(CALENDAR.add_working_days(friday, 2)) == "2026-04-07 15:00"
    saturday = at("2026-04-04 10:00")
    assert local(CALENDAR.add_working_days(saturday, 2)) == "2026-04-08 00:00"


def test_holidays_do_not_count():
    # Khmer New Year 14–16 April 2026 (Tue–Thu): Monday 13th + 2 working days → Monday 20th
    monday = at("2026-04-13 09:00")
    assert local(CALENDAR.add_working_days(monday, 2)) == "2026-04-20 09:00"
    assert local(WorkingCalendar().add_working_days(monday, 2)) == "2026-04-15 09:00"
    assert not CALENDAR.is_working_day(HOLIDAY)


def test_a_pause_moves_the_due_date_by_the_working_time_it_covered():
    start = at("2026-04-06 09:00")
    pause = [(at("2026-04-07 09:00"), at("2026-04-08 15:00"))]  # 30 working hours
    assert local(CALENDAR.add_working_days(start, 2, pause)) == "2026-04-09 15:00"
    assert local(CALENDAR.add_working_days(start, 5)) == "2026-04-13 09:00"
    weekend_pause = [(at("2026-04-10 12:00"), at("2026-04-13 00:00"))]  # Friday 12:00 → Monday: 12 h
    assert local(CALENDAR.add_working_days(start, 5, weekend_pause)) == "2026-04-13 21:00"


def test_elapsed_working_time_skips_weekend_holiday_and_pause():
    start, end = at("2026-04-10 00:00"), at("2026-04-20 00:00")  # Fri … Mon: Fri 10, Mon 13, Fri 17
    assert CALENDAR.elapsed(start, end) == timedelta(days=3)
    assert CALENDAR.elapsed(start, end, [(at("2026-04-13 12:00"), at("2026-04-17 12:00"))]) == timedelta(
        days=2
    )
    assert CALENDAR.elapsed(start, end, [(at("2026-04-13 00:00"), None)]) == timedelta(days=1)


def test_an_open_pause_stops_the_due_date():
    assert CALENDAR.add_working_days(MONDAY, 2, [(at("2026-04-07 00:00"), None)]) is None


def test_the_holiday_file_has_2026_and_2027_and_can_be_overridden(tmp_path, monkeypatch):
    holidays = load_holidays(DEFAULT_HOLIDAYS_FILE)
    assert {d.year for d in holidays} == {2026, 2027}
    assert date(2026, 4, 14) in holidays and date(2027, 11, 9) in holidays
    assert "to be confirmed each year by sub-decree" in DEFAULT_HOLIDAYS_FILE.read_text(encoding="utf-8")
    custom = tmp_path / "holidays.yaml"
    custom.write_text("holidays:\n  2026:\n    - {date: 2026-04-08, name: test day}\n", encoding="utf-8")
    monkeypatch.setenv("CHUMNUOY_HOLIDAYS_FILE", str(custom))
    assert holidays_file() == custom
    assert default_calendar().holidays == {date(2026, 4, 8)}


# ---------------------------------------------------------------- due dates on grievances


def test_grievance_due_dates_and_pause(db_session):
    g = svc.lodge(
        db_session,
        category_code="non_payment",
        channel="sms",
        address="+85512000199",
        now=MONDAY,
        area=Area.from_codes(commune_code="120101"),
        calendar=CALENDAR,
    )
    assert local(g.first_action_due_at) == "2026-04-08 09:00"
    # 15 working days from Monday 6 April, skipping 14–16 April and weekends → Thursday 30 April
    assert local(g.resolve_due_at) == "2026-04-30 09:00"
    svc.reply(
        db_session,
        g,
        "Which month was missing?",
        "officer:1",
        at("2026-04-07 09:00"),
        wait_for_citizen=True,
        calendar=CALENDAR,
    )
    assert g.waiting_for_citizen and g.resolve_due_at is None
    assert svc.sla_state(g, at("2026-06-01 09:00"), CALENDAR) == "paused"
    assert svc.enforce_sla(db_session, at("2026-06-01 09:00"), CALENDAR) == 0
    svc.add_details(db_session, g, "September", at("2026-04-08 09:00"), calendar=CALENDAR)
    assert not g.waiting_for_citizen
    db_session.refresh(g)
    assert local(g.resolve_due_at) == "2026-05-01 09:00"  # one working day later


# ---------------------------------------------------------------- breaches


def _staff(session):  # type: ignore[no-untyped-def]
    supervisor = create_officer(
        session,
        login="sup12",
        name="Supervisor PP",
        password="long-password-1",
        role="supervisor",
        area_code="12",
        agency="NSAF",
        phone="+85512999001",
        locale="en",
    )
    create_officer(
        session,
        login="supother",
        name="Other province",
        password="long-password-1",
        role="supervisor",
        area_code="17",
        agency="NSAF",
        phone="+85512999002",
    )
    admin = create_officer(
        session, login="admin", name="Admin", password="long-password-1", role="admin", phone="+85512999009"
    )
    return supervisor, admin


def test_first_action_breach_escalates_one_level_with_event_and_supervisor_alert(db_session):
    supervisor, _admin = _staff(db_session)
    g = svc.lodge(
        db_session,
        category_code="non_payment",
        channel="sms",
        address="+85512000199",
        now=MONDAY,
        area=Area.from_codes(commune_code="120101"),
        calendar=CALENDAR,
        locale="en",
    )
    assert svc.enforce_sla(db_session, at("2026-04-08 08:59"), CALENDAR) == 0
    assert g.level == "commune"
    assert svc.enforce_sla(db_session, at("2026-04-08 09:01"), CALENDAR) == 1
    db_session.refresh(g)
    assert (g.level, g.state) == ("district", "escalated")
    breach = next(e for e in g.events if e.type == "sla_breach")
    assert breach.actor == "system" and breach.payload["which"] == "first_action"
    assert any(e.type == "escalated" and e.payload["to"] == "district" for e in g.events)
    alerts = db_session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "alert")).all()
    assert [(m.address, m.channel) for m in alerts] == [(supervisor.phone, "sms")]
    assert g.reference in alerts[0].text and "district" in alerts[0].text
    citizen = db_session.scalars(select(OutboxMessage).where(OutboxMessage.address == "+85512000199")).all()
    assert any("district" in m.text for m in citizen)
    # the clock restarted at the new level: no second escalation straight away
    assert svc.enforce_sla(db_session, at("2026-04-08 09:05"), CALENDAR) == 0
    assert local(g.first_action_due_at) == "2026-04-10 09:01"


def test_resolve_breach_escalates_even_after_a_first_action(db_session):
    _staff(db_session)
    g = svc.lodge(
        db_session,
        category_code="non_payment",
        channel="sms",
        address="+85512000199",
        now=MONDAY,
        area=Area.from_codes(district_code="1201"),
        calendar=CALENDAR,
    )
    svc.assign(db_session, g, None, "officer:1", MONDAY + timedelta(hours=1))
    assert svc.enforce_sla(db_session, at("2026-04-30 08:00"), CALENDAR) == 0
    assert svc.enforce_sla(db_session, at("2026-04-30 09:30"), CALENDAR) == 1
    db_session.refresh(g)
    assert g.level == "province"
    assert next(e for e in g.events if e.type == "sla_breach").payload["which"] == "resolve"


def test_breach_at_national_level_alerts_the_admins(db_session):
    _supervisor, admin = _staff(db_session)
    g = svc.lodge(
        db_session,
        category_code="fraud",
        channel="sms",
        address="+85512000199",
        now=MONDAY,
        calendar=CALENDAR,
    )
    assert g.level == "national"
    assert svc.enforce_sla(db_session, at("2026-04-08 10:00"), CALENDAR) == 1
    db_session.refresh(g)
    assert g.level == "national"
    alerts = db_session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "alert")).all()
    assert [m.address for m in alerts] == [admin.phone]
    assert any(e.type == "alert" and e.payload["to"] == "admins" for e in g.events)


def test_officer_reminder_when_less_than_a_working_day_is_left(db_session):
    officer = create_officer(
        db_session,
        login="off1",
        name="Commune officer",
        password="long-password-1",
        role="officer",
        area_code="120101",
        agency="NSAF",
        phone="+85512999100",
        locale="en",
    )
    g = svc.lodge(
        db_session,
        category_code="non_payment",
        channel="sms",
        address="+85512000199",
        now=MONDAY,
        area=Area.from_codes(commune_code="120101"),
        calendar=CALENDAR,
    )
    svc.assign(db_session, g, officer.id, f"officer:{officer.id}", MONDAY)
    assert svc.remind_officers(db_session, at("2026-04-29 08:00"), CALENDAR) == 0
    assert svc.remind_officers(db_session, at("2026-04-29 10:00"), CALENDAR) == 1
    assert svc.remind_officers(db_session, at("2026-04-29 11:00"), CALENDAR) == 0
    (reminder,) = db_session.scalars(select(OutboxMessage).where(OutboxMessage.address == officer.phone))
    assert g.reference in reminder.text and "30 Apr 2026" in reminder.text
