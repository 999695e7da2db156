"""`GET /metrics`: Prometheus text format.

Who may read it: callers on the loopback interface that did not come through a proxy (no
`X-Forwarded-For` / `Forwarded` header), and anyone presenting `Authorization: Bearer
$CHUMNUOY_METRICS_TOKEN` when that token is set; everyone else gets 403. The numbers are not personal
data, but volumes, failures and backlog are operational details the public need not see.

What it answers: the counters and histograms of every process of the deployment (this web's gunicorn
workers and every `worker`, added up from prometheus_client's multiprocess files, see
chumnuoy/metrics.py), plus gauges read from the database at scrape time with a few aggregate queries
that use existing indexes: the outbox backlog by channel and status (pending, sending, failed), the age
of the oldest due outbox message, active grievances past their SLA by level, and the age of the newest
worker heartbeat.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator
from datetime import datetime

from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import and_, func, or_, select

from chumnuoy import metrics
from portal.db import engine_of
from portal.models.base import utcnow
from portal.models.cases import Grievance, OutboxMessage
from portal.observability import heartbeat

bp = Blueprint("metrics", __name__)

BACKLOG_STATUSES = ("pending", "sending", "failed")
ACTIVE_GRIEVANCE_STATES = ("received", "in_review", "escalated", "reopened")
"""portal.services.grievances.ACTIVE_STATES (not imported: that module pulls in the whole case service)."""


def _seconds_since(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else max(0.0, (now - moment).total_seconds())


class DatabaseCollector(Collector):
    """Facts of the database, read at scrape time."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("chumnuoy_database_up", "1 when the scrape could read the database")
        try:
            families = list(self._families())
        except Exception:
            self.app.logger.exception("metrics: database gauges failed")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self) -> Iterable[Metric]:
        now = utcnow()
        backlog = GaugeMetricFamily("chumnuoy_outbox_messages",
                                    "Outbox messages waiting (pending, sending) or given up (failed)",
                                    labels=["channel", "status"])
        oldest = GaugeMetricFamily("chumnuoy_outbox_oldest_due_seconds",
                                   "How long the oldest due, undelivered outbox message has waited",
                                   labels=["channel"])
        past_sla = GaugeMetricFamily("chumnuoy_grievances_past_sla",
                                     "Active grievances past a deadline (first action or resolution), "
                                     "not paused; the SLA job escalates them", labels=["level"])
        beat = GaugeMetricFamily("chumnuoy_worker_heartbeat_age_seconds",
                                 "Seconds since the newest worker heartbeat (absent: never seen)")
        with engine_of(self.app).connect() as connection:
            rows = connection.execute(
                select(OutboxMessage.channel, OutboxMessage.status, func.count())
                .where(OutboxMessage.status.in_(BACKLOG_STATUSES))
                .group_by(OutboxMessage.channel, OutboxMessage.status))
            seen = {(channel, status): count for channel, status, count in rows}
            for channel in ("sms", "telegram"):
                for status in BACKLOG_STATUSES:
                    seen.setdefault((channel, status), 0)
            for (channel, status), count in sorted(seen.items()):
                backlog.add_metric([channel, status], count)
            rows = connection.execute(
                select(OutboxMessage.channel, func.min(OutboxMessage.next_attempt_at))
                .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
                .group_by(OutboxMessage.channel))
            ages = {channel: _seconds_since(moment, now) or 0.0 for channel, moment in rows}
            for channel in ("sms", "telegram"):
                oldest.add_metric([channel], ages.pop(channel, 0.0))
            for channel, age in ages.items():
                oldest.add_metric([channel], age)
            rows = connection.execute(
                select(Grievance.level, func.count())
                .where(Grievance.state.in_(ACTIVE_GRIEVANCE_STATES), Grievance.waiting_for_citizen.is_(False),
                       or_(Grievance.resolve_due_at <= now,
                           and_(Grievance.first_action_at.is_(None), Grievance.first_action_due_at <= now)))
                .group_by(Grievance.level))
            for level, count in rows:
                past_sla.add_metric([level], count)
            last = heartbeat.last_beat(connection)
        if last is not None:
            beat.add_metric([], _seconds_since(last, now) or 0.0)
        return [backlog, oldest, past_sla, beat]


class _FilesCollector(Collector):
    """The multiprocess files of this web and of every worker of the deployment, added up."""

    def collect(self) -> Iterable[Metric]:
        return MultiProcessCollector.merge(metrics.multiprocess_files(), accumulate=True)


class _InProcessCollector(Collector):
    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def allowed() -> bool:
    token = current_app.config["CHUMNUOY_SETTINGS"].metrics_token
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    proxied = "X-Forwarded-For" in request.headers or "Forwarded" in request.headers
    return not proxied and request.remote_addr in ("127.0.0.1", "::1")


def exposition(app: Flask) -> bytes:
    metrics.flush()  # this process's recent hops; other processes flush within a second
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_FilesCollector() if metrics.multiprocess() else _InProcessCollector())
    registry.register(DatabaseCollector(app))
    return generate_latest(registry)


@bp.get("/metrics")
def metrics_endpoint() -> Response:
    if not allowed():
        abort(403)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return Response(exposition(app), content_type=CONTENT_TYPE_LATEST)
