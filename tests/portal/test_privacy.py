"""Export and erasure of a citizen's data on request (SPEC §12): persona P1's world is built with the
real services against the live sandbox registry, then exported, then erased; every portal table is
scanned generically (SQLAlchemy metadata) for her phone, name, IDs and date of birth."""

from __future__ import annotations

import json
import struct
import zlib
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.state import Conversation as BotConversation
from bot.state import SqlStateStore
from bot.telegram import evidence
from portal.models.base import Base
from portal.models.cases import AuditEntry, Grievance, OutboxMessage
from portal.models.citizen import ChannelIdentity, OneTimeCode
from portal.models.telegram import EvidenceBlob, TelegramUpdate
from portal.services import audit, change_requests, conversations, officer_queue, officers, privacy
from portal.services import grievances as svc
from portal.services import identity as ident
from portal.services.grievance_catalogue import Area
from tests.portal.citizen_fixtures import NOW, registry_fixture  # noqa: F401 (fixture)

P1_PHONE, P2_PHONE = "+85512000101", "+85512000102"
P1_TELEGRAM = "777000101"
P1_TRACES = (
    "12000101",
    "CHAN Sokha",
    "ចាន់ សុខា",
    "100000101",
    "12041996",
    "12/04/1996",
    "1996-04-12",
    P1_TELEGRAM,
    "Sokha",
)
P1_COMPLAINT = (
    "I am CHAN Sokha (ចាន់ សុខា), ID 100000101, born 12/04/1996, phone 012000101: "
    "the third antenatal payment never came"
)
P2_COMPLAINT = "SOK Dara: the October Family Package payment failed"


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"tEXt", b"Author\x00CHAN Sokha")
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )


def table_hits(session: Session, needles: tuple[str, ...]) -> list[tuple[str, str]]:
    """(table, needle) for every row of every portal table whose values contain a needle."""
    hits = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)):
            text = " ".join(
                v.decode("latin-1")
                if isinstance(v, bytes)
                else json.dumps(v, ensure_ascii=False)
                if isinstance(v, dict | list)
                else str(v)
                for v in row
            )
            hits += [(table.name, n) for n in needles if n in text]
    return hits


