"""Grievances (SPEC §6): lodging, the officer actions, the SLA clock, citizen and officer views.

Every public action is one transaction: it changes the grievance, appends its event (actor, type,
time, payload) and enqueues the citizen's message in the outbox, then commits.

THE acknowledgement invariant: `lodge` commits the grievance and its first event before anything
else (acknowledgement SMS, a fast-path send); whatever fails after that, the grievance acknowledged
to the citizen is in the database.

Choices where the spec is silent:
- Escalation (by an officer or by an SLA breach) and reopening restart the SLA clock at the new level:
  first action within 2 working days and resolution within the category's class, counted again.
- A breach at national level cannot escalate: it alerts the admins and restarts the clock, so the
  alert repeats once per SLA period instead of on every run of the job.
- Any officer action (assignment, reply, note, status change, escalation) counts as the first action
  and moves a received / escalated / reopened case to "in review".
- Every state change is sent to the citizen (on the channel they used, SMS for USSD); notes are not.
- Reopening is possible from resolved or closed, within 30 days of the resolution.
- Supervisor alerts go to the active supervisors of the case's province and agency who have a phone;
  when there are none (or at national level) to the active admins with a phone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chumnuoy.i18n import translate
from portal.models.cases import Grievance, GrievanceEvent, GrievancePause, Officer, OutboxMessage
from portal.services import audit
from portal.services import case_messages as msg
from portal.services.grievance_catalogue import (
    AUTO_CLOSE_DAYS,
    FIRST_ACTION_DAYS,
    PROGRAMME_AGENCY,
    REOPEN_WINDOW_DAYS,
    Area,
    agency_for,
    category,
    next_level,
    starting_level,
)
from portal.services.outbox import deliver_one, enqueue
from portal.services.references import leading_reference, new_reference, parse_reference
from portal.services.senders import Sender
from portal.services.working_time import WorkingCalendar, aware_utc, default_calendar
from registry_client.types import RegistryError, RegistryPort

log = logging.getLogger("chumnuoy.grievances")

ACTIVE_STATES = ("received", "in_review", "escalated", "reopened")
FINISHED_STATES = ("resolved", "closed", "rejected")
REPLY_CHANNEL = {"ussd": "sms", "sms": "sms", "telegram": "telegram"}
LODGING_CHANNELS = ("ussd", "sms", "telegram", "api", "portal")
ADD_DETAILS_WINDOW = timedelta(hours=24)
RATING_REMINDER_AFTER = timedelta(days=3)


class GrievanceError(Exception):
    """An action that the grievance's state does not allow; `code` is machine-readable."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


# ---------------------------------------------------------------- helpers

def _utc(now: datetime) -> datetime:
    return aware_utc(now)


def _event(g: Grievance, actor: str, type_: str, now: datetime, **payload: Any) -> GrievanceEvent:
    event = GrievanceEvent(actor=actor, type=type_, at=now, payload=payload)
    g.events.append(event)
    g.updated_at = now
    return event


def _is_officer(actor: str) -> bool:
    return actor.startswith(("officer:", "token:", "api:"))


def _pauses(g: Grievance) -> list[tuple[datetime, datetime | None]]:
    return [(aware_utc(p.started_at), aware_utc(p.ended_at) if p.ended_at else None) for p in g.pauses]


def _open_pause(g: Grievance) -> GrievancePause | None:
    return next((p for p in g.pauses if p.ended_at is None), None)


def _recompute_due(g: Grievance, calendar: WorkingCalendar) -> None:
    """Due dates from the current clock start, skipping pauses (None while the clock is paused)."""
    start, pauses = aware_utc(g.sla_started_at), _pauses(g)
    if g.first_action_at is None:
        g.first_action_due_at = calendar.add_working_days(start, FIRST_ACTION_DAYS, pauses)
    g.resolve_due_at = calendar.add_working_days(start, g.sla_class_days, pauses)


