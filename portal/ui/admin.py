"""The dashboard (server-rendered SVG bar charts, no JavaScript), the audit log and user administration."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from sqlalchemy import select

from portal.models.cases import LEVELS, OFFICER_ROLES, AuditEntry, CannedReply, Officer
from portal.services import audit, officer_queue, officers
from portal.services.grievance_catalogue import AGENCIES
from portal.ui import bp, charts, helpers
from portal.ui.auth import actor, current_officer, db, login_required
from portal.ui.helpers import say

PROVINCE_NAMES: dict[str, tuple[str, str]] = {}


def province_name(code: str) -> str:
    """Province name from the gazetteer's static list (names only; the registry database is not read)."""
    if not PROVINCE_NAMES:
        from registry_sandbox.gazetteer import provinces

        PROVINCE_NAMES.update({p.code: (p.name_km, p.name_en) for p in provinces()})
    names = PROVINCE_NAMES.get(code)
    if names is None:
        return helpers.text("No address") if code == "--" else code
    return names[0] if helpers.current_locale() == "km" else names[1]


@bp.get("/dashboard")
@login_required()
def dashboard() -> Any:
    officer = current_officer()
    assert officer is not None
    data = officer_queue.dashboard(db(), officer, helpers.now())
    text = helpers.text
    category_chart = charts.bars([(helpers.label(helpers.CATEGORY_LABELS, k), v)
                                  for k, v in data.by_category])
    province_chart = charts.bars([(province_name(k), v) for k, v in data.by_province])
    channel_chart = charts.bars([(helpers.label(helpers.CHANNEL_LABELS, k), v) for k, v in data.by_channel])
    week_chart = charts.columns([(helpers.number(k[5:]), v) for k, v in data.by_week])
    channels = sorted({c for week in data.by_week_channel.values() for c in week})
    stacked = charts.stacked_columns(
        [helpers.number(k[5:]) for k in data.by_week_channel],
        [(helpers.label(helpers.CHANNEL_LABELS, c), [data.by_week_channel[w].get(c, 0)
                                                      for w in data.by_week_channel]) for c in channels])
    sla_chart = charts.bars([(text(helpers.SLA_LABELS[k]), v) for k, v in data.sla.items()],
                            classes=[f"sla-{k}" for k in data.sla])
    compliance = round(100 * data.finished_on_time / data.finished) if data.finished else None
    return render_template("portal_ui/dashboard.html", data=data, h=helpers, category_chart=category_chart,
                           province_chart=province_chart, channel_chart=channel_chart, week_chart=week_chart,
                           stacked=stacked, sla_chart=sla_chart, compliance=compliance)


@bp.get("/audit")
@login_required("admin", "supervisor", "national_officer")
def audit_log() -> Any:
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    for field, column in (("actor", AuditEntry.actor), ("action", AuditEntry.action),
                          ("subject_type", AuditEntry.subject_type), ("subject_id", AuditEntry.subject_id)):
        value = (request.args.get(field) or "").strip()
        if value:
            query = query.where(column == value)
    officer = current_officer()
    assert officer is not None
    if officer.role != "admin":  # non-admins see the trail of their own agency's officers
        same_agency = db().scalars(select(Officer).where(Officer.agency == officer.agency))
        ids = [f"officer:{o.id}" for o in same_agency]
        query = query.where(AuditEntry.actor.in_(ids))
    rows = list(db().scalars(query.limit(300)))
    return render_template("portal_ui/audit.html", rows=rows, h=helpers, args=request.args)


@bp.get("/users")
@login_required("admin")
def users() -> Any:
    rows = list(db().scalars(select(Officer).order_by(Officer.role, Officer.login)))
    return render_template("portal_ui/users.html", rows=rows, h=helpers, roles=OFFICER_ROLES,
                           agencies=AGENCIES,
                           levels=LEVELS, error=None)


@bp.post("/users")
@login_required("admin")
def create_user() -> Any:
    form = request.form
    try:
        created = officers.create_officer(
            db(), login=form.get("login", ""), name=form.get("name", ""), password=form.get("password", ""),
            role=form.get("role", "officer"), area_code=(form.get("area_code") or "").strip() or None,
            agency=form.get("agency") or None, phone=(form.get("phone") or "").strip() or None,
            locale=form.get("locale", "km"), actor=actor())
    except officers.OfficerError as error:
        db().rollback()
        rows = list(db().scalars(select(Officer).order_by(Officer.role, Officer.login)))
        return render_template("portal_ui/users.html", rows=rows, h=helpers, roles=OFFICER_ROLES,
                               agencies=AGENCIES,
                               levels=LEVELS, error=str(error)), 400
    say("ok", "User {login} created.", login=created.login)
    return redirect(url_for("portal_ui.users"))


@bp.post("/users/<int:officer_id>/active")
@login_required("admin")
def toggle_user(officer_id: int) -> Any:
    target = db().get(Officer, officer_id)
    if target is None:
        abort(404)
    me = current_officer()
    if me is not None and target.id == me.id:
        say("error", "You cannot deactivate yourself.")
        return redirect(url_for("portal_ui.users"))
    target.active = request.form.get("active") == "1"
    audit.record(db(), actor=actor(), action="activate_officer" if target.active else "deactivate_officer",
                 subject_type="officer", subject_id=str(target.id))
    db().commit()
    say("ok", "User updated.")
    return redirect(url_for("portal_ui.users"))


@bp.get("/canned")
@login_required("admin")
def canned_replies() -> Any:
    rows = list(db().scalars(select(CannedReply).order_by(CannedReply.key, CannedReply.locale)))
    return render_template("portal_ui/canned.html", rows=rows, agencies=AGENCIES, error=None)


@bp.post("/canned")
@login_required("admin")
def add_canned_reply() -> Any:
    form = request.form
    key, body = (form.get("key") or "").strip(), (form.get("text") or "").strip()
    locale = form.get("locale", "km")
    agency = form.get("agency") or None
    exists = db().scalar(select(CannedReply.id).where(CannedReply.key == key, CannedReply.locale == locale))
    if not key or not body or locale not in ("km", "en") or (agency and agency not in AGENCIES) or exists:
        rows = list(db().scalars(select(CannedReply).order_by(CannedReply.key, CannedReply.locale)))
        return render_template("portal_ui/canned.html", rows=rows, agencies=AGENCIES,
                               error=helpers.text("Give a new key, a language and a text.")), 400
    row = CannedReply(key=key[:64], locale=locale, text=body, agency=agency, active=True)
    db().add(row)
    db().flush()
    audit.record(db(), actor=actor(), action="create_canned_reply", subject_type="canned_reply",
                 subject_id=str(row.id))
    db().commit()
    say("ok", "Ready answer saved.")
    return redirect(url_for("portal_ui.canned_replies"))


@bp.post("/canned/<int:reply_id>/active")
@login_required("admin")
def toggle_canned_reply(reply_id: int) -> Any:
    row = db().get(CannedReply, reply_id)
    if row is None:
        abort(404)
    row.active = request.form.get("active") == "1"
    audit.record(db(), actor=actor(), action="update_canned_reply", subject_type="canned_reply",
                 subject_id=str(row.id), detail={"active": row.active})
    db().commit()
    say("ok", "Ready answer saved.")
    return redirect(url_for("portal_ui.canned_replies"))