@pytest.fixture
def world(db_session: Session, registry) -> dict:  # type: ignore[no-untyped-def]
    """P1 on SMS (verified, consented) and Telegram (shared contact), with a complaint, an anonymous
    fraud report, an officer reply, a photo, a change request, a handoff chat, a stored Telegram
    update, conversation state, a one-time code and an audited registry view; P2 with a complaint."""
    session = db_session
    sms = ident.identity_for(session, "sms", P1_PHONE, NOW)
    ident.record_consent(
        session, sms, wording_version="v1", text="We use your data to help you.", locale="km", now=NOW
    )
    ident.begin_verification(session, registry, sms, NOW)
    assert ident.check_date_of_birth(session, registry, sms, "01011990", NOW).kind == "not_matched"
    assert ident.check_date_of_birth(session, registry, sms, "12041996", NOW).kind == "verified"
    spid = sms.person_spid
    assert spid
    telegram = ident.identity_for(session, "telegram", P1_TELEGRAM, NOW)
    ident.link_shared_contact(
        session,
        registry,
        telegram,
        contact_user_id=P1_TELEGRAM,
        from_user_id=P1_TELEGRAM,
        phone="85512000101",
        now=NOW,
    )
    session.commit()

    area = Area.from_codes(commune_code="120101")
    complaint = svc.lodge(
        session,
        category_code="non_payment",
        channel="sms",
        now=NOW,
        description=P1_COMPLAINT,
        address=P1_PHONE,
        identity_id=sms.id,
        person_spid=spid,
        area=area,
        programme="pregnant_child_cash",
    )
    svc.reply(
        session,
        complaint,
        "Dear CHAN Sokha, we are checking your payment.",
        "officer:1",
        NOW + timedelta(hours=1),
    )
    stored = evidence.store(session, tiny_png(), NOW)
    evidence.attach_to_grievance(session, complaint.id, stored, NOW)
    session.commit()
    fraud = svc.lodge(
        session,
        category_code="fraud",
        channel="sms",
        now=NOW,
        anonymous=True,
        area=area,
        description="The village chief asked me for 20,000 riel",
        address=P1_PHONE,
    )
    other = svc.lodge(
        session,
        category_code="non_payment",
        channel="sms",
        now=NOW,
        description=P2_COMPLAINT,
        address=P2_PHONE,
        area=Area.from_codes(commune_code="120102"),
    )

    photo = evidence.store(session, tiny_png(), NOW)
    change_requests.create(
        session,
        change_type="phone",
        new_value="+85512999101",
        old_value=P1_PHONE,
        source="citizen",
        requested_by="citizen:sms",
        now=NOW,
        person_spid=spid,
        identity_id=sms.id,
        reply_channel="sms",
        reply_address=P1_PHONE,
        evidence=(
            change_requests.EvidenceFile(
                photo.filename, photo.content_type, photo.size_bytes, photo.sha256, photo.storage_key, True
            ),
        ),
    )
    conversations.open_handoff(
        session,
        channel="sms",
        address=P1_PHONE,
        now=NOW,
        identity_id=sms.id,
        text="This is CHAN Sokha, please call me on 012000101",
    )
    session.add(
        TelegramUpdate(
            update_id=5001,
            chat_id=int(P1_TELEGRAM),
            status="done",
            payload=json.dumps(
                {
                    "update_id": 5001,
                    "message": {
                        "chat": {"id": int(P1_TELEGRAM)},
                        "from": {"id": int(P1_TELEGRAM), "first_name": "Sokha"},
                        "contact": {"phone_number": "85512000101", "user_id": int(P1_TELEGRAM)},
                    },
                }
            ),
        )
    )
    session.add(
        OneTimeCode(
            code_hash="x$y",
            person_spid=spid,
            requester_channel="telegram",
            requester_address=P1_TELEGRAM,
            created_at=NOW,
            expires_at=NOW + timedelta(minutes=10),
        )
    )
    SqlStateStore(session).save(
        f"sms:{P1_PHONE}", BotConversation(node="menu", data={"name": "CHAN Sokha"}), timedelta(minutes=30)
    )
    audit.record(
        session, actor="officer:1", action="view_registry_person", subject_type="person", subject_id=spid
    )
    admin = officers.create_officer(
        session,
        login="admin1",
        name="Admin One",
        password="correct horse battery",
        role="admin",
        level="national",
    )
    session.commit()
    return {
        "spid": spid,
        "complaint": complaint.reference,
        "fraud": fraud.reference,
        "other": other.reference,
        "admin": admin,
        "sms_identity": sms.id,
        "telegram_identity": telegram.id,
    }


def test_export_holds_the_complaint_text_phone_and_everything_linked(db_session, world) -> None:
    subject = privacy.resolve_subject(db_session, phone="012 000 101")
    assert subject.spids == {world["spid"]}
    assert subject.identity_ids == {world["sms_identity"], world["telegram_identity"]}
    document = privacy.export(db_session, subject, actor="operator:test", now=NOW)
    text = json.dumps(document, ensure_ascii=False)
    assert P1_COMPLAINT in text and P1_PHONE in text
    assert {g["reference"] for g in document["grievances"]} == {world["complaint"], world["fraud"]}
    assert P2_COMPLAINT not in text and P2_PHONE not in text
    mine = next(g for g in document["grievances"] if g["reference"] == world["complaint"])
    assert [e["type"] for e in mine["events"]][:2] == ["lodged", "reply"]
    assert mine["evidence"][0]["content_type"] == "image/png" and "data" not in mine["evidence"][0]
    assert document["change_requests"][0]["old_value"] == P1_PHONE
    assert document["change_requests"][0]["evidence"][0]["storage_key"].startswith("db:evidence_blobs/")
    assert "012000101" in document["conversations"][0]["messages"][0]["text"]
    assert document["telegram_updates"][0]["payload"]["message"]["contact"]["phone_number"] == "85512000101"
    assert {c["channel"] for c in document["consents"]} == {"sms"}
    assert document["verification_locks"][0]["person_spid"] == world["spid"]
    assert "code_hash" not in document["one_time_codes"][0]
    assert any("CHAN Sokha" in s["payload"] for s in document["conversation_state"])
    assert any("CHAN Sokha" in m["text"] for m in document["outbox_messages"])
    assert document["access_log"][0]["action"] == "view_registry_person"
    assert "not held by the portal" in document["notice"]
    logged = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "export_personal_data")).one()
    assert logged.actor == "operator:test" and P1_PHONE not in json.dumps(logged.detail)


