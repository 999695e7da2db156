"""Change-request review (old and new values side by side, evidence; approve applies the change to the
registry) and handoff conversations (transcript, reply through the outbox, close)."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for

from portal.services import change_requests, conversations, officer_queue
from portal.services.change_requests import ChangeRequestError
from portal.ui import bp, helpers
from portal.ui.auth import actor, current_officer, db, login_required
from portal.ui.helpers import say
from registry_client.types import RegistryError


@bp.get("/changes")
@login_required()
def changes() -> Any:
    officer = current_officer()
    assert officer is not None
    status = request.args.get("status", "pending")
    status = status if status in ("pending", "approved", "rejected") else "pending"
    rows = officer_queue.change_requests(db(), officer, status)
    return render_template("portal_ui/changes.html", rows=rows, status=status, h=helpers)


def _values(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [(str(k), "" if v is None else str(v)) for k, v in value.items()]
    return [("", "—" if value is None else str(value))]


@bp.get("/changes/<int:request_id>")
@login_required()
def change(request_id: int) -> Any:
    officer = current_officer()
    assert officer is not None
    item = officer_queue.scoped_change_request(db(), officer, request_id)
    if item is None:
        abort(404)
    old, new = _values(item.old_value), _values(item.new_value)
    keys = list(dict.fromkeys([k for k, _ in old] + [k for k, _ in new]))
    side_by_side = [(k, dict(old).get(k, "—"), dict(new).get(k, "—")) for k in keys]
    from portal.services import audit

    audit.record(db(), actor=actor(), action="view_change_request", subject_type="change_request",
                 subject_id=str(item.id))
    db().commit()
    return render_template("portal_ui/change.html", item=item, rows=side_by_side, h=helpers)


@bp.post("/changes/<int:request_id>/<action>")
@login_required()
def change_action(request_id: int, action: str) -> Any:
    officer = current_officer()
    assert officer is not None
    session_ = db()
    item = officer_queue.scoped_change_request(session_, officer, request_id)
    if item is None:
        abort(404)
    try:
        if action == "approve":
            change_requests.approve(session_, item, helpers.registry(), actor=actor(), now=helpers.now())
            say("ok", "Change approved and applied to the registry.")
        elif action == "reject":
            change_requests.reject(session_, item, reason=request.form.get("reason", ""), actor=actor(),
                                   now=helpers.now())
            say("ok", "Change request rejected.")
        else:
            abort(404)
    except ChangeRequestError as error:
        session_.rollback()
        if error.code == "registry_refused":
            say("error", "The registry refused the change: {code}", code=str(error))
        elif error.code == "reason_required":
            say("error", "Give a reason.")
        else:
            say("error", "This action is not possible now.")
    except RegistryError:
        session_.rollback()
        say("error", "The registry cannot be reached. Try again later.")
    return redirect(url_for("portal_ui.change", request_id=request_id))


@bp.get("/conversations")
@login_required()
def conversation_list() -> Any:
    officer = current_officer()
    assert officer is not None
    status = "closed" if request.args.get("status") == "closed" else "open"
    rows = officer_queue.conversations(db(), officer, status)
    return render_template("portal_ui/conversations.html", rows=rows, status=status, h=helpers)


@bp.get("/conversations/<int:conversation_id>")
@login_required()
def conversation(conversation_id: int) -> Any:
    officer = current_officer()
    assert officer is not None
    item = officer_queue.scoped_conversation(db(), officer, conversation_id)
    if item is None:
        abort(404)
    messages = conversations.transcript(db(), item, actor())  # audited
    return render_template("portal_ui/conversation.html", item=item, messages=messages, h=helpers)


@bp.post("/conversations/<int:conversation_id>/<action>")
@login_required()
def conversation_action(conversation_id: int, action: str) -> Any:
    officer = current_officer()
    assert officer is not None
    session_ = db()
    item = officer_queue.scoped_conversation(session_, officer, conversation_id)
    if item is None:
        abort(404)
    if item.status != "open":
        say("error", "This action is not possible now.")
        return redirect(url_for("portal_ui.conversation", conversation_id=conversation_id))
    try:
        if action == "reply":
            conversations.officer_reply(session_, item, request.form.get("text", ""), actor(), helpers.now())
            say("ok", "Reply queued for the citizen.")
        elif action == "close":
            conversations.close(session_, item, actor(), helpers.now())
            say("ok", "Conversation closed.")
        else:
            abort(404)
    except ValueError:
        session_.rollback()
        say("error", "Write a text first.")
    return redirect(url_for("portal_ui.conversation", conversation_id=conversation_id))
