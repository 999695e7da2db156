"""Export and erasure of one citizen's personal data on request (SPEC §12, §14).

A request names the citizen by phone, SPID or channel-identity id; `resolve_subject` turns that
into the identities, SPIDs and channel addresses the portal holds for them. A row belongs to the
subject when it is linked to one of those identities or SPIDs or was sent from/to one of those
addresses, unless it is linked to a *different* SPID (on a shared phone each person is erased by
their own SPID; erasing by the phone covers the persons the phone's identity is linked to).

Export: every such row as JSON (evidence as metadata, not bytes). Erasure: free text, addresses,
SPIDs and identities are deleted or blanked in one transaction; what is not personal stays so the
statistics do not move (a grievance keeps its category, programme, agency, level, area down to the
commune, channel, dates, state and rating; a change request its type, status and dates). The audit
trail stays: entries about the person are re-keyed to a random pseudonym (`erased:<hex>`) returned
to the operator, so the trail can still be followed without naming anyone. Both are audited.

Not covered: the registry's own record (not ours to erase; see REGISTRY_NOTICE), rate-limit
counters (keys are one-way hashes and expire within a day), USSD session state in Redis (expires in
minutes) and backups (see docs/operations.md: they age out with the backup rotation).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    LargeBinary,
    String,
    Text,
    and_,
    cast,
    delete,
    false,
    func,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from portal.models.base import Base, utcnow
from portal.models.cases import (
    AuditEntry,
    ChangeRequest,
    Conversation,
    ConversationMessage,
    Grievance,
    GrievanceEvent,
    OutboxMessage,
)
from portal.models.citizen import ChannelIdentity, ConsentRecord, OneTimeCode, VerificationLock
from portal.models.conversation_state import ConversationState
from portal.models.telegram import GrievanceEvidence, TelegramUpdate
from portal.services import audit
from portal.services.retention import (
    BLOB_PREFIX,
    blob_id,
    drop_unreferenced_blobs,
    tombstone_grievance_evidence,
)

ACTOR = "system:privacy"
FORMAT = "chumnuoy-personal-data/1"
REGISTRY_NOTICE = (
    "This covers what the Chumnuoy portal holds. The Social Protection Registry's own record of the person "
    "(name, national ID, date of birth, household, enrolments, payments) is not held by the portal and is "
    "neither exported nor erased here: such requests go to the registry's operator."
)
SCRUBBED_EVENT_KEYS = ("text", "reason", "storage_key")
STATE_KEY_PATTERNS = ("sms:{address}", "ussd-last:{address}", "telegram:{address}")
OPEN_OUTBOX = ("pending", "sending")


@dataclass
class Subject:
    identity_ids: set[int] = field(default_factory=set)
    spids: set[str] = field(default_factory=set)
    addresses: set[tuple[str, str]] = field(default_factory=set)
    """(channel, address): sms/ussd phone numbers in E.164, Telegram user ids."""

    @property
    def telegram_chats(self) -> set[int]:
        return {int(a) for c, a in self.addresses if c == "telegram" and a.lstrip("-").isdigit()}

    @property
    def needles(self) -> set[str]:
        """Strings whose presence anywhere would mean something was left: SPIDs, Telegram ids and
        phone numbers without country code or leading zero (so +855…, 855… and 0… forms all match)."""
        found = set(self.spids) | {str(c) for c in self.telegram_chats}
        for channel, address in self.addresses:
            if channel in ("sms", "ussd") and address.startswith("+855"):
                found.add(address[4:])
            elif channel in ("sms", "ussd"):
                found.add(address.lstrip("+"))
        return {n for n in found if len(n) >= 6}

    def empty(self) -> bool:
        return not (self.identity_ids or self.spids or self.addresses)


def _phone_addresses(phone: str) -> set[tuple[str, str]]:
    return {("sms", phone), ("ussd", phone)}


def resolve_subject(session: Session, *, phone: str | None = None, spid: str | None = None,
                    identity_id: int | None = None) -> Subject:
    """The identities, SPIDs and addresses of the person a request names (one of the three keys)."""
    from portal.services.identity import normalise_phone

    if sum(x is not None and x != "" for x in (phone, spid, identity_id)) != 1:
        raise ValueError("give exactly one of phone, spid, identity_id")
    subject = Subject()
    if phone:
        phone = normalise_phone(phone)
        subject.addresses |= _phone_addresses(phone)
        query = select(ChannelIdentity).where(or_(and_(ChannelIdentity.channel.in_(("sms", "ussd")),
                                                       ChannelIdentity.address == phone),
                                                  ChannelIdentity.phone == phone))
    elif spid:
        subject.spids.add(spid.strip().upper())
        query = select(ChannelIdentity).where(ChannelIdentity.person_spid == spid.strip().upper())
    else:
        query = select(ChannelIdentity).where(ChannelIdentity.id == identity_id)
    for identity in session.scalars(query):
        subject.identity_ids.add(identity.id)
        subject.addresses.add((identity.channel, identity.address))
        if identity.channel in ("sms", "ussd"):
            subject.addresses |= _phone_addresses(identity.address)
        if identity.phone:
            subject.addresses |= _phone_addresses(identity.phone)
        if identity.person_spid and not spid:
            subject.spids.add(identity.person_spid)
    return subject


# ---------------------------------------------------------------- which rows are the subject's

def _address_match(subject: Subject, channel_column: Any, address_column: Any) -> Any:
    if not subject.addresses:
        return false()
    return or_(*[and_(channel_column == c, address_column == a) for c, a in sorted(subject.addresses)])


def _owned(subject: Subject, *, identity: Any = None, spid: Any = None, channel: Any = None,
           address: Any = None, extra: Any = None) -> Any:
    """Linked to the subject and not linked to somebody else's SPID."""
    links = []
    if identity is not None:
        links.append(identity.in_(sorted(subject.identity_ids)))
    if spid is not None:
        links.append(spid.in_(sorted(subject.spids)))
    if channel is not None:
        links.append(_address_match(subject, channel, address))
    if extra is not None:
        links.append(extra)
    owned = or_(*links) if links else false()
    if spid is not None:
        owned = and_(owned, not_(and_(spid.is_not(None), spid.not_in(sorted(subject.spids) or [""]))))
    return owned


