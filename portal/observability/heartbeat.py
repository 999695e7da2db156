"""The worker's heartbeat: each `worker` process writes "I was alive at T" every BEAT_SECONDS;
`/healthz` and `/metrics` read the newest beat of any worker.

The beat is a row of `rate_limit_counters` (key `worker.heartbeat:<host>-<pid>`, `window_start` = the
beat, `expires_at` = the beat + 1 hour, so identity housekeeping removes the rows of workers that are
gone). Reusing that key/time table avoids a migration for one row per worker; the key prefix cannot
collide with a rate-limit key (those are `<scope>:<hash>`). It lives in the database, not in Redis,
because the database is the one store every deployment has and web and worker always share it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.orm import Session

from portal.models.base import utcnow
from portal.models.citizen import RateLimitCounter

PREFIX = "worker.heartbeat:"
_PREFIX_END = PREFIX[:-1] + chr(ord(PREFIX[-1]) + 1)
"""Keys with PREFIX sort in [PREFIX, _PREFIX_END): a range the (key, window_start) index answers."""
BEAT_SECONDS = 10.0
STALE_SECONDS = 60.0
"""No beat for this long = the worker is stuck or gone (a beat is missed while one job runs long)."""
KEEP = timedelta(hours=1)


def beat(session: Session, worker_id: str, now: datetime | None = None) -> None:
    """Record that `worker_id` is alive now (one UPDATE, an INSERT the first time)."""
    now = now or utcnow()
    key = PREFIX + worker_id
    table = RateLimitCounter.__table__
    updated = session.execute(update(table).where(table.c.key == key)
                              .values(window_start=now, expires_at=now + KEEP)).rowcount
    if not updated:
        session.execute(insert(table).values(key=key, window_start=now, count=0, expires_at=now + KEEP))
    session.commit()


def last_beat(connection: Connection | Session) -> datetime | None:
    """The newest beat of any worker, or None when no worker has beaten in the last hour."""
    return connection.execute(
        select(func.max(RateLimitCounter.window_start))
        .where(RateLimitCounter.key >= PREFIX, RateLimitCounter.key < _PREFIX_END)).scalar()


def age_seconds(connection: Connection | Session, now: datetime | None = None) -> float | None:
    last = last_beat(connection)
    if last is None:
        return None
    return max(0.0, ((now or utcnow()) - last).total_seconds())
