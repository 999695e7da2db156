"""The queue, the case page and its actions, the citizen's live registry record, and the CSV export.

Handlers are thin: scope check (officer_queue), one service call, a flash message, a redirect.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response, abort, redirect, render_template, request, url_for
from sqlalchemy import select

from chumnuoy.i18n import translate
from portal.models.cases import CannedReply, Grievance, Officer
from portal.services import audit, grievances, officer_queue
from portal.services.grievance_catalogue import CATEGORIES, PROGRAMME_AGENCY
from portal.services.grievances import GrievanceError
from portal.ui import bp, helpers
from portal.ui.auth import actor, current_officer, db, login_required
from portal.ui.helpers import say
from registry_client.types import RegistryError

FILTER_STATUSES = (
    "active", "received", "in_review", "escalated", "reopened", "resolved", "closed", "rejected")


@bp.get("/")
@login_required()
def queue() -> Any:
    officer = current_officer()
    assert officer is not None
    filters = officer_queue.QueueFilters.from_args(request.args)
    rows = officer_queue.queue(db(), officer, filters, helpers.now())
    return render_template(
        "portal_ui/queue.html", rows=rows, filters=filters, statuses=FILTER_STATUSES,
        categories=list(CATEGORIES), programmes=list(PROGRAMME_AGENCY), h=helpers,
        export_url=url_for("portal_ui.export_csv", **{k: v for k, v in request.args.items() if v}))


def _case_or_404(reference: str) -> tuple[Officer, Grievance]:
    officer = current_officer()
    assert officer is not None
    case = officer_queue.scoped_grievance(db(), officer, reference)
    if case is None:
        abort(404)
    return officer, case


def _canned(officer: Officer, locale: str) -> list[tuple[str, str]]:
    """Built-in canned replies in the case's language, then the agency's own (canned_replies table)."""
    options = [(key, translate(locale, msgid)) for key, msgid in helpers.CANNED_REPLIES.items()]
    rows = db().scalars(select(CannedReply).where(CannedReply.active.is_(True), CannedReply.locale == locale)
                        .order_by(CannedReply.key))
    options += [(f"db:{row.id}", row.text) for row in rows
                if row.agency in (None, officer.agency) or officer.role == "admin"]
    return options


@bp.get("/cases/<reference>")
@login_required()
def case(reference: str) -> Any:
    officer, g = _case_or_404(reference)
    view = grievances.officer_view(db(), g, actor(), now=helpers.now())  # audited
    sla = grievances.sla_state(g, helpers.now())
    return render_template(
        "portal_ui/case.html", c=g, view=view, sla=sla, h=helpers, canned=_canned(officer, g.locale),
        colleagues=officer_queue.colleagues(db(), officer), officer=officer,
        can_escalate=g.level != "national", active=g.state in grievances.ACTIVE_STATES,
        reopenable=g.state in ("resolved", "closed"))


@bp.get("/cases/<reference>/registry")
@login_required()
def case_registry(reference: str) -> Any:
    """The complainant's record, fetched live from the registry; every view is audited."""
    _officer, g = _case_or_404(reference)
    if g.anonymous or not g.person_spid:
        return render_template("portal_ui/registry.html", c=g, person=None, household=None, h=helpers,
                               error="no_person")
    session_ = db()
    try:
        people = helpers.registry().find_people("SPID", g.person_spid)
        person = people[0] if people else None
        household = helpers.registry().household_of(person) if person else None
        enrolments = helpers.registry().enrolments(person) if person else []
    except RegistryError:
        return render_template("portal_ui/registry.html", c=g, person=None, household=None, h=helpers,
                               error="unavailable"), 503
    audit.record(session_, actor=actor(), action="view_registry_person", subject_type="grievance",
                 subject_id=g.reference, detail={"found": person is not None}, now=helpers.now())
    session_.commit()
    return render_template("portal_ui/registry.html", c=g, person=person, household=household,
                           enrolments=enrolments,
                           h=helpers, error=None if person else "not_found")


def _reply_text(officer: Officer, g: Grievance) -> str:
    typed = (request.form.get("text") or "").strip()
    if typed:
        return typed
    key = request.form.get("canned") or ""
    return dict(_canned(officer, g.locale)).get(key, "")


@bp.post("/cases/<reference>/<action>")
@login_required()
def case_action(reference: str, action: str) -> Any:
    officer, g = _case_or_404(reference)
    session_, moment, who = db(), helpers.now(), actor()
    form = request.form
    try:
        if action == "reply":
            grievances.reply(session_, g, _reply_text(officer, g), who, moment,
                             wait_for_citizen=form.get("wait") == "1")
            say("ok", "Reply queued for the citizen.")
        elif action == "note":
            grievances.note(session_, g, form.get("text", ""), who, moment)
            say("ok", "Note added.")
        elif action == "assign":
            raw_id = (form.get("officer_id") or "0").strip()
            if not (raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 9):
                abort(400)
            target_id = int(raw_id) or None
            allowed = {o.id for o in officer_queue.colleagues(session_, officer)}
            if target_id is not None and target_id not in allowed:
                abort(400)
            grievances.assign(session_, g, target_id, who, moment)
            say("ok", "Case assigned.")
        elif action == "escalate":
            grievances.escalate(session_, g, who, moment, reason=(form.get("reason") or "").strip())
            say("ok", "Case escalated.")
        elif action == "resolve":
            code = form.get("resolution_code") or ""
            if code not in helpers.RESOLUTION_CODES:
                say("error", "Choose a resolution code.")
            else:
                grievances.resolve(session_, g, resolution_code=code, text=form.get("text", ""), actor=who,
                                   now=moment)
                say("ok", "Case resolved.")
        elif action == "reject":
            grievances.reject(session_, g, reason=form.get("reason", ""), actor=who, now=moment)
            say("ok", "Case rejected.")
        elif action == "reopen":
            grievances.reopen(session_, g, actor=who, now=moment, reason=(form.get("reason") or "").strip())
            say("ok", "Case reopened.")
        else:
            abort(404)
    except GrievanceError as error:
        session_.rollback()
        say("error", ERRORS.get(error.code, "This action is not possible now."))
    if officer_queue.scoped_grievance(session_, officer, reference) is None:
        return redirect(url_for("portal_ui.queue"))  # e.g. escalated out of the officer's scope
    return redirect(url_for("portal_ui.case", reference=reference))


ERRORS = {
    "empty": "Write a text first.",
    "reason_required": "Give a reason.",
    "invalid_state": "This action is not possible in the case's current state.",
    "top_level": "The case is already at the national level.",
    "reopen_window_closed": "The 30 days to reopen have passed.",
}


@bp.get("/export.csv")
@login_required()
def export_csv() -> Response:
    officer = current_officer()
    assert officer is not None
    filters = officer_queue.QueueFilters.from_args(request.args)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(officer_queue.CSV_COLUMNS)
    rows = officer_queue.export_rows(db(), officer, filters, helpers.now())
    writer.writerows(rows)
    audit.record(db(), actor=actor(), action="export_cases", subject_type="grievance", subject_id="*",
                 detail={"rows": len(rows)})
    db().commit()
    return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=chumnuoy-cases.csv"})
