"""A worker killed after `grievances.lodge()` committed but before the update was marked processed:
the retried update acknowledges the same complaint and never lodges a second one."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from chumnuoy import ROOT
from portal.models.cases import Grievance
from portal.models.telegram import TelegramUpdate
from tests.telegram.conftest import TOKEN, _update_ids

DOOMED_WORKER = """
import os, signal, sys
from dataclasses import replace
from sqlalchemy.orm import sessionmaker
from bot.state import SqlStateStore
from bot.telegram.api import BotRunner
from bot.telegram.updates import process_due
from chumnuoy.db import make_engine
from chumnuoy.settings import Settings
from portal.services import grievances

database_url, api_url, token = sys.argv[1:4]
real_lodge = grievances.lodge

def lodge_then_die(*args, **kwargs):
    real_lodge(*args, **kwargs)  # committed
    os.kill(os.getpid(), signal.SIGKILL)  # dies before the update row is marked done

def no_registry():
    raise RuntimeError("a level-0 complaint needs no registry")

grievances.lodge = lodge_then_die
settings = replace(Settings(), database_url=database_url, telegram_bot_token=token,
                   telegram_api_base_url=api_url)
sessions = sessionmaker(make_engine(database_url), expire_on_commit=False)
process_due(sessions, BotRunner(settings), registry_factory=no_registry, store_factory=SqlStateStore,
            worker_id="doomed")
sys.exit(3)
"""


def _describe_update(user, text: str) -> dict:
    return {"update_id": next(_update_ids), "message": {
        "message_id": next(_update_ids), "date": 1, "from": user.sender, "text": text,
        "chat": {"id": user.user_id, "type": "private"}}}


def _to_description_step(harness, user_id: int):
    user = harness.user(user_id, "Dara")
    user.start_in_english()
    user.press("Make a complaint")
    assert "few words" in user.press(user.buttons()[0]["text"])
    return user


def test_worker_killed_between_lodge_and_done_does_not_lodge_twice(harness, portal_database_url) -> None:
    user = _to_description_step(harness, 7301)
    pending = _describe_update(user, "My payment of October never came")
    assert harness.post(pending) == 200
    child = subprocess.run([sys.executable, "-c", DOOMED_WORKER, portal_database_url, harness.bot_api.url,
                            TOKEN], cwd=ROOT, capture_output=True, timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    with harness.sessions() as session:
        lodged = session.scalars(select(Grievance)).all()
        row = session.get(TelegramUpdate, pending["update_id"])
        assert len(lodged) == 1 and lodged[0].description == "My payment of October never came"
        assert row.status == "processing" and row.claimed_by == "doomed"  # the crash left it claimed
    assert user.new_calls() == []  # the dead worker acknowledged nothing

    after_lease = datetime.now(UTC) + timedelta(minutes=3)  # the dead worker's claim has expired
    assert harness.process(now=after_lease) == 1
    ack = user.last_text(user.new_calls())
    with harness.sessions() as session:
        lodged = session.scalars(select(Grievance)).all()
        assert len(lodged) == 1  # not twice
        assert lodged[0].reference in ack
        assert session.get(TelegramUpdate, pending["update_id"]).status == "done"
        assert sum(e.type == "lodged" for e in lodged[0].events) == 1


def test_a_replayed_update_whose_turn_was_saved_is_not_applied_again(harness) -> None:
    """With Redis state the turn can be saved while the row is still `processing`; the retry then
    repeats where the conversation is (the acknowledgement) instead of treating the text anew."""
    user = _to_description_step(harness, 7302)
    described = _describe_update(user, "The officer asked me for money")
    ack = user.last_text(user.deliver(described))
    with harness.sessions() as session:
        reference = session.scalars(select(Grievance.reference)).one()
        assert reference in ack
        session.execute(update(TelegramUpdate).where(TelegramUpdate.update_id == described["update_id"])
                        .values(status="pending"))
        session.commit()
    assert harness.process() == 1
    again = user.last_text(user.new_calls())
    assert reference in again
    with harness.sessions() as session:
        assert len(session.scalars(select(Grievance)).all()) == 1


def test_lodge_with_the_same_dedupe_key_returns_the_first_grievance(harness) -> None:
    from portal.services import grievances

    now = datetime.now(UTC)
    with harness.sessions() as session:
        first = grievances.lodge(session, category_code="non_payment", channel="telegram", now=now,
                                 address="7303", description="a", dedupe_key="telegram:update:1")
        again = grievances.lodge(session, category_code="non_payment", channel="telegram", now=now,
                                 address="7303", description="a", dedupe_key="telegram:update:1")
        other_chat = grievances.lodge(session, category_code="non_payment", channel="telegram", now=now,
                                      address="7304", description="a", dedupe_key="telegram:update:1")
        other_key = grievances.lodge(session, category_code="non_payment", channel="telegram", now=now,
                                     address="7303", description="a", dedupe_key="telegram:update:2")
        assert again.id == first.id
        assert len({first.id, other_chat.id, other_key.id}) == 3
        assert len(session.scalars(select(Grievance)).all()) == 3