def _restart_clock(g: Grievance, now: datetime, calendar: WorkingCalendar) -> None:
    g.sla_started_at = now
    g.first_action_at = None
    _recompute_due(g, calendar)


def _notify(session: Session, g: Grievance, msgid: str, kind: str, **params: Any) -> OutboxMessage | None:
    """Enqueue a message to the citizen on the channel they used (nothing when there is no address)."""
    if not g.reply_channel or not g.reply_address:
        return None
    text = translate(g.locale, msgid, reference=g.reference, **params)
    return enqueue(session, channel=g.reply_channel, address=g.reply_address, text=text, kind=kind,
                   locale=g.locale, identity_id=g.identity_id, grievance_id=g.id)


def _notify_state(session: Session, g: Grievance) -> None:
    _notify(session, g, msg.STATUS_CHANGED, "status", state=translate(g.locale, msg.STATE_LABELS[g.state]))


def _set_state(session: Session, g: Grievance, state: str, actor: str, now: datetime,
               notify: bool = True, **payload: Any) -> None:
    previous = g.state
    g.state = state
    _event(g, actor, "status_change", now, **{"from": previous, "to": state}, **payload)
    if notify:
        _notify_state(session, g)


def _officer_acted(session: Session, g: Grievance, actor: str, now: datetime) -> None:
    if not _is_officer(actor):
        return
    if g.first_action_at is None:
        g.first_action_at = now
    if g.state in ("received", "escalated", "reopened"):
        _set_state(session, g, "in_review", actor, now)


def _require(g: Grievance, states: Sequence[str], action: str) -> None:
    if g.state not in states:
        raise GrievanceError("invalid_state", f"cannot {action} a grievance in state {g.state}")


# ---------------------------------------------------------------- lodging

def _area_from_registry(registry: RegistryPort | None, person_spid: str | None) -> Area | None:
    if registry is None or not person_spid:
        return None
    try:
        people = registry.find_people("SPID", person_spid)
    except RegistryError:
        log.warning("grievance routing: registry unavailable, routing by the given address only")
        return None
    for person in people:
        address = person.address
        if address.commune_code or address.district_code or address.province_code or address.village_code:
            return Area.from_codes(province_code=address.province_code, district_code=address.district_code,
                                   commune_code=address.commune_code, village_code=address.village_code)
    return None


def _lodged_with_key(session: Session, channel: str, address: str | None, key: str) -> Grievance | None:
    """The grievance whose `lodged` event carries `key` (among the newest of this channel address)."""
    column = Grievance.reply_address
    same_address = column.is_(None) if address is None else column == address
    query = (select(GrievanceEvent).join(Grievance, GrievanceEvent.grievance_id == Grievance.id)
             .where(GrievanceEvent.type == "lodged", Grievance.channel == channel, same_address)
             .order_by(GrievanceEvent.id.desc()).limit(50))
    for event in session.scalars(query):
        if (event.payload or {}).get("dedupe_key") == key:
            return session.get(Grievance, event.grievance_id)
    return None