def test_erasure_leaves_no_trace_of_p1_and_keeps_the_statistics(db_session, world) -> None:
    admin = world["admin"]
    before = officer_queue.dashboard(db_session, admin, NOW + timedelta(days=1))
    assert table_hits(db_session, P1_TRACES)  # the scan does find her before
    blobs_before = db_session.query(EvidenceBlob).count()

    subject = privacy.resolve_subject(db_session, phone=P1_PHONE)
    report = privacy.erase(db_session, subject, actor="operator:test", now=NOW + timedelta(days=1))
    db_session.expire_all()

    assert table_hits(db_session, (*P1_TRACES, world["spid"])) == []
    assert report.residual == []
    assert report.counts["grievances"] == 2 and report.counts["channel_identities"] == 2
    assert db_session.query(EvidenceBlob).count() == blobs_before - 2
    after = officer_queue.dashboard(db_session, admin, NOW + timedelta(days=1))
    assert after == before and after.total == 3

    # P2 is untouched; P1's complaint keeps what the statistics need
    other = db_session.scalars(select(Grievance).where(Grievance.reference == world["other"])).one()
    assert other.description == P2_COMPLAINT and other.reply_address == P2_PHONE
    mine = db_session.scalars(select(Grievance).where(Grievance.reference == world["complaint"])).one()
    assert (mine.category, mine.programme, mine.commune_code, mine.channel) == (
        "non_payment",
        "pregnant_child_cash",
        "120101",
        "sms",
    )
    assert mine.description == "" and mine.events[-1].type == "personal_data_erased"
    assert db_session.scalars(select(ChannelIdentity)).all() == []
    assert all(
        m.status != "pending"
        for m in db_session.scalars(select(OutboxMessage).where(OutboxMessage.address == ""))
    )

    # the audit trail stays, re-keyed to the pseudonym, and the erasure itself is audited
    viewed = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "view_registry_person")).one()
    assert viewed.subject_id == report.pseudonym and report.pseudonym.startswith("erased:")
    erased = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "erase_personal_data")).one()
    assert erased.subject_id == report.pseudonym and erased.detail["grievances"] == 2

    # idempotent: nothing is left to find
    again = privacy.resolve_subject(db_session, phone=P1_PHONE)
    assert again.identity_ids == set() and privacy.export(db_session, again, actor="t")["grievances"] == []


def test_erasing_one_person_of_a_shared_phone_keeps_the_others_case(db_session, world) -> None:
    spouse = svc.lodge(
        db_session,
        category_code="exclusion",
        channel="sms",
        now=NOW,
        address=P1_PHONE,
        description="My wife's card",
        person_spid="KH0000000000",
        area=Area(),
    )
    report = privacy.erase(db_session, privacy.resolve_subject(db_session, spid=world["spid"]), actor="t")
    db_session.expire_all()
    assert report.counts["grievances"] == 2  # her complaint and the anonymous report sent from her phone
    kept = db_session.get(Grievance, spouse.id)
    assert kept.description == "My wife's card" and kept.reply_address == P1_PHONE


