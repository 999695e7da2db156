"""Data retention (SPEC §12): transcripts, photos and anonymous-case addresses are purged after their
periods, counted from the end of the case; open cases keep theirs; purges are batched, idempotent,
audited, and run by the worker job and `chumnuoy data purge`."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.state import Conversation as BotConversation
from bot.state import SqlStateStore
from bot.telegram import evidence
from portal.models.base import utcnow
from portal.models.cases import (
    AuditEntry,
    ChangeEvidence,
    Conversation,
    Grievance,
    GrievanceEvent,
    OutboxMessage,
)
from portal.models.conversation_state import ConversationState
from portal.models.telegram import EvidenceBlob, GrievanceEvidence, TelegramUpdate
from portal.services import change_requests, conversations, retention
from portal.services import grievances as svc
from portal.services.grievance_catalogue import Area
from portal.services.outbox import enqueue
from tests.portal.test_privacy import tiny_png

NOW = utcnow().replace(microsecond=0)
POLICY = retention.RetentionPolicy(transcript_days=90, photo_days=180, anonymous_address_days=30)
AREA = Area.from_codes(commune_code="120101")


def days_ago(days: int):  # type: ignore[no-untyped-def]
    return NOW - timedelta(days=days)


def complaint_with_photo(
    session: Session, *, lodged: int, closed: int | None, anonymous: bool = False, state: str = "closed"
) -> Grievance:
    g = svc.lodge(
        session,
        category_code="fraud" if anonymous else "non_payment",
        channel="sms",
        now=days_ago(lodged),
        description="details",
        address="+85512000199",
        anonymous=anonymous,
        area=AREA,
    )
    evidence.attach_to_grievance(
        session, g.id, evidence.store(session, tiny_png(), days_ago(lodged)), days_ago(lodged)
    )
    session.commit()
    if closed is not None and state == "closed":
        svc.resolve(
            session, g, resolution_code="paid", text="paid", actor="officer:1", now=days_ago(closed + 1)
        )
        svc.close(session, g, actor="system", now=days_ago(closed))
    elif closed is not None:
        svc.reject(session, g, reason="not our agency", actor="officer:1", now=days_ago(closed))
    return g


def change_with_photo(session: Session, *, decided: int | None) -> int:
    photo = evidence.store(session, tiny_png(), days_ago(400))
    request = change_requests.create(
        session,
        change_type="phone",
        new_value="+85512999101",
        source="citizen",
        requested_by="citizen:sms",
        now=days_ago(400),
        person_spid="KH0000000001",
        evidence=(
            change_requests.EvidenceFile(
                photo.filename, photo.content_type, photo.size_bytes, photo.sha256, photo.storage_key, True
            ),
        ),
    )
    if decided is not None:
        change_requests.reject(session, request, reason="no proof", actor="officer:1", now=days_ago(decided))
    return request.id


@pytest.fixture
def world(db_session: Session) -> dict:  # type: ignore[no-untyped-def]
    s = db_session
    w = {
        "old_closed": complaint_with_photo(s, lodged=300, closed=200).id,
        "recent_closed": complaint_with_photo(s, lodged=30, closed=10).id,
        "old_open": complaint_with_photo(s, lodged=400, closed=None).id,
        "old_rejected": complaint_with_photo(s, lodged=300, closed=250, state="rejected").id,
        "anon_old": complaint_with_photo(s, lodged=100, closed=40, anonymous=True).id,
        "anon_recent": complaint_with_photo(s, lodged=30, closed=10, anonymous=True).id,
        "anon_open": complaint_with_photo(s, lodged=100, closed=None, anonymous=True).id,
        "change_old": change_with_photo(s, decided=200),
        "change_pending": change_with_photo(s, decided=None),
    }
    orphan = evidence.store(s, tiny_png(), days_ago(200))
    w["orphan_blob"] = orphan.blob_id
    for key, opened, closed in (("conv_old", 120, 100), ("conv_recent", 20, 10), ("conv_idle", 100, None)):
        conv = conversations.open_handoff(
            s, channel="sms", address="+85512000199", now=days_ago(opened), text="please call me"
        )
        if closed is not None:
            conversations.close(s, conv, "officer:1", days_ago(closed))
        w[key] = conv.id
    for update_id, status, age in ((1, "done", 100), (2, "pending", 100), (3, "done", 10), (4, "failed", 95)):
        s.add(
            TelegramUpdate(
                update_id=update_id,
                chat_id=42,
                status=status,
                payload='{"message": {}}',
                received_at=days_ago(age),
            )
        )
    for status, age in (("sent", 100), ("pending", 100), ("sent", 10)):
        enqueue(
            s, channel="sms", address="+85512000199", text=f"{status} {age}", kind="reply", now=days_ago(age)
        ).status = status
    store = SqlStateStore(s)
    store.save("sms:+85512000199", BotConversation(node="menu"), timedelta(minutes=30))
    s.add(
        ConversationState(
            key="sms:+85512000188", payload="{}", updated_at=days_ago(1), expires_at=days_ago(1)
        )
    )
    s.commit()
    return w


def evidence_key(session: Session, grievance_id: int) -> str:
    return session.scalars(
        select(GrievanceEvidence.storage_key).where(GrievanceEvidence.grievance_id == grievance_id)
    ).one()


def test_purge_follows_the_periods_and_never_touches_open_cases(db_session, world) -> None:
    s = db_session
    expected = retention.run_all(s, NOW, POLICY, dry_run=True)
    assert s.scalar(
        select(EvidenceBlob.id).where(EvidenceBlob.id == world["orphan_blob"])
    )  # dry run: unchanged
    assert expected["grievance_evidence"] == 2  # closed 200 days ago, rejected 250 days ago
    assert expected["change_evidence"] == 1 and expected["orphan_evidence"] == 1
    assert expected["anonymous_addresses"] == 1 and expected["conversations"] == 2
    assert expected["telegram_updates"] == 2 and expected["conversation_state"] == 1

    done = retention.run_all(s, NOW, POLICY, batch=1)  # batch of one: several rounds
    assert done == expected
    s.expire_all()

    # photos: gone after 180 days from the end of the case, kept for recent and open cases
    for key in ("old_closed", "old_rejected"):
        assert evidence_key(s, world[key]).startswith("removed:180:")
    for key in ("recent_closed", "old_open", "anon_open"):
        assert evidence_key(s, world[key]).startswith("db:evidence_blobs/")
    change_keys = {r.change_request_id: r.storage_key for r in s.scalars(select(ChangeEvidence))}
    assert change_keys[world["change_old"]].startswith("removed:")
    assert change_keys[world["change_pending"]].startswith("db:evidence_blobs/")
    live = {retention.blob_id(k) for k in s.scalars(select(GrievanceEvidence.storage_key))} | {
        retention.blob_id(k) for k in change_keys.values()
    }
    assert set(s.scalars(select(EvidenceBlob.id))) == live - {None}  # no bytes without a live reference

    # the timeline says the photo was removed after 180 days; the old event no longer points at bytes
    events = list(
        s.scalars(
            select(GrievanceEvent)
            .where(GrievanceEvent.grievance_id == world["old_closed"])
            .order_by(GrievanceEvent.id)
        )
    )
    removed = [e for e in events if e.type == "evidence_removed"]
    assert (
        len(removed) == 1
        and removed[0].payload["after_days"] == 180
        and removed[0].actor == "system:retention"
    )
    original = next(e for e in events if e.type == "evidence")
    assert original.payload["removed"] is True and "storage_key" not in original.payload

    # anonymous addresses: only the case that ended more than 30 days ago
    anon_old = s.get(Grievance, world["anon_old"])
    assert anon_old.reply_address is None and anon_old.reply_channel is None
    assert all(
        m.address == ""
        for m in s.scalars(select(OutboxMessage).where(OutboxMessage.grievance_id == world["anon_old"]))
    )
    assert s.get(Grievance, world["anon_recent"]).reply_address == "+85512000199"
    assert s.get(Grievance, world["anon_open"]).reply_address == "+85512000199"
    assert s.get(Grievance, world["old_closed"]).reply_address == "+85512000199"  # not anonymous

    # transcripts
    assert set(s.scalars(select(Conversation.id))) == {world["conv_recent"]}
    assert set(s.scalars(select(TelegramUpdate.update_id))) == {2, 3}
    texts = {
        m.text
        for m in s.scalars(
            select(OutboxMessage).where(
                OutboxMessage.address == "+85512000199", OutboxMessage.kind == "reply"
            )
        )
    }
    assert texts == {"", "pending 100", "sent 10"}
    assert set(s.scalars(select(ConversationState.key))) == {"sms:+85512000199"}

    # audited, and a second run finds nothing
    actions = {(a.action, a.actor) for a in s.scalars(select(AuditEntry))}
    assert {
        ("purge_evidence", "system:retention"),
        ("purge_anonymous_addresses", "system:retention"),
        ("purge_conversations", "system:retention"),
    } <= actions
    assert not any(retention.run_all(s, NOW, POLICY).values())


def test_a_reopened_case_keeps_its_photo(db_session) -> None:
    g = complaint_with_photo(db_session, lodged=300, closed=200)
    g.state, g.closed_at = "reopened", None  # reopened (e.g. by an officer's correction)
    db_session.commit()
    assert retention.purge_grievance_evidence(db_session, NOW, POLICY) == 0


def test_zero_days_turns_a_purge_off(db_session, world) -> None:
    off = retention.RetentionPolicy(transcript_days=0, photo_days=0, anonymous_address_days=0)
    done = retention.run_all(db_session, NOW, off)
    assert done == {name: 0 for name in done} | {"conversation_state": 1}


def test_policy_from_the_environment(monkeypatch) -> None:
    assert retention.RetentionPolicy.from_env() == retention.RetentionPolicy(90, 180, 30)
    monkeypatch.setenv("CHUMNUOY_RETENTION_TRANSCRIPT_DAYS", "30")
    monkeypatch.setenv("CHUMNUOY_RETENTION_PHOTO_DAYS", "0")
    monkeypatch.setenv("CHUMNUOY_RETENTION_ANONYMOUS_ADDRESS_DAYS", "45")
    assert retention.RetentionPolicy.from_env() == retention.RetentionPolicy(30, 0, 45)
    monkeypatch.setenv("CHUMNUOY_RETENTION_PHOTO_DAYS", "-1")
    with pytest.raises(ValueError, match="PHOTO_DAYS"):
        retention.RetentionPolicy.from_env()


def test_worker_job_and_cli(db_session, world, monkeypatch) -> None:
    from portal import data_cli
    from portal.worker import load_jobs

    assert "data_retention" in {job.name for job in load_jobs()}
    monkeypatch.setattr(data_cli, "_session", lambda: Session(db_session.get_bind(), expire_on_commit=False))
    result = CliRunner().invoke(data_cli.data, ["purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["would_purge"]["grievance_evidence"] == 2 and report["policy_days"]["photos"] == 180
    assert db_session.scalar(select(EvidenceBlob.id).where(EvidenceBlob.id == world["orphan_blob"]))
    result = CliRunner().invoke(data_cli.data, ["purge"])
    assert json.loads(result.output)["purged"]["grievance_evidence"] == 2
    db_session.expire_all()
    assert db_session.get(EvidenceBlob, world["orphan_blob"]) is None


def test_the_case_page_says_the_photo_was_removed(db_session, portal_database_url) -> None:
    import re
    from dataclasses import replace

    from chumnuoy.settings import Settings
    from portal import create_app
    from portal.services import officers

    g = complaint_with_photo(db_session, lodged=300, closed=200)
    officers.create_officer(
        db_session,
        login="keeper",
        name="Keeper",
        password="a long enough password",
        role="admin",
        locale="en",
    )
    db_session.commit()
    client = create_app(
        replace(Settings(), database_url=portal_database_url, secret_key="k" * 32)
    ).test_client()
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/portal/login").get_data(as_text=True)
    )
    assert token is not None
    client.post(
        "/portal/login",
        data={"login": "keeper", "password": "a long enough password", "csrf_token": token.group(1)},
    )
    page = client.get(f"/portal/cases/{g.reference}").get_data(as_text=True)
    assert "Open the photo" in page and "after 180 days" not in page
    retention.run_all(db_session, NOW, POLICY)
    page = client.get(f"/portal/cases/{g.reference}").get_data(as_text=True)
    assert "Photo removed" in page and "after 180 days (retention period)" in page
    assert "Open the photo" not in page


def test_the_worker_job_drains_the_backlog_batch_by_batch(db_session, world, monkeypatch) -> None:
    from sqlalchemy.orm import sessionmaker

    from portal import retention_jobs

    factory = sessionmaker(db_session.get_bind(), expire_on_commit=False)
    monkeypatch.setattr(retention_jobs, "_factory", lambda: factory)
    runs = []
    while (handled := retention_jobs.data_retention()) and len(runs) < 20:
        runs.append(handled)
    assert runs and handled == 0  # a batch per run while there is work, then idle
    db_session.expire_all()
    assert evidence_key(db_session, world["old_closed"]).startswith("removed:180:")