def lodge(session: Session, *, category_code: str, channel: str, now: datetime, description: str = "",
          address: str | None = None, reply_channel: str | None = None, identity_id: int | None = None,
          person_spid: str | None = None, anonymous: bool = False, programme: str | None = None,
          area: Area | None = None, locale: str = "km", actor: str = "citizen",
          registry: RegistryPort | None = None, calendar: WorkingCalendar | None = None,
          acknowledge: bool | None = None, sender: Sender | None = None,
          dedupe_key: str | None = None) -> Grievance:
    """Store a new grievance and commit it, then (only then) send what follows.

    `dedupe_key` (e.g. `telegram:update:<update_id>`) makes lodging idempotent: it is stored in the
    `lodged` event, and a second call with the same channel, address and key returns the grievance
    stored by the first (a worker that crashed after this commit retries the same inbound message).

    `address` is the citizen's channel address (MSISDN for USSD/SMS, Telegram user id); answers go
    to `reply_channel` (default: SMS for USSD and SMS, Telegram for Telegram). The area comes from
    `area`, else from the registry address of `person_spid`, else the case goes to the national
    triage queue. `acknowledge` (default: for USSD, API and portal lodging, whose channel cannot show
    the reference for long) enqueues an acknowledgement; `sender` tries to send it at once.
    """
    now = _utc(now)
    if dedupe_key is not None and (earlier := _lodged_with_key(session, channel, address, dedupe_key)):
        return earlier
    calendar = calendar or default_calendar()
    cat = category(category_code)
    if channel not in LODGING_CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if programme is not None and programme not in PROGRAMME_AGENCY:
        raise ValueError(f"unknown programme {programme!r}")
    if anonymous and not cat.anonymity_allowed:
        raise ValueError("anonymity is offered for misconduct and fraud reports only")
    reply_channel = reply_channel or REPLY_CHANNEL.get(channel)
    if reply_channel is not None and reply_channel not in ("sms", "telegram"):
        raise ValueError(f"cannot reply on {reply_channel!r}")
    if address is None:
        reply_channel = None
    if anonymous:  # keep only what is needed to send status updates
        identity_id = person_spid = None
    resolved_area = area or _area_from_registry(registry, person_spid) or Area()
    fields: dict[str, Any] = {
        "category": cat.code, "sla_class_days": cat.sla_days, "programme": programme, "state": "received",
        "level": starting_level(resolved_area), "agency": agency_for(cat.code, programme),
        "province_code": resolved_area.province_code, "district_code": resolved_area.district_code,
        "commune_code": resolved_area.commune_code, "village_code": resolved_area.village_code,
        "channel": channel, "reply_channel": reply_channel, "reply_address": address,
        "identity_id": identity_id, "person_spid": person_spid, "anonymous": anonymous,
        "description": (description or "").strip(), "locale": locale if locale in ("km", "en") else "km",
        "created_at": now, "updated_at": now, "sla_started_at": now,
    }
    for _attempt in range(20):
        g = Grievance(reference=new_reference(), **fields)
        _recompute_due(g, calendar)
        _event(g, actor, "lodged", now, category=cat.code, level=g.level, agency=g.agency, channel=channel,
               anonymous=anonymous, **({"dedupe_key": dedupe_key} if dedupe_key else {}))
        session.add(g)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            if session.scalar(select(Grievance.id).where(Grievance.reference == g.reference)) is None:
                raise
            continue  # reference collision: draw another
        break
    else:
        raise RuntimeError("could not draw a free grievance reference")

    # --- the grievance is committed; nothing below may lose it ---
    if acknowledge is None:
        acknowledge = channel in ("ussd", "api", "portal")
    if acknowledge and reply_channel and address:
        try:
            ack = msg.ACKNOWLEDGED_USSD if channel == "ussd" else msg.ACKNOWLEDGED
            message = _notify(session, g, ack, "notice")
            session.commit()
            if sender is not None and message is not None:
                deliver_one(session, message.id, sender, now=now)
        except Exception:
            session.rollback()
            log.exception("grievance %s stored; its acknowledgement could not be queued or sent", g.id)
    return g


def add_details(session: Session, g: Grievance, text: str, now: datetime, actor: str = "citizen",
                calendar: WorkingCalendar | None = None) -> None:
    """The citizen adds to their complaint; a clock paused for them starts again."""
    now = _utc(now)
    text = (text or "").strip()
    if not text:
        raise GrievanceError("empty", "nothing to add")
    g.description = f"{g.description}\n{text}".strip() if g.description else text
    _event(g, actor, "details_added", now, text=text)
    _resume(g, actor, now, calendar)
    session.commit()