def _grievances(session: Session, subject: Subject) -> list[Grievance]:
    return list(session.scalars(select(Grievance).where(_owned(
        subject, identity=Grievance.identity_id, spid=Grievance.person_spid,
        channel=Grievance.reply_channel, address=Grievance.reply_address)).order_by(Grievance.id)))


def _change_requests(session: Session, subject: Subject) -> list[ChangeRequest]:
    return list(session.scalars(select(ChangeRequest).where(_owned(
        subject, identity=ChangeRequest.identity_id, spid=ChangeRequest.person_spid,
        channel=ChangeRequest.reply_channel, address=ChangeRequest.reply_address))
        .order_by(ChangeRequest.id)))


def _outbox_condition(subject: Subject, grievance_ids: list[int]) -> Any:
    return _owned(subject, identity=OutboxMessage.identity_id, channel=OutboxMessage.channel,
                  address=OutboxMessage.address, extra=OutboxMessage.grievance_id.in_(grievance_ids))


def _conversation_condition(subject: Subject) -> Any:
    return _owned(subject, identity=Conversation.identity_id, channel=Conversation.channel,
                  address=Conversation.address)


def _consent_condition(subject: Subject) -> Any:
    return _owned(subject, identity=ConsentRecord.identity_id, channel=ConsentRecord.channel,
                  address=ConsentRecord.address)


def _otp_condition(subject: Subject) -> Any:
    return or_(OneTimeCode.person_spid.in_(sorted(subject.spids)),
               _address_match(subject, OneTimeCode.requester_channel, OneTimeCode.requester_address))


def _state_condition(subject: Subject) -> Any:
    keys = sorted({p.format(address=a) for _c, a in subject.addresses for p in STATE_KEY_PATTERNS})
    payload_hits = [ConversationState.payload.contains(n) for n in sorted(subject.needles)]
    return or_(ConversationState.key.in_(keys), *payload_hits)


def _person_audit_condition(subject: Subject) -> Any:
    return and_(AuditEntry.subject_type == "person", AuditEntry.subject_id.in_(sorted(subject.spids)))


# ---------------------------------------------------------------- export

def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return None
    return value


