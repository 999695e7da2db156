"""Change requests (SPEC §7): a citizen (through a journey) or an officer asks to change registry data;
an officer approves (the change is applied to the registry through `RegistryPort.apply_change`) or
rejects with a reason; the citizen is told the outcome through the outbox. Every step is audited.

Approval is claimed first (a conditional UPDATE sets `decided_by` on a pending row), so two officers
approving at once apply the change once. The registry call happens outside the transaction; when the
registry refuses (e.g. `rjct.old_value.mismatch`) the request stays pending with the registry's code,
so the officer can look again; when it is unreachable it stays pending unchanged.
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from chumnuoy.i18n import translate
from portal.models.cases import AuditEntry, ChangeEvidence, ChangeRequest
from portal.services import audit
from portal.services import case_messages as msg
from portal.services.outbox import enqueue
from portal.services.working_time import aware_utc
from registry_client.types import Household, Person, RegistryError, RegistryPort

log = logging.getLogger("chumnuoy.change_requests")

CHANGE_TYPES = ("phone", "address", "name", "birth_date", "member_birth", "member_death", "member_moved_out")
HOUSEHOLD_CHANGES = ("address", "member_birth")
SOURCES = ("citizen", "officer", "api")


class ChangeRequestError(Exception):
    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


@dataclass(frozen=True)
class EvidenceFile:
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    storage_key: str
    exif_stripped: bool
    source: str = "telegram"


def create(session: Session, *, change_type: str, new_value: Any, source: str, requested_by: str,
           now: datetime, person_spid: str | None = None, household_id: str | None = None,
           old_value: Any = None, identity_id: int | None = None, reply_channel: str | None = None,
           reply_address: str | None = None, locale: str = "km", province_code: str | None = None,
           commune_code: str | None = None, evidence: tuple[EvidenceFile, ...] = (),
           notify: bool = False, dedupe_key: str | None = None) -> ChangeRequest:
    """Store a pending change request (committed). `notify` enqueues "sent to an officer" (for channels
    that did not already say so in their reply). `dedupe_key` (e.g. `telegram:update:<update_id>`) makes
    it idempotent, as for grievances: kept in the creation's audit entry, and a second call for the same
    reply address and key returns the request stored by the first (a worker killed after this commit
    retries the same inbound message)."""
    now = aware_utc(now)
    if dedupe_key is not None and (earlier := _created_with_key(session, reply_address, dedupe_key)):
        return earlier
    if change_type not in CHANGE_TYPES:
        raise ChangeRequestError("invalid_change_type", f"change type must be one of {CHANGE_TYPES}")
    if source not in SOURCES:
        raise ChangeRequestError("invalid_source", f"source must be one of {SOURCES}")
    if not person_spid and not household_id:
        raise ChangeRequestError("target_required", "a person (SPID) or a household is required")
    if change_type not in HOUSEHOLD_CHANGES and not person_spid:
        raise ChangeRequestError("target_required", f"{change_type} changes a person: give the SPID")
    if new_value is None and change_type not in ("member_death", "member_moved_out"):
        raise ChangeRequestError("new_value_required", "the new value is required")
    if reply_channel is not None and reply_channel not in ("sms", "telegram"):
        raise ChangeRequestError("invalid_channel", "reply channel is sms or telegram")
    request = ChangeRequest(
        change_type=change_type, person_spid=person_spid, household_id=household_id, old_value=old_value,
        new_value=new_value, status="pending", source=source, requested_by=requested_by,
        identity_id=identity_id, reply_channel=reply_channel if reply_address else None,
        reply_address=reply_address, locale=locale if locale in ("km", "en") else "km",
        province_code=province_code, commune_code=commune_code, created_at=now,
    )
    for item in evidence:
        request.evidence.append(ChangeEvidence(
            filename=item.filename, content_type=item.content_type, size_bytes=item.size_bytes,
            sha256=item.sha256, storage_key=item.storage_key, exif_stripped=item.exif_stripped,
            source=item.source, created_at=now))
    session.add(request)
    session.flush()
    audit.record(session, actor=requested_by, action="create_change_request", subject_type="change_request",
                 subject_id=str(request.id), now=now, detail={
                     "change_type": change_type, "source": source, **({"dedupe_key": dedupe_key} if dedupe_key
                                                                      else {})})
    if notify:
        _notify(session, request, msg.CHANGE_RECEIVED, "notice")
    session.commit()
    return request


def _created_with_key(session: Session, reply_address: str | None, key: str) -> ChangeRequest | None:
    """The request, among the newest from `reply_address`, whose creation was audited with `key`."""
    if reply_address is None:
        return None
    recent = select(ChangeRequest.id).where(ChangeRequest.reply_address == reply_address).order_by(
        ChangeRequest.id.desc()).limit(20)
    ids = [str(request_id) for request_id in session.scalars(recent)]
    if not ids:
        return None
    entries = session.scalars(select(AuditEntry).where(
        AuditEntry.action == "create_change_request", AuditEntry.subject_type == "change_request",
        AuditEntry.subject_id.in_(ids)))
    for entry in entries:
        if (entry.detail or {}).get("dedupe_key") == key:
            return session.get(ChangeRequest, int(entry.subject_id))
    return None


def _notify(session: Session, request: ChangeRequest, msgid: str, kind: str, **params: Any) -> None:
    if request.reply_channel and request.reply_address:
        enqueue(session, channel=request.reply_channel, address=request.reply_address,
                text=translate(request.locale, msgid, **params), kind=kind, locale=request.locale,
                identity_id=request.identity_id)


def get(session: Session, request_id: int) -> ChangeRequest | None:
    return session.get(ChangeRequest, request_id)


def list_requests(session: Session, *, status: str | None = None, limit: int = 100,
                  offset: int = 0) -> list[ChangeRequest]:
    query = select(ChangeRequest).order_by(ChangeRequest.created_at, ChangeRequest.id)
    if status:
        query = query.where(ChangeRequest.status == status)
    return list(session.scalars(query.limit(limit).offset(offset)))


def _target(registry: RegistryPort, request: ChangeRequest) -> Person | Household:
    if request.person_spid:
        people = registry.find_people("SPID", request.person_spid)
        if not people:
            raise ChangeRequestError("person_not_found", "the registry has no such person")
        return people[0]
    household = registry.get_household(request.household_id or "")
    if household is None:
        raise ChangeRequestError("household_not_found", "the registry has no such household")
    return household


def _apply(registry: RegistryPort, request: ChangeRequest, target: Person | Household, actor: str):  # type: ignore[no-untyped-def]
    """`apply_change`, with our request id as the registry reference when the client accepts one."""
    parameters = inspect.signature(registry.apply_change).parameters
    extra = {"reference_id": f"chumnuoy-cr-{request.id}"} if "reference_id" in parameters else {}
    return registry.apply_change(request.change_type, target, request.old_value, request.new_value, actor,
                                 **extra)


def _claim(session: Session, request: ChangeRequest, actor: str) -> None:
    claimed = session.execute(
        update(ChangeRequest)
        .where(ChangeRequest.id == request.id, ChangeRequest.status == "pending",
               ChangeRequest.decided_by.is_(None))
        .values(decided_by=actor).execution_options(synchronize_session=False)).rowcount
    session.commit()
    session.refresh(request)
    if claimed != 1:
        raise ChangeRequestError("not_pending",
                                 f"change request {request.id} is {request.status} or being decided")


def approve(session: Session, request: ChangeRequest, registry: RegistryPort, *, actor: str,
            now: datetime) -> ChangeRequest:
    """Apply the change to the registry, then mark it approved and tell the citizen."""
    now = aware_utc(now)
    _claim(session, request, actor)
    try:
        result = _apply(registry, request, _target(registry, request), actor)
    except (RegistryError, ChangeRequestError) as error:
        request.decided_by = None
        audit.record(session, actor=actor, action="approve_change_request_failed",
                     subject_type="change_request", subject_id=str(request.id),
                     detail={"error": type(error).__name__}, now=now)
        session.commit()
        raise
    if not result.applied:
        request.decided_by = None
        request.registry_reason_code = result.reason_code
        audit.record(session, actor=actor, action="approve_change_request_refused",
                     subject_type="change_request", subject_id=str(request.id),
                     detail={"reason_code": result.reason_code}, now=now)
        session.commit()
        raise ChangeRequestError("registry_refused", result.reason_code or "the registry refused the change")
    request.status, request.decided_at = "approved", now
    request.applied_at = aware_utc(result.applied_at) if result.applied_at else now
    request.registry_reason_code = None
    audit.record(session, actor=actor, action="approve_change_request", subject_type="change_request",
                 subject_id=str(request.id), detail={"change_type": request.change_type}, now=now)
    _notify(session, request, msg.CHANGE_APPROVED, "status")
    session.commit()
    return request


def reject(session: Session, request: ChangeRequest, *, reason: str, actor: str,
           now: datetime) -> ChangeRequest:
    now = aware_utc(now)
    reason = (reason or "").strip()
    if not reason:
        raise ChangeRequestError("reason_required", "a rejection needs a reason")
    _claim(session, request, actor)
    request.status, request.reason, request.decided_at = "rejected", reason, now
    audit.record(session, actor=actor, action="reject_change_request", subject_type="change_request",
                 subject_id=str(request.id), detail={"change_type": request.change_type}, now=now)
    _notify(session, request, msg.CHANGE_REJECTED, "status", reason=reason)
    session.commit()
    return request
