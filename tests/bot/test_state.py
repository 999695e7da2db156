"""Conversation state: SQL by default, Redis when REDIS_URL is set; never in process memory."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.state import Conversation, RedisStateStore, SqlStateStore
from tests.bot.conftest import P1, P6, SmsPhone, UssdPhone, make_app


def exercise(store, commit=lambda: None) -> None:
    conversation = Conversation(node="complaint", locale="km", stack=["menu"], data={"a": "ខ្មែរ"})
    assert store.load("k") is None
    store.save("k", conversation, timedelta(minutes=5))
    commit()
    loaded = store.load("k")
    assert loaded == conversation
    store.save("gone", conversation, timedelta(milliseconds=-1))  # already expired
    commit()
    assert store.load("gone") is None
    assert store.claim("msg-1", timedelta(minutes=5)) is True
    commit()
    assert store.claim("msg-1", timedelta(minutes=5)) is False
    store.delete("k")
    commit()
    assert store.load("k") is None


def test_sql_store(db_session) -> None:
    exercise(SqlStateStore(db_session), db_session.commit)


def test_redis_store(redis_url) -> None:
    exercise(RedisStateStore(redis_url))


@pytest.fixture
def redis_app(portal_database_url, live_registry, redis_url):
    app, registry = make_app(portal_database_url, live_registry, redis_url=redis_url)
    yield app
    registry.inner.close()
    app.extensions["db_engine"].dispose()


def test_state_lives_in_redis_when_configured(redis_app, redis_url) -> None:
    import redis

    from portal.models.conversation_state import ConversationState

    client = redis_app.test_client()
    phone = UssdPhone(client, P1)
    phone.dial()
    phone.press("1")
    assert "ពិនិត្យសិទ្ធិ" in phone.press("1")
    assert "ស្ថានភាពបណ្តឹង" in phone.press("4")
    sms = SmsPhone(client, P6)
    sms.send("hi", message_id="r-1")
    assert sms.send("hi", message_id="r-1") is None  # dedup in Redis too
    keys = {k.decode() for k in redis.Redis.from_url(redis_url).keys("chumnuoy:bot:*")}
    assert f"chumnuoy:bot:ussd:{phone.session_id}" in keys and f"chumnuoy:bot:sms:{P6}" in keys
    assert "chumnuoy:bot:seen:sms:gateway:r-1" in keys
    with redis_app.extensions["db_sessionmaker"]() as session:
        assert session.scalars(select(ConversationState)).all() == []
    # a second app (another web process) continues the same USSD session from Redis
    other = UssdPhone(redis_app.test_client(), P1, session_id=phone.session_id, inputs=list(phone.inputs))
    assert "ពិនិត្យសិទ្ធិ" in other.press("0")


def test_sql_state_survives_a_new_app(portal_database_url, live_registry) -> None:
    """No process memory: a fresh app on the same database continues the conversation."""
    first, registry = make_app(portal_database_url, live_registry)
    phone = UssdPhone(first.test_client(), P6)
    phone.dial()
    phone.press("2")
    phone.press("1")
    more = phone.press("4")
    second, registry2 = make_app(portal_database_url, live_registry)
    other = UssdPhone(second.test_client(), P6, session_id=phone.session_id, inputs=list(phone.inputs))
    assert other.press("0").startswith("CON 1 Check eligibility")
    assert "Complaint status" in more
    for app, reg in ((first, registry), (second, registry2)):
        reg.inner.close()
        app.extensions["db_engine"].dispose()
