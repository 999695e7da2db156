"""Telegram flood limits shared by every process that talks to the Bot API (worker replies, the outbox
sender, several workers at once): nothing here lives in process memory.

- 1 message a second per chat: a "next slot" per chat (≥ 1 s between two messages to one chat), kept
  as a row of the rate-limit table (`rate_limit_counters`, atomic conditional UPDATE) or a Redis key
  (`SET NX PX`). A fixed window could let two messages through 10 ms apart across a second boundary.
- 30 messages a second for the bot and 20 a minute per group chat: counted with the shared
  fixed-window limiter of `portal/services/ratelimit.py` (SQL, or Redis with REDIS_URL).
- RetryAfter (HTTP 429) pauses the whole bot: the pause is a slot too, seen by every process.

`reserve(chat_id)` answers 0 (send now; the slot is taken) or the seconds to wait. Keys are hashed
(chat ids are personal data).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from portal.services.ratelimit import RateLimiter, RedisRateLimiter, SqlRateLimiter, hashed_key, window_start

PER_CHAT = timedelta(seconds=1.1)
"""≥ 1 s between two messages to one chat, plus a margin for the jitter of the HTTP calls."""
BOT_PER_SECOND = 30
GROUP_PER_MINUTE = 20
SLOT_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""`window_start` of slot rows (one row per key; `expires_at` is when the slot is free again)."""
PAUSE_KEY = "tg-pause:bot"


def _now() -> datetime:
    return datetime.now(UTC)


class SlotStore:
    """`take(key, hold, now)`: 0 when the slot was free (now held for `hold`), else seconds until free."""

    def __init__(self, sessions: sessionmaker[Session], redis_url: str = "", namespace: str = "") -> None:
        self.sessions, self.redis_url = sessions, redis_url
        self.prefix = f"chumnuoy:slot:{namespace}"

    def take(self, key: str, hold: timedelta, now: datetime) -> float:
        if hold <= timedelta(0):  # no spacing asked for
            return 0.0
        if self.redis_url:
            return self._take_redis(key, hold)
        return self._take_sql(key, hold, now)

    def free_in(self, key: str, now: datetime) -> float:
        """Seconds until `key` is free (0 = free), without taking it."""
        if self.redis_url:
            left = _redis(self.redis_url).pttl(self.prefix + key)
            return max(0.0, left / 1000) if left and left > 0 else 0.0
        from portal.models.citizen import RateLimitCounter

        with self.sessions() as session:
            until = session.scalar(select(RateLimitCounter.expires_at).where(
                RateLimitCounter.key == key, RateLimitCounter.window_start == SLOT_EPOCH))
        return 0.0 if until is None else max(0.0, (_aware(until) - now).total_seconds())

    def hold_until(self, key: str, until: datetime, now: datetime) -> None:
        """Make `key` busy until `until` (kept when it is busy longer already)."""
        if self.redis_url:
            milliseconds = int((until - now).total_seconds() * 1000)
            if milliseconds > 0 and _redis(self.redis_url).pttl(self.prefix + key) < milliseconds:
                _redis(self.redis_url).set(self.prefix + key, b"1", px=milliseconds)
            return
        from portal.models.citizen import RateLimitCounter

        with self.sessions() as session:
            row = session.scalar(select(RateLimitCounter).where(
                RateLimitCounter.key == key, RateLimitCounter.window_start == SLOT_EPOCH))
            if row is None:
                try:
                    with session.begin_nested():
                        session.add(_new_slot(key, until))
                except IntegrityError:  # made at the same moment by another process: a pause is there
                    pass
            elif _aware(row.expires_at) < until:
                row.expires_at = until
            session.commit()

    def _take_sql(self, key: str, hold: timedelta, now: datetime) -> float:
        from portal.models.citizen import RateLimitCounter

        with self.sessions() as session:
            taken = session.execute(update(RateLimitCounter).where(
                RateLimitCounter.key == key, RateLimitCounter.window_start == SLOT_EPOCH,
                RateLimitCounter.expires_at <= now).values(expires_at=now + hold)).rowcount  # type: ignore[attr-defined]
            if taken == 1:
                session.commit()
                return 0.0
            until = session.scalar(select(RateLimitCounter.expires_at).where(
                RateLimitCounter.key == key, RateLimitCounter.window_start == SLOT_EPOCH))
            if until is not None:
                session.rollback()
                return max(0.01, (_aware(until) - now).total_seconds())
            try:
                with session.begin_nested():
                    session.add(_new_slot(key, now + hold))
            except IntegrityError:  # another process took it at the same moment
                session.rollback()
                return hold.total_seconds()
            session.commit()
            return 0.0

    def _take_redis(self, key: str, hold: timedelta) -> float:
        client = _redis(self.redis_url)
        name = self.prefix + key
        if client.set(name, b"1", nx=True, px=max(1, int(hold.total_seconds() * 1000))):
            return 0.0
        left = client.pttl(name)
        return max(0.01, left / 1000) if left and left > 0 else 0.01


