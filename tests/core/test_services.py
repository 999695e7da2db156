"""The throwaway PostgreSQL and Redis of scripts/services.sh are real servers."""

import redis
from sqlalchemy import create_engine, text


def test_postgres_is_a_real_server(pg_admin_url, new_database):
    engine = create_engine(pg_admin_url)
    with engine.connect() as connection:
        version = connection.execute(text("SHOW server_version")).scalar()
    assert int(version.split(".")[0]) >= 13
    engine.dispose()


def test_fresh_databases_are_isolated(new_database):
    first, second = new_database("one"), new_database("two")
    assert first != second
    engine = create_engine(first)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
    engine.dispose()
    other = create_engine(second)
    with other.connect() as connection:
        tables = connection.execute(
            text("SELECT count(*) FROM information_schema.tables WHERE table_name = 't'")
            if other.dialect.name == "postgresql"
            else text("SELECT count(*) FROM sqlite_master WHERE name = 't'")
        ).scalar()
    assert tables == 0
    other.dispose()


def test_redis_is_a_real_server(redis_url):
    client = redis.Redis.from_url(redis_url)
    client.set("chumnuoy:test", "សួស្តី")
    assert client.get("chumnuoy:test").decode() == "សួស្តី"
    assert client.info("server")["redis_version"]