def row_dict(row: Base, *, without: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every column of a model instance as JSON-friendly values."""
    return {c.key: _plain(getattr(row, c.key)) for c in row.__table__.columns  # type: ignore[attr-defined]
            if c.key not in without}


def export(session: Session, subject: Subject, *, actor: str, now: datetime | None = None) -> dict[str, Any]:
    """Everything the portal holds about the subject (audited; committed)."""
    now = now or utcnow()
    grievances = _grievances(session, subject)
    grievance_ids = [g.id for g in grievances]
    requests = _change_requests(session, subject)
    evidence = {g.id: [] for g in grievances}  # type: dict[int, list[dict[str, Any]]]
    query = select(GrievanceEvidence).where(GrievanceEvidence.grievance_id.in_(grievance_ids))
    for item in session.scalars(query):
        evidence[item.grievance_id].append(row_dict(item))
    updates = []
    for update_row in session.scalars(select(TelegramUpdate).where(
            TelegramUpdate.chat_id.in_(sorted(subject.telegram_chats))).order_by(TelegramUpdate.update_id)):
        item = row_dict(update_row)
        item["payload"] = json.loads(update_row.payload) if update_row.payload else None
        updates.append(item)
    document = {
        "format": FORMAT,
        "generated_at": now.isoformat(),
        "notice": REGISTRY_NOTICE,
        "subject": {"identity_ids": sorted(subject.identity_ids), "spids": sorted(subject.spids),
                    "addresses": [{"channel": c, "address": a} for c, a in sorted(subject.addresses)]},
        "channel_identities": [row_dict(i) for i in session.scalars(
            select(ChannelIdentity).where(ChannelIdentity.id.in_(sorted(subject.identity_ids))))],
        "consents": [row_dict(c) for c in session.scalars(
            select(ConsentRecord).where(_consent_condition(subject)).order_by(ConsentRecord.id))],
        "verification_locks": [row_dict(v) for v in session.scalars(
            select(VerificationLock).where(VerificationLock.person_spid.in_(sorted(subject.spids))))],
        "one_time_codes": [row_dict(o, without=("code_hash",)) for o in session.scalars(
            select(OneTimeCode).where(_otp_condition(subject)).order_by(OneTimeCode.id))],
        "grievances": [{**row_dict(g), "events": [row_dict(e) for e in g.events], "evidence": evidence[g.id]}
                       for g in grievances],
        "change_requests": [{**row_dict(r), "evidence": [row_dict(e) for e in r.evidence]} for r in requests],
        "outbox_messages": [row_dict(m) for m in session.scalars(
            select(OutboxMessage).where(_outbox_condition(subject, grievance_ids))
            .order_by(OutboxMessage.id))],
        "conversations": [
            {**row_dict(c), "messages": [row_dict(m) for m in c.messages]} for c in session.scalars(
                select(Conversation).where(_conversation_condition(subject)).order_by(Conversation.id))],
        "telegram_updates": updates,
        "conversation_state": [row_dict(s) for s in session.scalars(
            select(ConversationState).where(_state_condition(subject)))],
        "access_log": [row_dict(a) for a in session.scalars(
            select(AuditEntry).where(_person_audit_condition(subject)).order_by(AuditEntry.id))],
    }
    audit.record(session, actor=actor, action="export_personal_data", subject_type="privacy_request",
                 subject_id=secrets.token_hex(6), now=now,
                 detail={"identity_ids": sorted(subject.identity_ids), "grievances": len(grievances),
                         "change_requests": len(requests)})
    session.commit()
    return document


# ---------------------------------------------------------------- erasure

@dataclass
class ErasureReport:
    pseudonym: str
    counts: dict[str, int]
    residual: list[tuple[str, str, int]]
    """(table, column, rows) still containing one of the subject's identifiers after erasure."""
    ids: dict[str, list[int]] = field(default_factory=dict)
    """Internal row ids touched (not personal): to re-apply the erasure after restoring an older backup."""
    notice: str = REGISTRY_NOTICE

    def as_dict(self) -> dict[str, Any]:
        return {"pseudonym": self.pseudonym, "counts": self.counts, "ids": self.ids,
                "residual": [{"table": t, "column": c, "rows": n} for t, c, n in self.residual],
                "notice": self.notice}


def _scrub_events(events: list[GrievanceEvent]) -> None:
    for event in events:
        payload = dict(event.payload or {})
        if any(key in payload for key in SCRUBBED_EVENT_KEYS):
            kept = {k: v for k, v in payload.items() if k not in SCRUBBED_EVENT_KEYS}
            event.payload = {**kept, "erased": True}


def erase(session: Session, subject: Subject, *, actor: str, now: datetime | None = None,
          redis_url: str = "") -> ErasureReport:
    """Delete or blank the subject's personal data in one transaction (audited), then drop their
    conversation state in Redis; returns the counts, the pseudonym and any residual hit."""
    now = now or utcnow()
    pseudonym = f"erased:{secrets.token_hex(8)}"
    counts: dict[str, int] = {}
    tombstone = f"erased:{now.date().isoformat()}"

    grievances = _grievances(session, subject)
    grievance_ids = [g.id for g in grievances]
    blobs: set[int] = set()
    evidence_rows = list(session.scalars(select(GrievanceEvidence).where(
        GrievanceEvidence.grievance_id.in_(grievance_ids),
        GrievanceEvidence.storage_key.startswith(BLOB_PREFIX))))
    blobs |= tombstone_grievance_evidence(session, evidence_rows, tombstone, "", ACTOR, now)
    for g in grievances:
        g.description, g.resolution_text, g.rejection_reason = "", None, None
        g.reply_channel = g.reply_address = g.person_spid = g.village_code = None
        g.identity_id = None
        _scrub_events(g.events)
        g.events.append(GrievanceEvent(actor=ACTOR, type="personal_data_erased", at=now, payload={}))
    counts["grievances"] = len(grievances)

    requests = _change_requests(session, subject)
    for request in requests:
        for item in request.evidence:
            found = blob_id(item.storage_key)
            if found is not None:
                blobs.add(found)
                item.storage_key = tombstone
        request.old_value = request.new_value = None
        request.person_spid = request.household_id = request.reason = None
        request.reply_channel = request.reply_address = None
        request.identity_id = None
    counts["change_requests"] = len(requests)
    session.flush()
    counts["evidence_files"] = drop_unreferenced_blobs(session, blobs)

    outbox_query = select(OutboxMessage.id).where(_outbox_condition(subject, grievance_ids))
    outbox_ids = list(session.scalars(outbox_query))
    session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(outbox_ids), OutboxMessage.status.in_(
        OPEN_OUTBOX)).values(status="suppressed"))
    session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(outbox_ids))
                    .values(text="", address="", identity_id=None))
    counts["outbox_messages"] = len(outbox_ids)

    conversation_ids = list(session.scalars(select(Conversation.id).where(_conversation_condition(subject))))
    session.execute(delete(ConversationMessage).where(ConversationMessage.conversation_id.in_(conversation_ids)))
    session.execute(delete(Conversation).where(Conversation.id.in_(conversation_ids)))
    counts["conversations"] = len(conversation_ids)

    for name, statement in (
        ("consents", delete(ConsentRecord).where(_consent_condition(subject))),
        ("one_time_codes", delete(OneTimeCode).where(_otp_condition(subject))),
        ("verification_locks", delete(VerificationLock).where(VerificationLock.person_spid.in_(
            sorted(subject.spids)))),
        ("telegram_updates", delete(TelegramUpdate).where(TelegramUpdate.chat_id.in_(
            sorted(subject.telegram_chats)))),
        ("conversation_state", delete(ConversationState).where(_state_condition(subject))),
    ):
        counts[name] = int(getattr(session.execute(statement), "rowcount", 0) or 0)

    identity_ids = sorted(subject.identity_ids)
    for table in Base.metadata.sorted_tables:  # any other table pointing at the identities
        column = table.columns.get("identity_id")
        if column is not None and table.name != ChannelIdentity.__tablename__ and identity_ids:
            session.execute(update(table).where(column.in_(identity_ids)).values(identity_id=None))
    counts["channel_identities"] = int(getattr(session.execute(
        delete(ChannelIdentity).where(ChannelIdentity.id.in_(identity_ids))), "rowcount", 0) or 0)

    counts["audit_entries_pseudonymised"] = int(getattr(session.execute(
        update(AuditEntry).where(_person_audit_condition(subject)).values(subject_id=pseudonym)),
        "rowcount", 0) or 0)
    ids = {"identity_ids": identity_ids, "grievance_ids": grievance_ids,
           "change_request_ids": [r.id for r in requests]}
    audit.record(session, actor=actor, action="erase_personal_data", subject_type="privacy_request",
                 subject_id=pseudonym, now=now, detail={**counts, **ids})
    session.commit()
    _erase_redis_state(redis_url, subject)
    return ErasureReport(pseudonym, counts, residual_matches(session, subject.needles), ids)


def _erase_redis_state(redis_url: str, subject: Subject) -> None:
    if not redis_url:
        return
    from bot.state import RedisStateStore

    store = RedisStateStore(redis_url)
    for _channel, address in subject.addresses:
        for pattern in STATE_KEY_PATTERNS:
            store.delete(pattern.format(address=address))


def residual_matches(session: Session, needles: set[str]) -> list[tuple[str, str, int]]:
    """Every (table, column) whose text still contains one of `needles` (all portal tables)."""
    found: list[tuple[str, str, int]] = []
    if not needles:
        return found
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, LargeBinary) or not isinstance(column.type, String | Text | JSON):
                continue
            text = cast(column, Text) if isinstance(column.type, JSON) else column
            hits = session.scalar(select(func.count()).select_from(table).where(
                or_(*[text.contains(n, autoescape=True) for n in sorted(needles)])))
            if hits:
                found.append((table.name, column.name, int(hits)))
    return found
