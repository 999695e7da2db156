"""The audit log: who looked at or changed what, for every access to personal data (SPEC §14).

`record` only adds the row; the caller's transaction commits it together with what it audits, so an
access that is rolled back leaves no entry and a committed one always has its entry. `detail` must
not contain personal data in clear (ids and codes only).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models.base import utcnow
from portal.models.cases import AuditEntry


def record(session: Session, *, actor: str, action: str, subject_type: str, subject_id: str,
           detail: dict[str, Any] | None = None, now: datetime | None = None) -> None:
    session.add(AuditEntry(at=now or utcnow(), actor=actor, action=action, subject_type=subject_type,
                           subject_id=str(subject_id), detail=detail))


def entries_for(session: Session, subject_type: str, subject_id: str) -> list[AuditEntry]:
    return list(session.scalars(
        select(AuditEntry).where(AuditEntry.subject_type == subject_type,
                                 AuditEntry.subject_id == str(subject_id)).order_by(AuditEntry.id)))
