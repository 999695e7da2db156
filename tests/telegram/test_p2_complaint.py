"""P2 lodges a complaint with a photo on Telegram, processed by the worker job; an officer's reply
written through the services layer reaches P2 through the outbox and the Telegram sender."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from chumnuoy.settings import get_settings
from tests.telegram.conftest import TOKEN
from tests.telegram.images import GPS_SECRET, jpeg_with_exif


@pytest.fixture
def worker_env(monkeypatch, harness, portal_database_url):
    """The worker's jobs configured from the environment, as the `worker` process runs them."""
    from bot.telegram import jobs as telegram_jobs
    from portal import jobs

    monkeypatch.setenv("DATABASE_URL", portal_database_url)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", harness.bot_api.url)
    monkeypatch.delenv("CHUMNUOY_OUTBOX_HTTP_URL", raising=False)
    caches = (get_settings, jobs._factory, jobs._senders, telegram_jobs._runner)
    for cached in caches:
        cached.cache_clear()
    harness.processor = telegram_jobs.process_telegram_updates
    yield jobs
    harness.processor = None
    if telegram_jobs._runner.cache_info().currsize:
        telegram_jobs._runner().close()
    if jobs._factory.cache_info().currsize:
        jobs._factory().kw["bind"].dispose()  # no connection left open on the test database
    for cached in caches:
        cached.cache_clear()


def test_p2_complaint_with_photo_then_officer_reply_reaches_p2(harness, worker_env) -> None:
    from portal.models.cases import Grievance, OutboxMessage
    from portal.models.telegram import EvidenceBlob, GrievanceEvidence
    from portal.services import grievances
    from portal.worker import load_jobs

    assert {"telegram_updates", "outbox"} <= {j.name for j in load_jobs()}
    p2 = harness.user(7002, "Dara")
    p2.start_in_english()
    categories = p2.press("Make a complaint")
    assert categories and len(p2.buttons()) >= 3
    describe = p2.press(p2.buttons()[0]["text"])
    assert "few words" in describe
    photo = jpeg_with_exif()
    ack = p2.send_photo("photo-p2", photo, caption="My October payment failed at the commune office")
    with harness.sessions() as session:
        grievance = session.scalars(select(Grievance)).one()
        assert grievance.reference in ack
        assert grievance.channel == "telegram" and grievance.reply_channel == "telegram"
        assert grievance.reply_address == "7002"
        assert grievance.description == "My October payment failed at the commune office"
        evidence = session.scalars(select(GrievanceEvidence)).one()
        assert evidence.grievance_id == grievance.id and evidence.exif_stripped
        blob = session.get(EvidenceBlob, int(evidence.storage_key.rsplit("/", 1)[1]))
        assert GPS_SECRET not in blob.data and b"Exif" not in blob.data and blob.data.startswith(b"\xff\xd8")
        assert blob.size_bytes == len(blob.data) < len(photo)
        assert any(e.type == "evidence" for e in grievance.events)  # on the officer's timeline
        view = grievances.officer_view(session, grievance, "officer:1")
        assert any(e["type"] == "evidence" and e["payload"]["storage_key"] == evidence.storage_key
                   for e in view["events"])
    assert harness.bot_api.downloads == ["photo-p2"]

    with harness.sessions() as session:
        grievance = session.scalars(select(Grievance)).one()
        grievances.reply(session, grievance, "We are checking your October payment.", "officer:1",
                         datetime.now(UTC))
    before = len(harness.bot_api.of("sendMessage", 7002))
    assert worker_env.deliver_outbox() >= 1
    sent = harness.bot_api.of("sendMessage", 7002)[before:]
    texts = [call.params["text"] for call in sent]
    assert len(sent) == 2 and "We are checking your October payment." in texts[0]
    assert grievance.reference in texts[1] and "in review" in texts[1]  # the status change too
    assert sent[1].at - sent[0].at >= 0.9  # at most one message a second to one chat
    with harness.sessions() as session:
        messages = session.scalars(select(OutboxMessage).where(OutboxMessage.address == "7002")).all()
        assert {m.kind for m in messages} == {"reply", "status"}
        assert all(m.channel == "telegram" and m.status == "sent" and m.provider_id for m in messages)


def test_photo_outside_a_complaint_is_not_stored(harness) -> None:
    from portal.models.telegram import EvidenceBlob

    user = harness.user(7010)
    user.start_in_english()
    answer = user.send_photo("stray", jpeg_with_exif())
    assert "first choose Make a complaint" in answer
    with harness.sessions() as session:
        assert session.scalars(select(EvidenceBlob)).all() == []


def test_photo_after_the_acknowledgement_is_added_and_bad_files_refused(harness) -> None:
    from portal.models.telegram import GrievanceEvidence

    user = harness.user(7011)
    user.start_in_english()
    user.press("Make a complaint")
    user.press(user.buttons()[0]["text"])
    kept = user.send_photo("first", jpeg_with_exif())
    assert "Photo received" in kept and "few words" in kept
    user.send("The officer asked me for money")
    refused = user.send_photo("text-file", b"%PDF-1.4 not an image")
    assert "JPEG or PNG" in refused
    added = user.send_photo("second", jpeg_with_exif())
    assert "Photo added" in added
    with harness.sessions() as session:
        assert len(session.scalars(select(GrievanceEvidence)).all()) == 2
