"""Fixed-window rate limits: an interface with a SQL implementation (default) and a Redis one.

`hit(key, limit=, window=, now=)` counts one event for `key` in the window containing `now` and
says whether it is still within `limit`. Counting happens even past the limit (so a flood stays
refused until the window ends). Keys must not contain personal data in clear: callers pass
`hashed_key(...)`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Protocol

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.models.citizen import RateLimitCounter


def hashed_key(kind: str, *parts: str) -> str:
    """`kind:` + a SHA-256 of the parts (phone numbers and IDs never stored in clear as keys)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]
    return f"{kind}:{digest}"


def window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


class RateLimiter(Protocol):
    def hit(self, key: str, *, limit: int, window: timedelta, now: datetime) -> bool:
        """Count one event; True while the count in this window is ≤ limit."""
        ...

    def peek(self, key: str, *, window: timedelta, now: datetime) -> int:
        """The count so far in the window containing `now` (nothing is counted)."""
        ...


@cache
def _upsert(dialect: str) -> Any:
    """INSERT … ON CONFLICT (key, window_start) DO UPDATE SET count = count + 1 RETURNING count."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = RateLimitCounter.__table__
    return (insert(table)
            .on_conflict_do_update(index_elements=[table.c.key, table.c.window_start],
                                   set_={"count": table.c.count + 1})
            .returning(table.c.count))


@cache
def _count() -> Any:
    table = RateLimitCounter.__table__
    return select(table.c.count).where(table.c.key == bindparam("rl_key"),
                                       table.c.window_start == bindparam("rl_start"))


class SqlRateLimiter:
    """Counters in the portal database, in the caller's transaction (the caller commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._counted: dict[tuple[str, datetime], int] = {}
        """Counts this limiter's own `hit` returned: its row stays locked until the caller commits,
        so `peek` in the same transaction would read the same number."""

    def hit(self, key: str, *, limit: int, window: timedelta, now: datetime) -> bool:
        start = window_start(now, window)
        dialect = self.session.get_bind().dialect.name
        if dialect in ("sqlite", "postgresql"):  # one statement (it ran on every USSD first hop)
            values = {"key": key, "window_start": start, "count": 1, "expires_at": start + window}
            count = int(self.session.execute(_upsert(dialect), values).scalar_one())
            self._counted[(key, start)] = count
            return count <= limit
        bump = (
            update(RateLimitCounter)
            .where(RateLimitCounter.key == key, RateLimitCounter.window_start == start)
            .values(count=RateLimitCounter.count + 1)
        )
        if self.session.execute(bump).rowcount == 0:  # type: ignore[attr-defined]
            try:
                with self.session.begin_nested():
                    self.session.add(
                        RateLimitCounter(key=key, window_start=start, count=1, expires_at=start + window)
                    )
            except IntegrityError:  # another request created it meanwhile
                self.session.execute(bump)
        return self.peek(key, window=window, now=now) <= limit

    def peek(self, key: str, *, window: timedelta, now: datetime) -> int:
        start = window_start(now, window)
        if (key, start) in self._counted:
            return self._counted[(key, start)]
        count = self.session.execute(_count(), {"rl_key": key, "rl_start": start}).scalar()
        return int(count or 0)

    def purge(self, now: datetime) -> int:
        """Delete windows that have ended (run by a periodic job)."""
        result = self.session.execute(delete(RateLimitCounter).where(RateLimitCounter.expires_at <= now))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class RedisRateLimiter:
    """Counters in Redis (`INCR` + `EXPIRE`), for several web processes without database writes."""

    def __init__(self, client, prefix: str = "chumnuoy:rl:") -> None:  # type: ignore[no-untyped-def]
        self.client = client
        self.prefix = prefix

    def _key(self, key: str, window: timedelta, now: datetime) -> str:
        return f"{self.prefix}{key}:{int(window_start(now, window).timestamp())}"

    def hit(self, key: str, *, limit: int, window: timedelta, now: datetime) -> bool:
        name = self._key(key, window, now)
        pipe = self.client.pipeline()
        pipe.incr(name)
        pipe.expire(name, int(window.total_seconds()) + 1)
        count, _ = pipe.execute()
        return int(count) <= limit

    def peek(self, key: str, *, window: timedelta, now: datetime) -> int:
        value = self.client.get(self._key(key, window, now))
        return int(value or 0)


def rate_limiter_for(session: Session, redis_url: str | None = None) -> RateLimiter:
    """Redis when `REDIS_URL` is set (several web processes, no database writes), else SQL."""
    if redis_url:
        return RedisRateLimiter(_redis_client(redis_url))
    return SqlRateLimiter(session)


@cache
def _redis_client(url: str):  # type: ignore[no-untyped-def]
    """One client (and connection pool) per process: a new one per call opened a connection per hit."""
    import redis

    return redis.Redis.from_url(url)
