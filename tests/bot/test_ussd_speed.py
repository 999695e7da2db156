"""What the USSD hot path does differently for speed (SPEC §13), and that citizens cannot tell:
the first screen of a session (the plain main menu) is rebuilt rather than stored, state is stored
everywhere else, the identity is read in one query, any web process continues any session, and
SQLite writers queue at a gate instead of sleeping."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bot.runner import USSD_TTL
from bot.state import Conversation, SqlStateStore
from portal.models.conversation_state import ConversationState
from tests.bot.conftest import P1, USSD_KEY, UssdPhone, make_app

MENU_KEYS = ("1", "2", "3", "4", "98", "0", "00", "9", "x")


def onboard(client, phone: str) -> None:  # type: ignore[no-untyped-def]
    """Language (Khmer) and consent, over the webhook like a citizen."""
    first = UssdPhone(client, phone)
    assert "English" in first.dial()
    first.press("1")
    assert "ពិនិត្យសិទ្ធិ" in first.press("1")


def stored_keys(app) -> set[str]:  # type: ignore[no-untyped-def]
    with app.extensions["db_sessionmaker"]() as session:
        return set(session.scalars(select(ConversationState.key)))


def test_the_first_menu_is_not_stored_and_is_rebuilt_identically(app, client) -> None:
    for index, key in enumerate(MENU_KEYS):
        phone_number = f"+855129771{index:02d}"  # a phone each: a screen left mid-way offers to resume
        onboard(client, phone_number)
        rebuilt = UssdPhone(client, phone_number)
        assert rebuilt.dial().startswith("CON ១ ពិនិត្យសិទ្ធិ")
        assert f"ussd:{rebuilt.session_id}" not in stored_keys(app)  # nothing written for it
        # the same session, had its first screen been stored as before
        stored = UssdPhone(client, phone_number)
        with app.extensions["db_sessionmaker"]() as session:
            SqlStateStore(session).save(f"ussd:{stored.session_id}", Conversation(node="menu", locale="km"),
                                        USSD_TTL)
            session.commit()
        assert rebuilt.press(key) == stored.press(key), key


def test_state_is_stored_wherever_the_journey_needs_it(app, client, registry) -> None:
    phone_number = "+85512977002"
    onboard(client, phone_number)
    phone = UssdPhone(client, phone_number)
    phone.dial()
    more = phone.press("4")
    with app.extensions["db_sessionmaker"]() as session:
        store = SqlStateStore(session)
        saved = store.load(f"ussd:{phone.session_id}")
        resume = store.load(f"ussd-last:{phone_number}")
    assert saved is not None and saved.node == "more" and saved.stack == ["menu"] and saved.last_text == "4"
    assert resume is not None and resume.node == "more"  # a dropped session can resume here
    assert phone.press("0").startswith("CON ១ ពិនិត្យសិទ្ធិ")  # back at the menu: stored again, resume cleared
    with app.extensions["db_sessionmaker"]() as session:
        store = SqlStateStore(session)
        again = store.load(f"ussd:{phone.session_id}")
        assert again is not None and again.node == "menu" and again.last_text == "4*0"
        assert store.load(f"ussd-last:{phone_number}") is None
    assert phone.press("3") != more  # the stored menu, not a rebuilt first screen, answered
    assert registry.calls == []  # menus never reach the registry


def test_first_contact_screens_are_stored(app, client) -> None:
    phone = UssdPhone(client, "+85512977003")
    assert "English" in phone.dial()
    assert f"ussd:{phone.session_id}" in stored_keys(app)  # the language choice is not the menu


def test_a_session_moves_between_web_processes(portal_database_url, live_registry) -> None:
    """Two apps on one database (two gunicorn workers): hops alternate between them, screens are those
    of one app, whether the session's state was stored or rebuilt."""
    single, registry_a = make_app(portal_database_url, live_registry)
    other, registry_b = make_app(portal_database_url, live_registry)
    try:
        onboard(single.test_client(), P1)
        keys = ("4", "0", "3", "98", "0", "1", "0", "4", "00")
        alone = UssdPhone(single.test_client(), P1)
        expected = [alone.dial(), *(alone.press(key) for key in keys)]
        clients = [single.test_client(), other.test_client()]
        moving = UssdPhone(clients[1], P1)
        seen = [moving.dial()]
        for index, key in enumerate(keys):
            moving.client = clients[index % 2]
            seen.append(moving.press(key))
        assert seen == expected
    finally:
        for app, registry in ((single, registry_a), (other, registry_b)):
            registry.inner.close()  # type: ignore[attr-defined]
            app.extensions["db_engine"].dispose()