def add_details_by_sms(session: Session, msisdn: str, text: str, now: datetime,
                       calendar: WorkingCalendar | None = None) -> Grievance | None:
    """An SMS that starts with the reference of a complaint lodged by USSD from the same MSISDN in
    the last 24 hours adds its text to it; returns that grievance, or None when the SMS is not one
    (the caller then treats it as an ordinary message). A confirmation is enqueued."""
    now = _utc(now)
    reference, rest = leading_reference(text)
    if reference is None or not rest.strip():
        return None
    g = session.scalar(select(Grievance).where(Grievance.reference == reference))
    if g is None or g.channel != "ussd" or g.reply_address != msisdn:
        return None
    if now - aware_utc(g.created_at) > ADD_DETAILS_WINDOW:
        return None
    g.description = f"{g.description}\n{rest.strip()}".strip() if g.description else rest.strip()
    _event(g, "citizen", "details_added", now, text=rest.strip(), via="sms")
    _resume(g, "citizen", now, calendar)
    _notify(session, g, msg.DETAILS_ADDED, "reply")
    session.commit()
    return g


# ---------------------------------------------------------------- officer actions

def assign(session: Session, g: Grievance, officer_id: int | None, actor: str, now: datetime) -> None:
    now = _utc(now)
    _require(g, ACTIVE_STATES, "assign")
    g.assigned_officer_id = officer_id
    _event(g, actor, "assigned", now, officer_id=officer_id)
    _officer_acted(session, g, actor, now)
    session.commit()


def reply(session: Session, g: Grievance, text: str, actor: str, now: datetime, *,
          wait_for_citizen: bool = False, calendar: WorkingCalendar | None = None) -> None:
    """An officer's reply, sent to the citizen; `wait_for_citizen` pauses the SLA clock until they answer."""
    now = _utc(now)
    text = (text or "").strip()
    if not text:
        raise GrievanceError("empty", "empty reply")
    _require(g, ACTIVE_STATES, "reply to")
    _event(g, actor, "reply", now, text=text, wait_for_citizen=wait_for_citizen)
    _notify(session, g, msg.OFFICER_REPLY, "reply", text=text)
    _officer_acted(session, g, actor, now)
    if wait_for_citizen and _open_pause(g) is None:
        g.pauses.append(GrievancePause(started_at=now, reason="waiting_for_citizen"))
        g.waiting_for_citizen = True
        _event(g, actor, "paused", now)
        _recompute_due(g, calendar or default_calendar())
    session.commit()


def note(session: Session, g: Grievance, text: str, actor: str, now: datetime) -> None:
    """An internal note: on the timeline, never sent to the citizen."""
    now = _utc(now)
    _event(g, actor, "note", now, text=(text or "").strip())
    if g.state in ACTIVE_STATES:
        _officer_acted(session, g, actor, now)
    session.commit()


def _resume(g: Grievance, actor: str, now: datetime, calendar: WorkingCalendar | None = None) -> None:
    pause = _open_pause(g)
    if pause is None:
        return
    pause.ended_at = now
    g.waiting_for_citizen = False
    _event(g, actor, "resumed", now)
    _recompute_due(g, calendar or default_calendar())


def pause(session: Session, g: Grievance, actor: str, now: datetime,
          calendar: WorkingCalendar | None = None) -> None:
    now = _utc(now)
    _require(g, ACTIVE_STATES, "pause")
    if _open_pause(g) is None:
        g.pauses.append(GrievancePause(started_at=now, reason="waiting_for_citizen"))
        g.waiting_for_citizen = True
        _event(g, actor, "paused", now)
        _recompute_due(g, calendar or default_calendar())
    session.commit()


def resume(session: Session, g: Grievance, actor: str, now: datetime,
           calendar: WorkingCalendar | None = None) -> None:
    _resume(g, actor, _utc(now), calendar)
    session.commit()


def _alert_recipients(session: Session, g: Grievance) -> list[Officer]:
    if g.level != "national" and g.province_code:
        supervisors = session.scalars(select(Officer).where(
            Officer.active.is_(True), Officer.role == "supervisor", Officer.area_code == g.province_code,
            or_(Officer.agency == g.agency, Officer.agency.is_(None)), Officer.phone.is_not(None))).all()
        if supervisors:
            return list(supervisors)
    return list(session.scalars(select(Officer).where(
        Officer.active.is_(True), Officer.role == "admin", Officer.phone.is_not(None))).all())


