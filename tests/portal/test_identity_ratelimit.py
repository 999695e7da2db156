"""Rate limiters: SQL (default) and Redis, same behaviour."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.services.ratelimit import RedisRateLimiter, SqlRateLimiter, hashed_key
from tests.portal.citizen_fixtures import NOW, registry_fixture  # noqa: F401 (fixture)


def exercise(limiter) -> None:
    key = hashed_key("test", "+85512000101")
    window = timedelta(minutes=10)
    assert "85512000101" not in key
    assert [limiter.hit(key, limit=3, window=window, now=NOW + timedelta(seconds=i)) for i in range(5)] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert limiter.peek(key, window=window, now=NOW) == 5
    assert limiter.hit(hashed_key("test", "other"), limit=3, window=window, now=NOW)
    assert limiter.hit(key, limit=3, window=window, now=NOW + timedelta(minutes=10))  # next window


def test_sql_rate_limiter(db_session) -> None:
    limiter = SqlRateLimiter(db_session)
    exercise(limiter)
    db_session.commit()
    assert limiter.purge(NOW + timedelta(hours=1)) == 3


def test_redis_rate_limiter(redis_url) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("redis not reachable")
    prefix = f"test-e2-{NOW.timestamp()}-{id(client)}:"
    exercise(RedisRateLimiter(client, prefix=prefix))
    assert all(0 < client.ttl(name) <= 601 for name in client.scan_iter(prefix + "*"))
    client.delete(*client.scan_iter(prefix + "*"))


def test_rate_limiter_choice(db_session, redis_url) -> None:
    from portal.services.ratelimit import rate_limiter_for

    assert isinstance(rate_limiter_for(db_session, None), SqlRateLimiter)
    assert isinstance(rate_limiter_for(db_session, redis_url), RedisRateLimiter)


def test_purge_expired(db_session, registry) -> None:
    from portal.services import identity as ident

    person = ident.identity_for(db_session, "sms", "+85512000199", NOW)
    ident.check_date_of_birth(db_session, registry, person, "01011990", NOW)
    db_session.commit()
    assert ident.purge_expired(db_session, NOW + timedelta(hours=1)) == 1  # the hour's DOB counter only
    assert ident.purge_expired(db_session, NOW + timedelta(days=2)) == 1  # then the stale failure count
