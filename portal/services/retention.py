"""Data retention (SPEC §12): transcripts, photos and anonymous-case addresses are purged after
configurable periods. Every purge is batched (at most `batch` items per call, committed per batch),
idempotent (a purged item no longer matches) and audited (actor `system:retention`, ids only).

Periods (days; environment, read by `RetentionPolicy.from_env`; `0` turns that purge off):

- CHUMNUOY_RETENTION_TRANSCRIPT_DAYS (default 90): handoff conversations and their messages (from
  closing; open ones from their last activity), processed Telegram update payloads (from arrival) and
  the text of finished outbox messages (from creation; the row stays for delivery statistics).
- CHUMNUOY_RETENTION_PHOTO_DAYS (default 180): evidence bytes, from the case's end (grievance closed
  or rejected, change request decided); the metadata row stays as a tombstone and the grievance
  timeline says "photo removed after N days". Photos never attached: from their upload.
- CHUMNUOY_RETENTION_ANONYMOUS_ADDRESS_DAYS (default 30): the reply address of an anonymous grievance
  (and the address on its outbox messages and conversations), from its end (closed or rejected).

Conversation state rows (`bot_conversations`) past their own expiry (minutes to 48 hours) are
deleted on every run regardless of the periods (Redis expires its copies itself).

Choices: evidence and addresses of an open case are never purged (an escalated or reopened case
still needs them); a reopened case starts over. 30 days for anonymous addresses matches the 30-day
reopening window: after it the citizen can no longer be told anything. Photos are kept 180 days after
the decision so an appeal or audit of the decision can still look at them. Transcripts (90 days)
are working notes: what matters for a case is in the case itself (description, events).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from portal.models.base import utcnow
from portal.models.cases import (
    ChangeEvidence,
    ChangeRequest,
    Conversation,
    ConversationMessage,
    Grievance,
    GrievanceEvent,
    OutboxMessage,
)
from portal.models.conversation_state import ConversationState
from portal.models.telegram import EvidenceBlob, GrievanceEvidence, TelegramUpdate
from portal.services import audit

ACTOR = "system:retention"
BLOB_PREFIX = "db:evidence_blobs/"
REMOVED_PREFIX = "removed:"
"""`storage_key` of an evidence row whose bytes were purged: `removed:<after_days>:<date>`."""
DEFAULT_BATCH = 200
FINAL_OUTBOX = ("sent", "failed", "opted_out", "suppressed")
FINAL_UPDATES = ("done", "failed", "ignored")


@dataclass(frozen=True)
class RetentionPolicy:
    transcript_days: int = 90
    photo_days: int = 180
    anonymous_address_days: int = 30

    @classmethod
    def from_env(cls) -> RetentionPolicy:
        from chumnuoy.settings import get_settings

        get_settings()  # loads .env into the environment (the process environment wins)

        def days(name: str, default: int) -> int:
            value = int(os.environ.get(name, "").strip() or default)
            if value < 0:
                raise ValueError(f"{name} must be 0 (off) or a number of days")
            return value

        return cls(days("CHUMNUOY_RETENTION_TRANSCRIPT_DAYS", cls.transcript_days),
                   days("CHUMNUOY_RETENTION_PHOTO_DAYS", cls.photo_days),
                   days("CHUMNUOY_RETENTION_ANONYMOUS_ADDRESS_DAYS", cls.anonymous_address_days))


def _cutoff(now: datetime, days: int) -> datetime | None:
    return None if days <= 0 else now - timedelta(days=days)


def _count(session: Session, query) -> int:  # type: ignore[no-untyped-def]
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def _grievance_ended_before(cutoff: datetime):  # type: ignore[no-untyped-def]
    """A grievance that finished (closed, or rejected) before `cutoff`; active ones never match."""
    return or_(and_(Grievance.state == "closed", Grievance.closed_at < cutoff),
               and_(Grievance.state == "rejected", Grievance.updated_at < cutoff))


def blob_id(storage_key: str) -> int | None:
    tail = storage_key[len(BLOB_PREFIX):] if storage_key.startswith(BLOB_PREFIX) else ""
    return int(tail) if tail.isdigit() else None


def removed_after_days(storage_key: str) -> int | None:
    """The retention period recorded in a tombstone key (None: not purged by retention)."""
    if not storage_key.startswith(REMOVED_PREFIX):
        return None
    days = storage_key[len(REMOVED_PREFIX):].split(":", 1)[0]
    return int(days) if days.isdigit() else None


def drop_unreferenced_blobs(session: Session, blob_ids: set[int]) -> int:
    """Delete those blobs that no evidence row points at any more."""
    if not blob_ids:
        return 0
    keys = [f"{BLOB_PREFIX}{i}" for i in blob_ids]
    used = set(session.scalars(select(GrievanceEvidence.storage_key)
                               .where(GrievanceEvidence.storage_key.in_(keys))))
    used |= set(session.scalars(select(ChangeEvidence.storage_key)
                                .where(ChangeEvidence.storage_key.in_(keys))))
    free = [i for i in blob_ids if f"{BLOB_PREFIX}{i}" not in used]
    if free:
        session.execute(delete(EvidenceBlob).where(EvidenceBlob.id.in_(free)))
    return len(free)


def tombstone_grievance_evidence(session: Session, rows: list[GrievanceEvidence], storage_key: str,
                                 event_type: str, actor: str, now: datetime, **payload: object) -> set[int]:
    """Point the rows at `storage_key` (no bytes), mark their timeline events and (with `event_type`) add
    one event per row; returns the blob ids they used (the caller drops those no longer referenced)."""
    blobs: set[int] = set()
    for row in rows:
        found = blob_id(row.storage_key)
        if found is not None:
            blobs.add(found)
        row.storage_key = storage_key
        events = session.scalars(select(GrievanceEvent).where(GrievanceEvent.grievance_id == row.grievance_id,
                                                              GrievanceEvent.type == "evidence"))
        for event in events:
            if event.payload.get("evidence_id") == row.id and not event.payload.get("removed"):
                kept = {k: v for k, v in event.payload.items() if k != "storage_key"}
                event.payload = {**kept, "removed": True}  # reassigned: the JSON column is not mutable
        if event_type:
            session.add(GrievanceEvent(grievance_id=row.grievance_id, actor=actor, type=event_type, at=now,
                                       payload={"evidence_id": row.id, **payload}))
    return blobs


# ---------------------------------------------------------------- transcripts

def purge_conversation_state(session: Session, now: datetime, *, dry_run: bool = False) -> int:
    expired = ConversationState.expires_at <= now
    if dry_run:
        return _count(session, select(ConversationState.key).where(expired))
    result = session.execute(delete(ConversationState).where(expired))
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def purge_conversations(session: Session, now: datetime, policy: RetentionPolicy, *,
                        batch: int = DEFAULT_BATCH, dry_run: bool = False) -> int:
    cutoff = _cutoff(now, policy.transcript_days)
    if cutoff is None:
        return 0
    old = or_(and_(Conversation.status == "closed", Conversation.closed_at < cutoff),
              and_(Conversation.status != "closed", Conversation.updated_at < cutoff))
    query = select(Conversation.id).where(old)
    if dry_run:
        return _count(session, query)
    ids = list(session.scalars(query.order_by(Conversation.id).limit(batch)))
    if not ids:
        return 0
    in_batch = ConversationMessage.conversation_id.in_(ids)
    messages = _count(session, select(ConversationMessage.id).where(in_batch))
    session.execute(delete(ConversationMessage).where(in_batch))
    session.execute(delete(Conversation).where(Conversation.id.in_(ids)))
    audit.record(session, actor=ACTOR, action="purge_conversations", subject_type="retention",
                 subject_id="conversations", now=now,
                 detail={"conversation_ids": ids, "messages": messages, "after_days": policy.transcript_days})
    session.commit()
    return len(ids)


def purge_telegram_updates(session: Session, now: datetime, policy: RetentionPolicy, *,
                           batch: int = DEFAULT_BATCH, dry_run: bool = False) -> int:
    cutoff = _cutoff(now, policy.transcript_days)
    if cutoff is None:
        return 0
    query = select(TelegramUpdate.update_id).where(TelegramUpdate.status.in_(FINAL_UPDATES),
                                                   TelegramUpdate.received_at < cutoff)
    if dry_run:
        return _count(session, query)
    ids = list(session.scalars(query.order_by(TelegramUpdate.update_id).limit(batch)))
    if not ids:
        return 0
    session.execute(delete(TelegramUpdate).where(TelegramUpdate.update_id.in_(ids)))
    audit.record(session, actor=ACTOR, action="purge_telegram_updates", subject_type="retention",
                 subject_id="telegram_updates", now=now,
                 detail={"count": len(ids), "first": ids[0], "last": ids[-1],
                         "after_days": policy.transcript_days})
    session.commit()
    return len(ids)


def purge_outbox_texts(session: Session, now: datetime, policy: RetentionPolicy, *,
                       batch: int = DEFAULT_BATCH, dry_run: bool = False) -> int:
    """Blank the text of finished outbox messages (the row stays: delivery statistics)."""
    cutoff = _cutoff(now, policy.transcript_days)
    if cutoff is None:
        return 0
    query = select(OutboxMessage.id).where(OutboxMessage.status.in_(FINAL_OUTBOX),
                                           OutboxMessage.created_at < cutoff, OutboxMessage.text != "")
    if dry_run:
        return _count(session, query)
    ids = list(session.scalars(query.order_by(OutboxMessage.id).limit(batch)))
    if not ids:
        return 0
    session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(text=""))
    audit.record(session, actor=ACTOR, action="purge_outbox_texts", subject_type="retention",
                 subject_id="outbox_messages", now=now,
                 detail={"outbox_ids": ids, "after_days": policy.transcript_days})
    session.commit()
    return len(ids)


# ---------------------------------------------------------------- photos

def purge_grievance_evidence(session: Session, now: datetime, policy: RetentionPolicy, *,
                             batch: int = DEFAULT_BATCH, dry_run: bool = False) -> int:
    cutoff = _cutoff(now, policy.photo_days)
    if cutoff is None:
        return 0
    query = (select(GrievanceEvidence.id).join(Grievance, Grievance.id == GrievanceEvidence.grievance_id)
             .where(_grievance_ended_before(cutoff), GrievanceEvidence.storage_key.startswith(BLOB_PREFIX)))
    if dry_run:
        return _count(session, query)
    ids = list(session.scalars(query.order_by(GrievanceEvidence.id).limit(batch)))
    if not ids:
        return 0
    rows = list(session.scalars(select(GrievanceEvidence).where(GrievanceEvidence.id.in_(ids))))
    key = f"{REMOVED_PREFIX}{policy.photo_days}:{now.date().isoformat()}"
    blobs = tombstone_grievance_evidence(session, rows, key, "evidence_removed", ACTOR, now,
                                         after_days=policy.photo_days)
    session.flush()
    drop_unreferenced_blobs(session, blobs)
    for grievance_id in sorted({r.grievance_id for r in rows}):
        audit.record(session, actor=ACTOR, action="purge_evidence", subject_type="grievance",
                     subject_id=str(grievance_id), now=now,
                     detail={"evidence_ids": [r.id for r in rows if r.grievance_id == grievance_id],
                             "after_days": policy.photo_days})
    session.commit()
    return len(ids)


def purge_change_evidence(session: Session, now: datetime, policy: RetentionPolicy, *,
                          batch: int = DEFAULT_BATCH, dry_run: bool = False) -> int:
    cutoff = _cutoff(now, policy.photo_days)
    if cutoff is None:
        return 0
    query = (select(ChangeEvidence.id)
             .join(ChangeRequest, ChangeRequest.id == ChangeEvidence.change_request_id)
             .where(ChangeRequest.status.in_(("approved", "rejected")), ChangeRequest.decided_at < cutoff,
                    ChangeEvidence.storage_key.startswith(BLOB_PREFIX)))
    if dry_run:
        return _count(session, query)
    ids = list(session.scalars(query.order_by(ChangeEvidence.id).limit(batch)))
    if not ids:
        return 0
    rows = list(session.scalars(select(ChangeEvidence).where(ChangeEvidence.id.in_(ids))))
    blobs = {b for b in (blob_id(r.storage_key) for r in rows) if b is not None}
    for row in rows:
        row.storage_key = f"{REMOVED_PREFIX}{policy.photo_days}:{now.date().isoformat()}"
    session.flush()
    drop_unreferenced_blobs(session, blobs)
    for request_id in sorted({r.change_request_id for r in rows}):
        audit.record(session, actor=ACTOR, action="purge_evidence", subject_type="change_request",
                     subject_id=str(request_id), now=now,
                     detail={"evidence_ids": [r.id for r in rows if r.change_request_id == request_id],
                             "after_days": policy.photo_days})
    session.commit()
    return len(ids)


def purge_orphan_blobs(session: Session, now: datetime, policy: RetentionPolicy, *,
                       batch: int = DEFAULT_BATCH, dry_run: bool = False) -> int:
    """Photos stored but never attached (an abandoned journey), older than the photo period."""
    cutoff = _cutoff(now, policy.photo_days)
    if cutoff is None:
        return 0
    referenced = select(GrievanceEvidence.storage_key).union(select(ChangeEvidence.storage_key))
    used = {b for b in (blob_id(k) for k in session.scalars(referenced)) if b is not None}
    candidates = [i for i in session.scalars(select(EvidenceBlob.id).where(EvidenceBlob.created_at < cutoff)
                                             .order_by(EvidenceBlob.id)) if i not in used]
    if dry_run or not candidates:
        return len(candidates)
    ids = candidates[:batch]
    session.execute(delete(EvidenceBlob).where(EvidenceBlob.id.in_(ids)))
    audit.record(session, actor=ACTOR, action="purge_orphan_evidence", subject_type="retention",
                 subject_id="evidence_blobs", now=now,
                 detail={"blob_ids": ids, "after_days": policy.photo_days})
    session.commit()
    return len(ids)


# ---------------------------------------------------------------- anonymous-case addresses

def purge_anonymous_addresses(session: Session, now: datetime, policy: RetentionPolicy, *,
                              batch: int = DEFAULT_BATCH, dry_run: bool = False) -> int:
    cutoff = _cutoff(now, policy.anonymous_address_days)
    if cutoff is None:
        return 0
    query = select(Grievance.id).where(Grievance.anonymous.is_(True), Grievance.reply_address.is_not(None),
                                       _grievance_ended_before(cutoff))
    if dry_run:
        return _count(session, query)
    ids = list(session.scalars(query.order_by(Grievance.id).limit(batch)))
    if not ids:
        return 0
    session.execute(update(Grievance).where(Grievance.id.in_(ids))
                    .values(reply_address=None, reply_channel=None))
    session.execute(update(OutboxMessage).where(OutboxMessage.grievance_id.in_(ids)).values(address=""))
    session.execute(update(Conversation).where(Conversation.grievance_id.in_(ids)).values(address=""))
    for grievance_id in ids:
        session.add(GrievanceEvent(grievance_id=grievance_id, actor=ACTOR, type="contact_removed", at=now,
                                   payload={"after_days": policy.anonymous_address_days}))
    audit.record(session, actor=ACTOR, action="purge_anonymous_addresses", subject_type="retention",
                 subject_id="grievances", now=now,
                 detail={"grievance_ids": ids, "after_days": policy.anonymous_address_days})
    session.commit()
    return len(ids)


# ---------------------------------------------------------------- all together

Purge = Callable[..., int]
PURGES: dict[str, Purge] = {
    "conversations": purge_conversations,
    "telegram_updates": purge_telegram_updates,
    "outbox_texts": purge_outbox_texts,
    "grievance_evidence": purge_grievance_evidence,
    "change_evidence": purge_change_evidence,
    "orphan_evidence": purge_orphan_blobs,
    "anonymous_addresses": purge_anonymous_addresses,
}


def run_once(session: Session, now: datetime | None = None, policy: RetentionPolicy | None = None, *,
             batch: int = DEFAULT_BATCH, dry_run: bool = False) -> dict[str, int]:
    """One batch of every purge (dry run: what would be purged in all, nothing changed)."""
    now = now or utcnow()
    policy = policy or RetentionPolicy.from_env()
    done = {"conversation_state": purge_conversation_state(session, now, dry_run=dry_run)}
    for name, purge in PURGES.items():
        done[name] = purge(session, now, policy, batch=batch, dry_run=dry_run)
    return done


def run_all(session: Session, now: datetime | None = None, policy: RetentionPolicy | None = None, *,
            batch: int = DEFAULT_BATCH, dry_run: bool = False) -> dict[str, int]:
    """Batches until nothing is left (the CLI); totals per purge."""
    now = now or utcnow()
    policy = policy or RetentionPolicy.from_env()
    if dry_run:
        return run_once(session, now, policy, batch=batch, dry_run=True)
    totals: dict[str, int] = {}
    while True:
        done = run_once(session, now, policy, batch=batch)
        for name, count in done.items():
            totals[name] = totals.get(name, 0) + count
        if not any(done.values()):
            return totals