def test_cli_export_then_erase(db_session, world, tmp_path, monkeypatch) -> None:
    from portal import data_cli

    monkeypatch.setattr(data_cli, "_session", lambda: Session(db_session.get_bind(), expire_on_commit=False))
    runner = CliRunner()
    out = tmp_path / "p1.json"
    result = runner.invoke(data_cli.data, ["export", "--phone", P1_PHONE, str(out)])
    assert result.exit_code == 0, result.output
    assert P1_COMPLAINT in out.read_text(encoding="utf-8")
    assert "registry" in result.output  # the notice that the registry's data is not covered
    result = runner.invoke(data_cli.data, ["erase", "--spid", world["spid"]], input="n\n")
    assert result.exit_code != 0  # not confirmed: nothing erased
    assert db_session.scalars(select(ChannelIdentity)).all()
    result = runner.invoke(data_cli.data, ["erase", "--phone", P1_PHONE, "--yes", "--actor", "operator:dpo"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["residual"] == [] and report["counts"]["grievances"] == 2
    assert "not held by the portal" in report["notice"]
    result = runner.invoke(data_cli.data, ["erase", "--phone", P1_PHONE, "--spid", "X", "--yes"])
    assert result.exit_code == 2  # one key only


def test_admin_portal_page_exports_and_erases(db_session, world, portal_database_url) -> None:
    import re
    from dataclasses import replace

    from chumnuoy.settings import Settings
    from portal import create_app

    officers.create_officer(
        db_session,
        login="clerk",
        name="Clerk",
        password="correct horse battery",
        role="officer",
        agency="NSAF",
    )
    db_session.commit()
    app = create_app(replace(Settings(), database_url=portal_database_url, secret_key="p" * 32))

    def signed_in(login: str):  # type: ignore[no-untyped-def]
        client = app.test_client()
        page = client.get("/portal/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        client.post(
            "/portal/login", data={"login": login, "password": "correct horse battery", "csrf_token": token}
        )
        page = client.get("/portal/privacy").get_data(as_text=True)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        return client, (match.group(1) if match else "")

    clerk, _ = signed_in("clerk")
    assert clerk.get("/portal/privacy").status_code == 403
    admin, token = signed_in("admin1")
    form = {"key": "phone", "value": "012000101", "csrf_token": token}
    assert (
        admin.post(
            "/portal/privacy/export", data={k: v for k, v in form.items() if k != "csrf_token"}
        ).status_code
        == 400
    )
    answer = admin.post("/portal/privacy/export", data=form)
    assert answer.status_code == 200 and "attachment" in answer.headers["Content-Disposition"]
    assert P1_COMPLAINT in answer.get_data(as_text=True)
    assert admin.post("/portal/privacy/erase", data=form).status_code == 302  # not confirmed
    assert table_hits(db_session, ("12000101",))
    page = admin.post("/portal/privacy/erase", data={**form, "confirm": "1"}).get_data(as_text=True)
    assert "erased:" in page
    db_session.expire_all()
    assert table_hits(db_session, P1_TRACES) == []


def test_erasure_drops_the_conversation_state_kept_in_redis(db_session, redis_url) -> None:
    from bot.state import RedisStateStore

    store = RedisStateStore(redis_url)
    store.save(
        f"sms:{P1_PHONE}", BotConversation(node="menu", data={"name": "CHAN Sokha"}), timedelta(minutes=30)
    )
    store.save(f"sms:{P2_PHONE}", BotConversation(node="menu"), timedelta(minutes=30))
    privacy.erase(
        db_session, privacy.resolve_subject(db_session, phone=P1_PHONE), actor="t", redis_url=redis_url
    )
    assert store.load(f"sms:{P1_PHONE}") is None
    assert store.load(f"sms:{P2_PHONE}") is not None
