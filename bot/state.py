"""Where conversation state lives: SQL by default, Redis when REDIS_URL is set; never process memory.

A store keeps JSON documents under string keys with a time to live, plus `claim(key, ttl)` (true
only the first time a key is claimed) used to drop repeated inbound messages.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


@dataclass
class Conversation:
    """Where one conversation stands. `stack` holds the nodes to go back to (`0`)."""

    node: str
    locale: str = "km"
    stack: list[str] = field(default_factory=list)
    page: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    last_text: str = ""
    """USSD: the gateway's cumulative `text` at the previous hop (to extract the new input)."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Conversation:
        return cls(**json.loads(text))


class StateStore(Protocol):
    def load(self, key: str) -> Conversation | None: ...

    def save(self, key: str, conversation: Conversation, ttl: timedelta) -> None: ...

    def delete(self, key: str) -> None: ...

    def claim(self, key: str, ttl: timedelta) -> bool:
        """True the first time `key` is claimed within `ttl`; False for a repeat."""
        ...


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class SqlStateStore:
    """State rows in the portal database (table `bot_conversations`), written in the caller's
    session: they commit together with whatever the turn stored (a grievance, a consent)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._absent: set[str] = set()
        """Keys known to have no row (saves a SELECT when they are saved)."""

    def prefetch(self, keys: list[str]) -> None:
        """Load several keys in one query (the first USSD hop reads the session and the resume keys)."""
        from portal.models.conversation_state import ConversationState

        rows = self._session.scalars(select(ConversationState).where(ConversationState.key.in_(keys)))
        self._absent.update(set(keys) - {row.key for row in rows})  # found rows stay in the identity map

    def load(self, key: str) -> Conversation | None:
        from portal.models.conversation_state import ConversationState

        row = None if key in self._absent else self._session.get(ConversationState, key)
        if row is None:
            self._absent.add(key)
        if row is None or _aware(row.expires_at) <= _now():
            return None
        return Conversation.from_json(row.payload)

    def save(self, key: str, conversation: Conversation, ttl: timedelta) -> None:
        """Written at commit (not flushed now): SQLite's write lock is then held only briefly."""
        from portal.models.conversation_state import ConversationState

        now = _now()
        row = None if key in self._absent else self._session.get(ConversationState, key)
        if row is None:
            row = ConversationState(key=key, payload="", expires_at=now)
            self._session.add(row)
            self._absent.discard(key)
        row.payload = conversation.to_json()
        row.updated_at = now
        row.expires_at = now + ttl

    def delete(self, key: str) -> None:
        from portal.models.conversation_state import ConversationState

        if key in self._absent:
            return
        self._absent.add(key)
        row = self._session.get(ConversationState, key)
        if row is None:
            return
        if row in self._session.new:
            self._session.expunge(row)
        else:
            self._session.delete(row)  # at commit, with the other writes

    def claim(self, key: str, ttl: timedelta) -> bool:
        from portal.models.conversation_state import ConversationState

        now = _now()
        full_key = f"seen:{key}"
        existing = self._session.get(ConversationState, full_key)
        if existing is not None:
            if _aware(existing.expires_at) > now:
                return False
            existing.expires_at = now + ttl
            existing.updated_at = now
            self._session.flush()
            return True
        try:
            with self._session.begin_nested():
                self._session.add(ConversationState(key=full_key, payload="1", updated_at=now,
                                                    expires_at=now + ttl))
        except IntegrityError:  # another worker claimed it at the same moment
            return False
        return True

    def purge_expired(self) -> int:
        from portal.models.conversation_state import ConversationState

        expired = delete(ConversationState).where(ConversationState.expires_at <= _now())
        result = self._session.execute(expired)
        return int(getattr(result, "rowcount", 0) or 0)


class RedisStateStore:
    """State in Redis with native expiry; claims use SET NX."""

    PREFIX = "chumnuoy:bot:"

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)

    def load(self, key: str) -> Conversation | None:
        raw = self._redis.get(self.PREFIX + key)
        return None if raw is None else Conversation.from_json(raw.decode("utf-8"))

    def save(self, key: str, conversation: Conversation, ttl: timedelta) -> None:
        if ttl <= timedelta(0):
            self.delete(key)
            return
        self._redis.set(self.PREFIX + key, conversation.to_json().encode("utf-8"),
                        px=int(ttl.total_seconds() * 1000))

    def delete(self, key: str) -> None:
        self._redis.delete(self.PREFIX + key)

    def claim(self, key: str, ttl: timedelta) -> bool:
        return bool(self._redis.set(self.PREFIX + "seen:" + key, b"1", nx=True,
                                    px=int(ttl.total_seconds() * 1000)))


@cache
def _redis_store(url: str) -> RedisStateStore:
    return RedisStateStore(url)


def make_store(redis_url: str, session: Session) -> StateStore:
    """Redis when configured (one client per process), else the SQL table in `session`."""
    return _redis_store(redis_url) if redis_url else SqlStateStore(session)
