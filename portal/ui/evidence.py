"""Evidence photos for officers: the bytes of a change request's or a case's photo, served only when the
request or case is in the officer's scope, only as JPEG or PNG, and audited. The bytes are read through
bot/telegram/evidence.py (`read_bytes`, the store the Telegram channel writes to)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort

from portal.services import audit, officer_queue
from portal.ui import bp
from portal.ui.auth import actor, current_officer, db, login_required

IMAGE_TYPES = ("image/jpeg", "image/png")


def _photo(storage_key: str, content_type: str, subject_type: str, subject_id: str) -> Response:
    try:
        from bot.telegram.evidence import read_bytes
    except ImportError:  # the Telegram channel's store is not installed
        abort(404)
    data = read_bytes(db(), storage_key)
    if data is None or content_type not in IMAGE_TYPES:
        abort(404)
    audit.record(db(), actor=actor(), action="view_evidence", subject_type=subject_type,
                 subject_id=subject_id, detail={"storage_key": storage_key})
    db().commit()
    return Response(data, mimetype=content_type, headers={"Content-Disposition": "inline"})


@bp.get("/changes/<int:request_id>/evidence/<int:evidence_id>")
@login_required()
def change_evidence(request_id: int, evidence_id: int) -> Any:
    officer = current_officer()
    assert officer is not None
    item = officer_queue.scoped_change_request(db(), officer, request_id)
    found = next((e for e in item.evidence if e.id == evidence_id), None) if item else None
    if found is None:
        abort(404)
    return _photo(found.storage_key, found.content_type, "change_request", str(request_id))


@bp.get("/cases/<reference>/evidence/<int:evidence_id>")
@login_required()
def case_evidence(reference: str, evidence_id: int) -> Any:
    officer = current_officer()
    assert officer is not None
    case = officer_queue.scoped_grievance(db(), officer, reference)
    event = next((e for e in case.events if e.type == "evidence"
                  and e.payload.get("evidence_id") == evidence_id), None) if case else None
    if event is None:
        abort(404)
    return _photo(str(event.payload.get("storage_key") or ""), str(event.payload.get("content_type") or ""),
                  "grievance", reference)