def _alert(session: Session, g: Grievance, msgid: str, now: datetime, **params: Any) -> list[int]:
    alerted = []
    for officer in _alert_recipients(session, g):
        text = translate(officer.locale, msgid, reference=g.reference, **params)
        enqueue(session, channel="sms", address=officer.phone or "", text=text, kind="alert",
                locale=officer.locale, grievance_id=g.id, now=now)
        alerted.append(officer.id)
    return alerted


def escalate(session: Session, g: Grievance, actor: str, now: datetime, *, reason: str = "",
             calendar: WorkingCalendar | None = None, commit: bool = True) -> str | None:
    """Move the case one level up and restart its clock; returns the new level (None at national)."""
    now = _utc(now)
    _require(g, ACTIVE_STATES, "escalate")
    target = next_level(g.level)
    if target is None:
        raise GrievanceError("top_level", "already at national level")
    previous = g.level
    g.level, g.escalated_at, g.assigned_officer_id = target, now, None
    _event(g, actor, "escalated", now, **{"from": previous, "to": target}, reason=reason)
    if _is_officer(actor) and g.first_action_at is None:
        g.first_action_at = now
    previous_state, g.state = g.state, "escalated"
    _event(g, actor, "status_change", now, **{"from": previous_state, "to": "escalated"})
    _notify(session, g, msg.ESCALATED, "status", level=translate(g.locale, msg.LEVEL_LABELS[target]))
    _restart_clock(g, now, calendar or default_calendar())
    if commit:
        session.commit()
    return target


def resolve(session: Session, g: Grievance, *, resolution_code: str, text: str, actor: str,
            now: datetime) -> None:
    now = _utc(now)
    _require(g, ACTIVE_STATES, "resolve")
    pause_ = _open_pause(g)
    if pause_ is not None:
        pause_.ended_at = now
        g.waiting_for_citizen = False
    if g.first_action_at is None:
        g.first_action_at = now
    g.resolution_code, g.resolution_text, g.resolved_at = resolution_code, (text or "").strip(), now
    _event(g, actor, "resolved", now, resolution_code=resolution_code, text=g.resolution_text)
    _set_state(session, g, "resolved", actor, now, notify=False)
    _notify(session, g, msg.RESOLVED, "status", text=g.resolution_text)
    _notify(session, g, msg.RATE_PROMPT, "status")
    session.commit()


def reject(session: Session, g: Grievance, *, reason: str, actor: str, now: datetime) -> None:
    now = _utc(now)
    reason = (reason or "").strip()
    if not reason:
        raise GrievanceError("reason_required", "a rejection needs a reason")
    _require(g, ACTIVE_STATES, "reject")
    g.rejection_reason = reason
    if g.first_action_at is None:
        g.first_action_at = now
    _set_state(session, g, "rejected", actor, now, notify=False, reason=reason)
    _notify(session, g, msg.REJECTED, "status", reason=reason)
    session.commit()


def reopen(session: Session, g: Grievance, *, actor: str, now: datetime, reason: str = "",
           calendar: WorkingCalendar | None = None) -> None:
    """The citizen disagrees with the resolution: possible within 30 days of it."""
    now = _utc(now)
    _require(g, ("resolved", "closed"), "reopen")
    if g.resolved_at is None or now - aware_utc(g.resolved_at) > timedelta(days=REOPEN_WINDOW_DAYS):
        raise GrievanceError("reopen_window_closed", "the 30 days to reopen have passed")
    g.reopen_count += 1
    g.closed_at = None
    g.rating = g.rated_at = None
    _set_state(session, g, "reopened", actor, now, notify=False, reason=reason)
    _notify(session, g, msg.REOPENED, "status")
    _restart_clock(g, now, calendar or default_calendar())
    session.commit()