@cache
def _redis(url: str):  # type: ignore[no-untyped-def]
    import redis

    return redis.Redis.from_url(url)


def _new_slot(key: str, until: datetime):  # type: ignore[no-untyped-def]
    from portal.models.citizen import RateLimitCounter

    return RateLimitCounter(key=key, window_start=SLOT_EPOCH, count=1, expires_at=until)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class TelegramPacer:
    def __init__(self, sessions: sessionmaker[Session], redis_url: str = "", *,
                 per_chat: timedelta = PER_CHAT, bot_per_second: int = BOT_PER_SECOND,
                 group_per_minute: int = GROUP_PER_MINUTE, clock: Callable[[], datetime] = _now,
                 sleep: Callable[[float], None] = time.sleep, namespace: str = "") -> None:
        """`namespace` prefixes every Redis key (separate bots, or tests sharing one Redis)."""
        self.sessions, self.redis_url, self.namespace = sessions, redis_url, namespace
        self.slots = SlotStore(sessions, redis_url, namespace)
        self.per_chat, self.bot_per_second, self.group_per_minute = per_chat, bot_per_second, group_per_minute
        self.clock, self.sleep = clock, sleep

    def _count(self, key: str, limit: int, window: timedelta, now: datetime) -> float:
        with self.sessions() as session:
            limiter: RateLimiter = (RedisRateLimiter(_redis(self.redis_url), f"chumnuoy:rl:{self.namespace}")
                                    if self.redis_url else SqlRateLimiter(session))
            allowed = limiter.hit(key, limit=limit, window=window, now=now)
            session.commit()
        if allowed:
            return 0.0
        return max(0.01, (window_start(now, window) + window - now).total_seconds())

    def reserve(self, chat_id: int | str) -> float:
        """0: send now (counted); otherwise the seconds to wait before asking again."""
        now = self.clock()
        paused = self.slots.free_in(PAUSE_KEY, now)
        if paused:
            return paused
        chat = str(chat_id)
        wait = self.slots.take(hashed_key("tg-chat", chat), self.per_chat, now)
        if wait:
            return wait
        if chat.startswith("-"):  # a group or channel: 20 messages a minute
            wait = self._count(hashed_key("tg-group", chat), self.group_per_minute, timedelta(minutes=1), now)
            if wait:
                return wait
        return self._count("tg-bot", self.bot_per_second, timedelta(seconds=1), now)

    def wait_turn(self, chat_id: int | str, max_wait: float) -> float:
        """Wait (sleeping) for a slot up to `max_wait` seconds: 0 when it may send now, else the wait
        still needed (the caller defers the message)."""
        waited = 0.0
        while True:
            wait = self.reserve(chat_id)
            if not wait:
                return 0.0
            if waited + wait > max_wait:
                return wait
            self.sleep(wait)
            waited += wait

    def pause(self, seconds: float) -> None:
        """Telegram said RetryAfter: no process sends to the Bot API for `seconds`."""
        now = self.clock()
        self.slots.hold_until(PAUSE_KEY, now + timedelta(seconds=seconds), now)

    def paused_for(self) -> float:
        return self.slots.free_in(PAUSE_KEY, self.clock())
