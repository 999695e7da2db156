"""Change requests against a real sandbox registry over HTTP (a private seeded instance, so changing
a persona here never disturbs the other tests using the shared `live_registry`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portal.models.cases import AuditEntry, OutboxMessage
from portal.services import change_requests as svc
from registry_client.client import RegistryClient
from tests.fixtures.registry import private_live_registry

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
P1_UIN, P1_PHONE = "100000101", "+85512000101"
P5_UIN = "100000105"


@pytest.fixture(scope="module")
def private_registry(new_session_database) -> Iterator[object]:
    with private_live_registry(new_session_database("e1registry"), random_seed=7) as live:
        yield live


@pytest.fixture
def registry(private_registry) -> Iterator[RegistryClient]:
    client = RegistryClient(private_registry.settings)  # type: ignore[attr-defined]
    yield client
    client.close()


def _spid(registry: RegistryClient, uin: str) -> str:
    (person,) = registry.find_people("UIN", uin)
    return person.spid


def test_approved_change_is_applied_to_the_registry_and_the_citizen_is_told(
    db_session, registry, private_registry
):
    spid = _spid(registry, P1_UIN)
    request = svc.create(
        db_session,
        change_type="phone",
        person_spid=spid,
        old_value=P1_PHONE,
        new_value="+85512777001",
        source="citizen",
        requested_by="citizen",
        now=NOW,
        reply_channel="sms",
        reply_address=P1_PHONE,
        locale="en",
    )
    assert request.status == "pending"
    svc.approve(db_session, request, registry, actor="officer:4", now=NOW)
    assert (request.status, request.decided_by) == ("approved", "officer:4")
    assert request.applied_at is not None

    fresh = RegistryClient(private_registry.settings)
    try:
        (person,) = fresh.find_people("UIN", P1_UIN)
        assert "+85512777001" in person.phones and P1_PHONE not in person.phones
        assert [p.spid for p in fresh.find_people("MOBILE", "+85512777001")] == [spid]
    finally:
        fresh.close()

    (message,) = db_session.scalars(select(OutboxMessage))
    assert (message.channel, message.address, message.kind) == ("sms", P1_PHONE, "status")
    assert "approved" in message.text
    actions = [a.action for a in db_session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["create_change_request", "approve_change_request"]

    with pytest.raises(svc.ChangeRequestError) as error:
        svc.approve(db_session, request, registry, actor="officer:5", now=NOW)
    assert error.value.code == "not_pending"


def test_a_change_the_registry_refuses_stays_pending_with_its_code(db_session, registry):
    spid = _spid(registry, P5_UIN)
    request = svc.create(
        db_session,
        change_type="phone",
        person_spid=spid,
        old_value="+85599999999",
        new_value="+85512777005",
        source="officer",
        requested_by="officer:4",
        now=NOW,
    )
    with pytest.raises(svc.ChangeRequestError) as error:
        svc.approve(db_session, request, registry, actor="officer:4", now=NOW)
    assert error.value.code == "registry_refused"
    db_session.refresh(request)
    assert (request.status, request.registry_reason_code, request.decided_by) == (
        "pending",
        "rjct.old_value.mismatch",
        None,
    )
    (person,) = registry.find_people("UIN", P5_UIN)
    assert "+85512777005" not in person.phones
    assert db_session.scalars(select(OutboxMessage)).all() == []


def test_rejection_tells_the_citizen_the_reason(db_session):
    request = svc.create(
        db_session,
        change_type="birth_date",
        person_spid="KH0000001014",
        old_value="1996-04-12",
        new_value="1996-04-21",
        source="citizen",
        requested_by="citizen",
        now=NOW,
        reply_channel="telegram",
        reply_address="5550101",
        locale="en",
    )
    with pytest.raises(svc.ChangeRequestError):
        svc.reject(db_session, request, reason="", actor="officer:4", now=NOW)
    svc.reject(
        db_session,
        request,
        reason="Please bring your birth certificate to the commune office",
        actor="officer:4",
        now=NOW,
    )
    assert (request.status, request.reason) == (
        "rejected",
        "Please bring your birth certificate to the commune office",
    )
    (message,) = db_session.scalars(select(OutboxMessage))
    assert (message.channel, message.address) == ("telegram", "5550101")
    assert "not approved" in message.text and "birth certificate" in message.text


def test_khmer_rejection_message(db_session):
    request = svc.create(
        db_session,
        change_type="name",
        person_spid="KH0000001014",
        new_value={"given_name": "សុខា"},
        source="citizen",
        requested_by="citizen",
        now=NOW,
        reply_channel="sms",
        reply_address=P1_PHONE,
    )
    svc.reject(db_session, request, reason="ខ្វះឯកសារ", actor="officer:4", now=NOW)
    (message,) = db_session.scalars(select(OutboxMessage))
    assert message.text.startswith("សំណើ") and message.text.endswith("ខ្វះឯកសារ")


def test_creation_is_validated_and_keeps_evidence_metadata(db_session):
    with pytest.raises(svc.ChangeRequestError):
        svc.create(
            db_session,
            change_type="salary",
            person_spid="KH0000001014",
            new_value=1,
            source="citizen",
            requested_by="citizen",
            now=NOW,
        )
    with pytest.raises(svc.ChangeRequestError):
        svc.create(
            db_session,
            change_type="phone",
            household_id="HH-12-00000101",
            new_value="+85512000111",
            source="citizen",
            requested_by="citizen",
            now=NOW,
        )
    evidence = svc.EvidenceFile(
        filename="card.jpg",
        content_type="image/jpeg",
        size_bytes=48213,
        sha256="ab" * 32,
        storage_key="evidence/2026/11/abc.jpg",
        exif_stripped=True,
    )
    request = svc.create(
        db_session,
        change_type="address",
        household_id="HH-12-00000101",
        new_value={"village_code": "12010101"},
        source="officer",
        requested_by="officer:2",
        now=NOW,
        evidence=(evidence,),
    )
    assert [(e.filename, e.exif_stripped) for e in request.evidence] == [("card.jpg", True)]
    assert svc.list_requests(db_session, status="pending") == [request]


def test_a_retried_inbound_message_creates_its_change_request_once(db_session):
    """A Telegram worker killed after the commit retries the same update: same key, same request."""
    from portal.models.cases import ChangeRequest

    def create(key: str, address: str = "5550102") -> int:
        return svc.create(db_session, change_type="birth_date", person_spid="KH0000001014",
                          old_value="1996-04-12", new_value="1996-04-21", source="citizen",
                          requested_by="citizen:telegram", now=NOW, reply_channel="telegram",
                          reply_address=address, dedupe_key=key).id

    first = create("telegram:update:9001")
    assert create("telegram:update:9001") == first
    assert create("telegram:update:9002") != first  # another message is another request
    assert create("telegram:update:9001", address="5550199") != first  # keys are per address
    assert len(db_session.scalars(select(ChangeRequest)).all()) == 3
