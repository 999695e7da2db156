"""Admin page for a citizen's data requests (SPEC §12): export as a JSON download, or erase, what the
portal holds about one citizen (portal/services/privacy.py; the same as `chumnuoy data export|erase`).
Keys travel in the form body, never in the URL; both actions are audited by the service."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, redirect, render_template, request, url_for

from chumnuoy.settings import get_settings
from portal.services import privacy
from portal.ui import bp
from portal.ui.auth import actor, db, login_required
from portal.ui.helpers import say

KEYS = ("phone", "spid", "identity_id")


def _subject() -> privacy.Subject | None:
    key, value = request.form.get("key", ""), (request.form.get("value") or "").strip()
    if key not in KEYS or not value or (key == "identity_id" and not value.isdigit()):
        say("error", "Give a phone number, SPID or identity id.")
        return None
    subject = privacy.resolve_subject(db(), **{key: int(value) if key == "identity_id" else value})
    if subject.empty():
        say("error", "Nothing is linked to this key.")
        return None
    return subject


@bp.get("/privacy")
@login_required("admin")
def privacy_requests() -> Any:
    return render_template("portal_ui/privacy.html", report=None)


@bp.post("/privacy/export")
@login_required("admin")
def privacy_export() -> Any:
    subject = _subject()
    if subject is None:
        return redirect(url_for("portal_ui.privacy_requests"))
    document = privacy.export(db(), subject, actor=actor())
    return Response(json.dumps(document, ensure_ascii=False, indent=2), mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="personal-data.json"'})


@bp.post("/privacy/erase")
@login_required("admin")
def privacy_erase() -> Any:
    if request.form.get("confirm") != "1":
        say("error", "Confirm the erasure first.")
        return redirect(url_for("portal_ui.privacy_requests"))
    subject = _subject()
    if subject is None:
        return redirect(url_for("portal_ui.privacy_requests"))
    report = privacy.erase(db(), subject, actor=actor(), redis_url=get_settings().redis_url)
    say("ok", "Data erased.")
    return render_template("portal_ui/privacy.html", report=report)
