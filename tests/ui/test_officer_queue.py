"""Scoping in SQL (portal/services/officer_queue.py): each role sees exactly its cases, whatever page
asks; a deactivated account sees nothing."""

from __future__ import annotations

from sqlalchemy import select

from portal.models.cases import Grievance
from portal.services import grievances, officers
from portal.services.officer_queue import QueueFilters, grievance_scope, queue
from tests.ui.conftest import PASSWORD


def _visible(session, officer) -> set[str]:  # type: ignore[no-untyped-def]
    return set(session.scalars(select(Grievance.reference).where(grievance_scope(officer))))


def test_each_role_sees_its_scope(app, world, session):
    every = set(session.scalars(select(Grievance.reference)))
    nsaf = every - {world.other_agency_case}
    accounts = world.officers
    assert _visible(session, accounts["admin"]) == every
    assert _visible(session, accounts["national"]) == nsaf
    assert _visible(session, accounts["supervisor"]) == nsaf  # all three NSAF cases are in the province
    assert _visible(session, accounts["other_supervisor"]) == set()
    assert _visible(session, accounts["district"]) == {world.p2_case, world.anonymous_case}
    assert _visible(session, accounts["mop"]) == {world.other_agency_case}

    p2 = grievances.get_by_reference(session, world.p2_case)
    commune = officers.create_officer(session, login="commune", name="Commune", password=PASSWORD,
                                      role="officer", area_code=p2.commune_code, agency="NSAF")
    assert _visible(session, commune) == {world.p2_case}  # the anonymous case is a district-level one
    grievances.escalate(session, p2, "officer:1", app.config["CHUMNUOY_CLOCK"]())
    assert _visible(session, commune) == set()  # now above the commune
    assert world.p2_case in _visible(session, accounts["district"])

    accounts["district"].active = False
    session.commit()
    assert _visible(session, accounts["district"]) == set()


def test_queue_is_sorted_by_due_date(app, world, session):
    rows = queue(session, world.officers["admin"], QueueFilters(), app.config["CHUMNUOY_CLOCK"]())
    dues = [row.grievance.resolve_due_at for row in rows]
    assert len(rows) == 4 and dues == sorted(dues)


def test_sla_filter_in_sql_matches_the_sla_state_of_every_case(db_session):
    """The SLA filter is applied in SQL before the page limit, and agrees with `sla_state` case by case."""
    from datetime import UTC, datetime, timedelta

    from portal.services.officer_queue import SLA_STATES, sla_condition
    from portal.services.working_time import default_calendar

    now = datetime(2026, 12, 16, 3, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Phnom Penh, no holiday near
    admin = officers.create_officer(db_session, login="sla-admin", name="Admin", password=PASSWORD,
                                    role="admin")
    for hours in (2, 20, 30, 44, 50, 70, 100, 200, 400, 800, 1500):
        g = grievances.lodge(db_session, category_code="non_payment", channel="sms",
                             address="+85512000199", now=now - timedelta(hours=hours))
        if hours == 70:
            grievances.pause(db_session, g, "officer:1", now - timedelta(hours=1))
        if hours == 200:
            grievances.resolve(db_session, g, resolution_code="paid", text="បានបង់ប្រាក់",
                               actor="officer:1", now=now - timedelta(hours=1))
    db_session.commit()
    calendar = default_calendar()
    every = list(db_session.scalars(select(Grievance)))
    seen = set()
    for state in SLA_STATES:
        expected = {g.reference for g in every if grievances.sla_state(g, now, calendar) == state}
        selected = set(db_session.scalars(
            select(Grievance.reference).where(sla_condition(state, now, calendar))))
        assert selected == expected, state
        rows = queue(db_session, admin, QueueFilters(sla=state), now, calendar, limit=2)
        assert {row.sla for row in rows} <= {state} and len(rows) == min(2, len(expected))
        if expected:
            seen.add(state)
    assert seen == set(SLA_STATES)  # the cases above cover every state
