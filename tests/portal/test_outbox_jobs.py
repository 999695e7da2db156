"""The worker jobs, run as the `worker` process runs them (settings from the environment)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from chumnuoy.settings import get_settings
from portal.models.base import utcnow
from portal.models.cases import Grievance, OutboxMessage
from portal.services import grievances, outbox
from tests.portal.cases_support import gateway  # noqa: F401 (fixture)


def test_worker_jobs_deliver_and_close(monkeypatch, portal_database_url, portal_engine, gateway):  # noqa: F811
    from portal import jobs
    from portal.worker import load_jobs

    monkeypatch.setenv("DATABASE_URL", portal_database_url)
    monkeypatch.setenv("CHUMNUOY_OUTBOX_HTTP_URL", gateway.url)
    for cached in (get_settings, jobs._factory, jobs._senders):
        cached.cache_clear()
    try:
        assert {"outbox", "grievance_sla", "grievance_auto_close", "grievance_reminders",
                "identity_housekeeping"} <= {j.name for j in load_jobs()}
        assert jobs.identity_housekeeping() == 0  # nothing stale in a new database
        with Session(portal_engine, expire_on_commit=False) as session:
            outbox.enqueue(session, channel="telegram", address="42", text="សួស្តី", kind="notice")
            g = grievances.lodge(session, category_code="other", channel="sms", address="+85512000199",
                                 now=utcnow() - timedelta(days=20))
            grievances.resolve(session, g, resolution_code="info", text="done", actor="officer:1",
                               now=utcnow() - timedelta(days=15))
        assert jobs.grievance_auto_close() == 1
        assert jobs.deliver_outbox() >= 1
        assert jobs.grievance_sla() == 0
        with Session(portal_engine) as session:
            assert session.scalar(select(Grievance.state)) == "closed"
            statuses = {m.status for m in session.scalars(select(OutboxMessage))}
        assert statuses == {"sent"}
        assert any(r["to"] == "42" and r["channel"] == "telegram" for r in gateway.received)
    finally:
        for cached in (get_settings, jobs._factory, jobs._senders):
            cached.cache_clear()
