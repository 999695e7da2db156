"""The case services' worker jobs (registered with portal.worker.job; imported by load_jobs()).

| job | every | does |
|---|---|---|
| outbox | 1 s | delivers due outbox rows (claims, rate limits, retries with backoff) |
| grievance_sla | 60 s | escalates breached cases one level, alerts supervisors/admins |
| grievance_auto_close | 10 min | closes resolved cases 14 days after resolution |
| grievance_reminders | 10 min | asks unrated citizens once to rate (3 days after resolution); |
|  |  | tells the assigned officer (SMS) when less than one working day is left |

Environment: CHUMNUOY_OUTBOX_RATE_SMS / CHUMNUOY_OUTBOX_RATE_TELEGRAM (messages per second per
channel across all workers; defaults 10 and 25), CHUMNUOY_OUTBOX_MAX_ATTEMPTS (default 8),
CHUMNUOY_OUTBOX_HTTP_URL / CHUMNUOY_OUTBOX_HTTP_TOKEN (generic JSON gateway, portal/services/senders.py),
CHUMNUOY_HOLIDAYS_FILE (the SLA holiday file).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import cache

from sqlalchemy.orm import Session, sessionmaker

from chumnuoy.db import make_engine
from chumnuoy.settings import get_settings
from portal.models.base import utcnow
from portal.services import grievances, outbox
from portal.services.senders import Sender, build_senders
from portal.worker import job

WORKER_ID = f"{socket.gethostname()}-{os.getpid()}"


@cache
def _factory() -> sessionmaker[Session]:
    return sessionmaker(make_engine(get_settings().database_url), expire_on_commit=False)


@contextmanager
def _session() -> Iterator[Session]:
    with _factory()() as session:
        yield session


@cache
def _senders() -> dict[str, Sender]:
    return build_senders(get_settings())


def delivery_policy() -> outbox.DeliveryPolicy:
    def rate(name: str, default: float) -> outbox.RateLimit:
        per_second = float(os.environ.get(name, default))
        return outbox.RateLimit(per_second, max(1.0, per_second * 2))

    return outbox.DeliveryPolicy(
        max_attempts=int(os.environ.get("CHUMNUOY_OUTBOX_MAX_ATTEMPTS", "8")),
        lease=timedelta(seconds=float(os.environ.get("CHUMNUOY_OUTBOX_LEASE_SECONDS", "300"))),
        rates={"sms": rate("CHUMNUOY_OUTBOX_RATE_SMS", 10.0),
               "telegram": rate("CHUMNUOY_OUTBOX_RATE_TELEGRAM", 25.0)},
    )


@job("outbox", every_seconds=1.0)
def deliver_outbox() -> int:
    senders = _senders()
    if not senders:
        return 0
    with _session() as session:
        return outbox.deliver_due(session, senders, worker_id=WORKER_ID, policy=delivery_policy())


@job("grievance_sla", every_seconds=60.0)
def grievance_sla() -> int:
    with _session() as session:
        return grievances.enforce_sla(session, utcnow())


@job("grievance_auto_close", every_seconds=600.0)
def grievance_auto_close() -> int:
    with _session() as session:
        return grievances.auto_close(session, utcnow())


@job("grievance_reminders", every_seconds=600.0)
def grievance_reminders() -> int:
    with _session() as session:
        now = utcnow()
        return grievances.remind_rating(session, now) + grievances.remind_officers(session, now)


@job("identity_housekeeping", every_seconds=3600.0)
def identity_housekeeping() -> int:
    """Drop ended rate-limit windows, spent one-time codes and lockouts."""
    from portal.services import identity

    with _session() as session:
        removed = identity.purge_expired(session, utcnow())
        session.commit()
        return removed
