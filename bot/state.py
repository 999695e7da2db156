"""Where conversation state lives: SQL by default, Redis when REDIS_URL is set; never process memory.

A store keeps JSON documents under string keys with a time to live, plus `claim(key, ttl)` (true
only the first time a key is claimed) used to drop repeated inbound messages.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Protocol

from sqlalchemy import Engine, delete, select
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
        # Not `asdict`: its deep copy costs more than the rest of a menu hop's serialisation.
        return json.dumps({"node": self.node, "locale": self.locale, "stack": self.stack, "page": self.page,
                           "data": self.data, "last_text": self.last_text}, ensure_ascii=False)

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


@cache
def _upsert(dialect: str) -> Any:
    """INSERT … ON CONFLICT (key) DO UPDATE (SQLite and PostgreSQL), executed with one parameter set
    per row (`key`, `payload`, `updated_at`, `expires_at`): one statement whatever the rows hold."""
    from portal.models.conversation_state import ConversationState

    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = ConversationState.__table__
    upsert = insert(table)
    return upsert.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"payload": upsert.excluded.payload, "updated_at": upsert.excluded.updated_at,
              "expires_at": upsert.excluded.expires_at})


@cache
def _remove() -> Any:
    from sqlalchemy import bindparam

    from portal.models.conversation_state import ConversationState

    table = ConversationState.__table__
    return delete(table).where(table.c.key == bindparam("state_key"))


@cache
def _read_statement(count: int, extra: tuple[Any, ...] = ()) -> Any:
    """SELECT of the payload and expiry of `count` keys (`state_key_0`, …) as scalar subqueries, plus
    `extra` columns: one row always, one round trip whatever is found."""
    from sqlalchemy import bindparam

    from portal.models.conversation_state import ConversationState

    table = ConversationState.__table__
    columns: list[Any] = []
    for index in range(count):
        where = table.c.key == bindparam(f"state_key_{index}")
        columns.append(select(table.c.payload).where(where).scalar_subquery().label(f"payload_{index}"))
        columns.append(select(table.c.expires_at).where(where).scalar_subquery().label(f"expires_{index}"))
    return select(*columns, *extra)


class SqlStateStore:
    """State rows in the portal database (table `bot_conversations`), written in the caller's
    session: they commit together with whatever the turn stored (a grievance, a consent).

    SQLAlchemy Core with statements built once (no ORM unit of work on the USSD hot path): a hop
    reads its keys in one query and writes at most one upsert, just before the adapter commits."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._known: dict[str, tuple[str, datetime] | None] = {}
        """Rows already read in this turn (None: no row): saves a SELECT, and a DELETE of nothing."""

    def prefetch(self, keys: list[str], extra: tuple[Any, ...] = (),
                 params: dict[str, Any] | None = None) -> Sequence[Any]:
        """Load several keys in one query (a USSD hop reads its session and resume keys), with the
        `extra` columns (bound by `params`) read in the same round trip; their values are returned."""
        keys = list(dict.fromkeys(keys))
        bound = {f"state_key_{index}": key for index, key in enumerate(keys)}
        statement, values = _read_statement(len(keys), extra), {**bound, **(params or {})}
        bind = self._session.get_bind()
        if isinstance(bind, Engine) and not self._session.in_transaction():
            # Nothing pending in the session: a plain pooled connection reads the same committed rows
            # without the ORM's transaction bookkeeping, and a hop that writes nothing never gives
            # the session a connection at all.
            with bind.connect() as connection:
                row = connection.execute(statement, values).one()
        else:
            row = self._session.execute(statement, values).one()
        for index, key in enumerate(keys):
            payload, expires_at = row[2 * index], row[2 * index + 1]
            self._known[key] = None if payload is None else (payload, expires_at)
        return row[2 * len(keys):]

    def load(self, key: str) -> Conversation | None:
        if key not in self._known:
            self.prefetch([key])
        row = self._known[key]
        if row is None or _aware(row[1]) <= _now():
            return None
        return Conversation.from_json(row[0])

    def save(self, key: str, conversation: Conversation, ttl: timedelta) -> None:
        self.save_many([(key, conversation, ttl)])

    def save_many(self, items: list[tuple[str, Conversation, timedelta]]) -> None:
        """One upsert for all `items`, executed now: callers save last, just before committing, so
        that SQLite's write lock is held only briefly."""
        items = list({key: (key, conversation, ttl) for key, conversation, ttl in items}.values())
        if not items:
            return
        now = _now()
        rows = [{"key": key, "payload": conversation.to_json(), "updated_at": now, "expires_at": now + ttl}
                for key, conversation, ttl in items]
        self._session.execute(_upsert(self._session.get_bind().dialect.name), rows)
        for row in rows:
            self._known[row["key"]] = (row["payload"], row["expires_at"])

    def delete(self, key: str) -> None:
        if key in self._known and self._known[key] is None:
            return
        self._session.execute(_remove(), {"state_key": key})
        self._known[key] = None

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