def test_the_glance_reads_language_and_consent_and_keeps_last_seen_to_the_minute(app, client) -> None:
    from bot.services import CONSENT_VERSION
    from portal.models.citizen import ChannelIdentity
    from portal.services import identity

    phone_number = "+85512977004"
    with app.extensions["db_sessionmaker"]() as session:
        assert identity.glance(session, "ussd", phone_number, CONSENT_VERSION) is None
    UssdPhone(client, phone_number).dial()  # first contact: the identity exists, no language yet
    with app.extensions["db_sessionmaker"]() as session:
        seen = identity.glance(session, "ussd", phone_number, CONSENT_VERSION)
        assert seen is not None and seen.language is None and not seen.consented
    onboard(client, phone_number)
    with app.extensions["db_sessionmaker"]() as session:
        citizen = session.scalar(select(ChannelIdentity).where(ChannelIdentity.address == phone_number))
        assert citizen is not None
        seen = identity.glance(session, "ussd", phone_number, CONSENT_VERSION)
        assert seen == identity.Glance(citizen.id, "km", True)
        assert identity.glance(session, "ussd", phone_number, "another-wording").consented is False  # type: ignore[union-attr]
        last = citizen.last_seen_at
        later = datetime.now(UTC) + timedelta(minutes=5)
        identity.glance(session, "ussd", phone_number, CONSENT_VERSION, later)
        session.commit()
        session.refresh(citizen)
        assert citizen.last_seen_at > last


def test_gateway_form_is_read_like_flask_reads_it(app, client) -> None:
    phone = UssdPhone(client, "+85512977005")
    body = client.post(f"/channels/ussd?key={USSD_KEY}",
                       data="sessionId=s1&sessionId=s2&phoneNumber=%2B85512977005&text=&serviceCode=%2A1234%23",
                       content_type="application/x-www-form-urlencoded")
    assert body.status_code == 200 and "English" in body.get_data(as_text=True)
    assert "ussd:s1" in stored_keys(app) and "ussd:s2" not in stored_keys(app)  # first value wins
    multipart = client.post(f"/channels/ussd?key={USSD_KEY}", data={
        "sessionId": "m1", "phoneNumber": phone.phone, "text": "", "serviceCode": "*1234#"},
        content_type="multipart/form-data")
    assert multipart.status_code == 200 and "English" in multipart.get_data(as_text=True)
    assert client.post("/channels/ussd?key=wrong", data={"sessionId": "x", "phoneNumber": phone.phone,
                                                         "text": ""}).status_code == 403
    assert "Set-Cookie" not in body.headers  # webhooks get no session cookie


# ------------------------------------------------------------------------------ SQLite write gate

@pytest.fixture
def sqlite_file(tmp_path):  # type: ignore[no-untyped-def]
    from chumnuoy.db import make_engine

    path = tmp_path / "gate.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    yield path, engine
    engine.dispose()


def test_writers_queue_at_the_gate_and_go_on_at_once(sqlite_file) -> None:
    from chumnuoy.db import make_engine

    path, first = sqlite_file
    second = make_engine(f"sqlite:///{path}")  # another engine (as another app) on the same file
    holding, waited = threading.Event(), []

    def writer() -> None:
        holding.wait()
        started = time.perf_counter()
        with Session(second) as session:
            session.execute(text("INSERT INTO t VALUES (2)"))
            session.commit()
        waited.append(time.perf_counter() - started)

    thread = threading.Thread(target=writer)
    thread.start()
    with Session(first) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == 1  # reads never wait
        holding.set()
        time.sleep(0.3)
        assert not waited  # the other writer is queued, not failing
        session.commit()
    thread.join(5)
    assert waited and 0.25 <= waited[0] < 1.0  # it went on as soon as the first committed
    with Session(first) as session:
        assert sorted(session.execute(text("SELECT n FROM t")).scalars()) == [1, 2]
    second.dispose()


def test_gate_gives_up_like_sqlite_does(sqlite_file) -> None:
    import sqlite3

    from chumnuoy.db import write_gate

    path, engine = sqlite_file
    gate = write_gate(str(path))
    gate.acquire()
    try:
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            gate.acquire(timeout=0.05)
    finally:
        gate.release()
    with Session(engine) as session:  # released: writes go through again
        session.execute(text("INSERT INTO t VALUES (3)"))
        session.commit()


def test_gate_is_held_across_processes(sqlite_file) -> None:
    import multiprocessing

    path, engine = sqlite_file
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    child = context.Process(target=_hold_a_write, args=(str(path), ready))
    child.start()
    assert ready.wait(10)
    started = time.perf_counter()
    with Session(engine) as session:
        session.execute(text("INSERT INTO t VALUES (5)"))
        session.commit()
    child.join(10)
    assert child.exitcode == 0 and time.perf_counter() - started >= 0.2
    with Session(engine) as session:
        assert sorted(session.execute(text("SELECT n FROM t")).scalars()) == [4, 5]


def _hold_a_write(path: str, ready) -> None:  # type: ignore[no-untyped-def]
    from chumnuoy.db import make_engine

    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        session.execute(text("INSERT INTO t VALUES (4)"))
        ready.set()
        time.sleep(0.3)
        session.commit()
    engine.dispose()


def test_state_store_upserts_several_keys_in_one_statement(db_session) -> None:
    store = SqlStateStore(db_session)
    first, second = Conversation(node="more", locale="en"), Conversation(node="complaint", stack=["menu"])
    store.save_many([("a", first, timedelta(minutes=5)), ("b", second, timedelta(minutes=5))])
    db_session.commit()
    store.save_many([("a", second, timedelta(minutes=5)), ("a", first, timedelta(minutes=5))])  # last wins
    db_session.commit()
    fresh = SqlStateStore(db_session)
    fresh.prefetch(["a", "b", "c"])
    assert fresh.load("a") == first and fresh.load("b") == second and fresh.load("c") is None
    assert Conversation.from_json(second.to_json()) == second