def close(session: Session, g: Grievance, *, actor: str, now: datetime) -> None:
    now = _utc(now)
    _require(g, ("resolved",), "close")
    g.closed_at = now
    _set_state(session, g, "closed", actor, now, notify=False)
    _notify(session, g, msg.CLOSED, "status")
    session.commit()


def rate(session: Session, g: Grievance, rating: int, now: datetime, actor: str = "citizen") -> None:
    now = _utc(now)
    if rating not in (1, 2, 3):
        raise GrievanceError("invalid_rating", "rating is 1, 2 or 3")
    _require(g, ("resolved", "closed"), "rate")
    g.rating, g.rated_at = rating, now
    _event(g, actor, "rated", now, rating=rating)
    session.commit()


# ---------------------------------------------------------------- SLA, auto-close, reminders

SlaState = Literal["on_time", "due_soon", "breached", "paused", "done"]


def sla_state(g: Grievance, now: datetime, calendar: WorkingCalendar | None = None) -> SlaState:
    """For queues: done (finished), paused (waiting for the citizen), breached, due_soon (less than
    one working day left), on_time."""
    now = _utc(now)
    if g.state in FINISHED_STATES:
        return "done"
    if g.waiting_for_citizen:
        return "paused"
    calendar = calendar or default_calendar()
    dues = [d for d in (g.resolve_due_at, g.first_action_due_at if g.first_action_at is None else None) if d]
    if any(aware_utc(d) <= now for d in dues):
        return "breached"
    if any(calendar.elapsed(now, aware_utc(d)) < timedelta(days=1) for d in dues):
        return "due_soon"
    return "on_time"


def _breach(g: Grievance, now: datetime) -> str | None:
    if g.waiting_for_citizen:
        return None
    if g.first_action_at is None and g.first_action_due_at and aware_utc(g.first_action_due_at) <= now:
        return "first_action"
    if g.resolve_due_at and aware_utc(g.resolve_due_at) <= now:
        return "resolve"
    return None


def enforce_sla(session: Session, now: datetime, calendar: WorkingCalendar | None = None,
                batch: int = 100) -> int:
    """Escalate every case whose SLA is breached by one level (at national: alert the admins), write the
    breach event and alert the supervisor through the outbox. Returns the number handled."""
    now = _utc(now)
    calendar = calendar or default_calendar()
    query = (select(Grievance).where(
        Grievance.state.in_(ACTIVE_STATES), Grievance.waiting_for_citizen.is_(False),
        or_(Grievance.resolve_due_at <= now,
            Grievance.first_action_at.is_(None) & (Grievance.first_action_due_at <= now)))
        .order_by(Grievance.id).limit(batch))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    handled = 0
    for g in session.scalars(query).all():
        which = _breach(g, now)
        if which is None:
            continue
        # claim: only one worker acts on this clock (escalation restarts it)
        claimed = session.execute(
            update(Grievance).where(Grievance.id == g.id, Grievance.sla_started_at == g.sla_started_at)
            .values(updated_at=now).execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            continue
        due = g.first_action_due_at if which == "first_action" else g.resolve_due_at
        _event(g, "system", "sla_breach", now, which=which, level=g.level,
               due=aware_utc(due).isoformat() if due else None)
        target = next_level(g.level)
        if target is None:
            alerted = _alert(session, g, msg.ADMIN_BREACH, now)
            _event(g, "system", "alert", now, to="admins", officers=alerted)
            _restart_clock(g, now, calendar)
        else:
            escalate(session, g, "system", now, reason=f"sla_{which}", calendar=calendar, commit=False)
            level_label = {o: translate(o, msg.LEVEL_LABELS[target]) for o in ("km", "en")}
            alerted = []
            for officer in _alert_recipients(session, g):
                text = translate(officer.locale, msg.SUPERVISOR_BREACH, reference=g.reference,
                                 level=level_label.get(officer.locale, level_label["km"]))
                enqueue(session, channel="sms", address=officer.phone or "", text=text, kind="alert",
                        locale=officer.locale, grievance_id=g.id, now=now)
                alerted.append(officer.id)
            _event(g, "system", "alert", now, to="supervisors", officers=alerted)
        handled += 1
    session.commit()
    return handled


def auto_close(session: Session, now: datetime, batch: int = 200) -> int:
    """Close resolved cases 14 days after their resolution."""
    now = _utc(now)
    due = session.scalars(select(Grievance).where(
        Grievance.state == "resolved", Grievance.resolved_at <= now - timedelta(days=AUTO_CLOSE_DAYS))
        .order_by(Grievance.id).limit(batch)).all()
    for g in due:
        g.closed_at = now
        _set_state(session, g, "closed", "system", now, notify=False, reason="auto_close")
        _notify(session, g, msg.CLOSED, "status")
    session.commit()
    return len(due)


def remind_rating(session: Session, now: datetime, batch: int = 200) -> int:
    """Once, 3 days after resolution, ask an unrated citizen to rate (a `reminder`, so an opted-out
    citizen is not disturbed)."""
    now = _utc(now)
    due = session.scalars(select(Grievance).where(
        Grievance.state == "resolved", Grievance.rating.is_(None), Grievance.rating_reminded_at.is_(None),
        Grievance.reply_address.is_not(None), Grievance.resolved_at <= now - RATING_REMINDER_AFTER)
        .order_by(Grievance.id).limit(batch)).all()
    for g in due:
        g.rating_reminded_at = now
        text = translate(g.locale, msg.RATE_PROMPT, reference=g.reference)
        enqueue(session, channel=g.reply_channel or "sms", address=g.reply_address or "", text=text,
                kind="reminder", locale=g.locale, identity_id=g.identity_id, grievance_id=g.id, now=now)
    session.commit()
    return len(due)


def remind_officers(session: Session, now: datetime, calendar: WorkingCalendar | None = None,
                    batch: int = 200) -> int:
    """Tell the assigned officer (by SMS) once per SLA clock when less than one working day is left."""
    now = _utc(now)
    calendar = calendar or default_calendar()
    query = (select(Grievance, Officer).join(Officer, Grievance.assigned_officer_id == Officer.id)
             .where(Grievance.state.in_(ACTIVE_STATES), Grievance.waiting_for_citizen.is_(False),
                    Grievance.resolve_due_at > now, Officer.phone.is_not(None), Officer.active.is_(True),
                    or_(Grievance.due_reminded_at.is_(None),
                        Grievance.due_reminded_at < Grievance.sla_started_at))
             .order_by(Grievance.resolve_due_at).limit(batch))
    rows = session.execute(query).all()
    sent = 0
    for g, officer in rows:
        due = aware_utc(g.resolve_due_at)
        if calendar.elapsed(now, due) >= timedelta(days=1):
            continue
        g.due_reminded_at = now
        local_day = due.astimezone(calendar.tz).date()
        text = translate(officer.locale, msg.OFFICER_DUE_SOON, reference=g.reference, date=local_day)
        enqueue(session, channel="sms", address=officer.phone or "", text=text, kind="reminder",
                locale=officer.locale, grievance_id=g.id, now=now)
        sent += 1
    session.commit()
    return sent


# ---------------------------------------------------------------- views

def get_by_reference(session: Session, reference: str) -> Grievance | None:
    parsed = parse_reference(reference)
    return None if parsed is None else session.scalar(select(Grievance).where(Grievance.reference == parsed))


def status_view(g: Grievance, locale: str = "km") -> dict[str, Any]:
    """Level 0: status and level only — no officer text, no category, no dates."""
    return {
        "reference": g.reference,
        "state": g.state,
        "level": g.level,
        "text": translate(locale, msg.STATUS_LEVEL0, reference=g.reference,
                          state=translate(locale, msg.STATE_LABELS[g.state]),
                          level=translate(locale, msg.LEVEL_LABELS[g.level])),
    }


def _same_phone_family(channel_a: str | None, channel_b: str | None) -> bool:
    phone = {"sms", "ussd"}
    return channel_a == channel_b or (channel_a in phone and channel_b in phone)


def may_see_details(g: Grievance, *, channel: str | None = None, address: str | None = None,
                    verified_spid: str | None = None) -> bool:
    """The address that lodged it, or the verified (level 2) complainant."""
    if address and g.reply_address and address == g.reply_address and _same_phone_family(
            channel, g.reply_channel):
        return True
    return bool(verified_spid and g.person_spid and verified_spid == g.person_spid)


def last_officer_reply(g: Grievance) -> str | None:
    for event in reversed(g.events):
        if event.type == "reply":
            return str(event.payload.get("text") or "") or None
        if event.type == "resolved" and event.payload.get("text"):
            return str(event.payload["text"])
        if event.type == "status_change" and event.payload.get("to") == "rejected":
            return str(event.payload.get("reason") or "") or None
    return None


def citizen_view(g: Grievance, locale: str = "km") -> dict[str, Any]:
    """The full view for the complainant: status, level, category, their text, the last answer."""
    view = status_view(g, locale)
    view.update({
        "category": g.category,
        "description": g.description,
        "last_reply": last_officer_reply(g),
        "resolve_due_at": aware_utc(g.resolve_due_at).isoformat() if g.resolve_due_at else None,
        "created_at": aware_utc(g.created_at).isoformat(),
        "rating": g.rating,
    })
    return view


@dataclass(frozen=True)
class Lookup:
    outcome: Literal["invalid", "not_found", "found"]
    grievance: Grievance | None = None
    view: dict[str, Any] | None = None
    full: bool = False


def lookup_status(session: Session, typed: str, *, channel: str | None = None, address: str | None = None,
                  verified_spid: str | None = None, locale: str = "km") -> Lookup:
    """Complaint status by a typed reference: `invalid` when the check digit says it is mistyped (never
    another case), level-0 view for anyone, full view for the lodging address or verified complainant."""
    reference = parse_reference(typed)
    if reference is None:
        return Lookup("invalid")
    g = session.scalar(select(Grievance).where(Grievance.reference == reference))
    if g is None:
        return Lookup("not_found")
    if may_see_details(g, channel=channel, address=address, verified_spid=verified_spid):
        return Lookup("found", g, citizen_view(g, locale), full=True)
    return Lookup("found", g, status_view(g, locale), full=False)


def my_complaints(session: Session, person_spid: str) -> list[Grievance]:
    return list(session.scalars(select(Grievance).where(Grievance.person_spid == person_spid)
                                .order_by(Grievance.created_at.desc())))


def officer_view(session: Session, g: Grievance, actor: str, now: datetime | None = None) -> dict[str, Any]:
    """Everything an officer works with; audited. Anonymous cases never show the address or identity."""
    view: dict[str, Any] = {
        "reference": g.reference, "category": g.category, "programme": g.programme, "state": g.state,
        "level": g.level, "agency": g.agency, "province_code": g.province_code,
        "district_code": g.district_code, "commune_code": g.commune_code, "village_code": g.village_code,
        "channel": g.channel, "reply_channel": g.reply_channel, "anonymous": g.anonymous,
        "description": g.description, "assigned_officer_id": g.assigned_officer_id,
        "first_action_due_at": g.first_action_due_at, "resolve_due_at": g.resolve_due_at,
        "waiting_for_citizen": g.waiting_for_citizen, "rating": g.rating,
        "events": [{"actor": e.actor, "type": e.type, "at": e.at, "payload": e.payload} for e in g.events],
    }
    if not g.anonymous:
        view.update(reply_address=g.reply_address, person_spid=g.person_spid, identity_id=g.identity_id)
    audit.record(session, actor=actor, action="view_grievance", subject_type="grievance",
                 subject_id=g.reference, detail={"anonymous": g.anonymous}, now=now)
    session.commit()
    return view
