"""What an officer may see (SPEC §11 scoping) and the portal's read-side queries: the case queue with its
filters, scoped change requests and handoff conversations, dashboard figures and the CSV export.

Scoping is a SQL condition added to every query (never a filter applied after loading):
- `officer`: cases of their own agency, inside their area (commune or district code prefix), at a level
  no higher than their own (a district officer sees commune and district cases of the district; once a
  case is escalated to the province it leaves their queue);
- `supervisor`: own agency, own province, every level up to province;
- `national_officer`: own agency, the whole country, every level;
- `admin`: everything.
Change requests and conversations carry no agency: they are scoped by area only (province / commune).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import Session

from portal.models.cases import LEVELS, ChangeRequest, Conversation, Grievance, Officer
from portal.services.grievances import FINISHED_STATES, sla_state
from portal.services.working_time import WorkingCalendar, aware_utc, default_calendar

SLA_STATES = ("breached", "due_soon", "on_time", "paused", "done")


def _ceiling(officer: Officer) -> list[str]:
    """The levels up to and including the officer's own."""
    level = officer.level if officer.level in LEVELS else "commune"
    return list(LEVELS[: LEVELS.index(level) + 1])


def grievance_scope(officer: Officer) -> ColumnElement[bool]:
    """The SQL condition selecting the grievances `officer` may see."""
    if not officer.active:
        return false()
    if officer.role == "admin":
        return true()
    conditions: list[ColumnElement[bool]] = [Grievance.agency == (officer.agency or "")]
    if officer.role == "national_officer":
        return and_(*conditions)
    area = officer.area_code or ""
    if officer.role == "supervisor":
        conditions += [Grievance.province_code == area[:2], Grievance.level.in_(_ceiling(officer))]
        return and_(*conditions)
    # officer
    if len(area) == 6:
        conditions.append(Grievance.commune_code == area)
    elif len(area) == 4:
        conditions.append(Grievance.district_code == area)
    elif len(area) == 2:
        conditions.append(Grievance.province_code == area)
    else:
        return false()
    conditions.append(Grievance.level.in_(_ceiling(officer)))
    return and_(*conditions)


def area_scope(officer: Officer, province_column: Any,
               commune_column: Any | None = None) -> ColumnElement[bool]:
    """Scope by area only (change requests, conversations)."""
    if not officer.active:
        return false()
    if officer.role in ("admin", "national_officer"):
        return true()
    area = officer.area_code or ""
    if not area:
        return false()
    if len(area) > 2 and commune_column is not None:
        return or_(commune_column.startswith(area), and_(commune_column.is_(None),
                                                          province_column == area[:2]))
    return province_column == area[:2]


@dataclass(frozen=True)
class QueueFilters:
    status: str | None = None
    level: str | None = None
    category: str | None = None
    programme: str | None = None
    channel: str | None = None
    sla: str | None = None
    area: str | None = None
    """A gazetteer code prefix (province 2, district 4, commune 6 digits)."""

    @classmethod
    def from_args(cls, args: Any) -> QueueFilters:
        def value(name: str) -> str | None:
            text = (args.get(name) or "").strip()
            return text or None

        return cls(status=value("status"), level=value("level"), category=value("category"),
                   programme=value("programme"), channel=value("channel"), sla=value("sla"),
                   area=value("area"))


@dataclass(frozen=True)
class QueueRow:
    grievance: Grievance
    sla: str


def queue(session: Session, officer: Officer, filters: QueueFilters, now: datetime,
          calendar: WorkingCalendar | None = None, limit: int = 200) -> list[QueueRow]:
    """The officer's cases, filtered, sorted by due date (soonest first; no due date last)."""
    query = select(Grievance).where(grievance_scope(officer))
    if filters.status == "active":
        query = query.where(Grievance.state.in_(("received", "in_review", "escalated", "reopened")))
    elif filters.status:
        query = query.where(Grievance.state == filters.status)
    for column, wanted in ((Grievance.level, filters.level), (Grievance.category, filters.category),
                           (Grievance.programme, filters.programme), (Grievance.channel, filters.channel)):
        if wanted:
            query = query.where(column == wanted)
    if filters.area and filters.area.isdigit():
        column = {2: Grievance.province_code, 4: Grievance.district_code, 6: Grievance.commune_code,
                  8: Grievance.village_code}.get(len(filters.area))
        if column is not None:
            query = query.where(column == filters.area)
    calendar = calendar or default_calendar()
    if filters.sla in SLA_STATES:
        query = query.where(sla_condition(filters.sla, now, calendar))
    query = query.order_by(Grievance.resolve_due_at.is_(None), Grievance.resolve_due_at, Grievance.id)
    return [QueueRow(g, sla_state(g, now, calendar)) for g in session.scalars(query.limit(limit))]


def sla_condition(state: str, now: datetime, calendar: WorkingCalendar) -> ColumnElement[bool]:
    """The SQL form of `grievances.sla_state(g, now) == state`, so the filter applies before the limit.

    "Due soon" means less than one working day left: the moment one working day from now is computed
    once from the calendar, then compared with the due dates in SQL."""
    now = aware_utc(now)
    finished = Grievance.state.in_(FINISHED_STATES)
    running = and_(~finished, Grievance.waiting_for_citizen.is_(False))

    def due_by(moment: datetime) -> ColumnElement[bool]:
        return or_(
            and_(Grievance.resolve_due_at.is_not(None), Grievance.resolve_due_at <= moment),
            and_(Grievance.first_action_at.is_(None), Grievance.first_action_due_at.is_not(None),
                 Grievance.first_action_due_at <= moment),
        )

    one_day_on = calendar.add(now, timedelta(days=1)) or now
    return {
        "done": finished,
        "paused": and_(~finished, Grievance.waiting_for_citizen.is_(True)),
        "breached": and_(running, due_by(now)),
        "due_soon": and_(running, ~due_by(now), due_by(one_day_on)),
        "on_time": and_(running, ~due_by(one_day_on)),
    }[state]


def scoped_grievance(session: Session, officer: Officer, reference: str) -> Grievance | None:
    """The case with this reference when it is in the officer's scope, else None."""
    return session.scalar(select(Grievance).where(Grievance.reference == reference,
                                                  grievance_scope(officer)))


def change_requests(session: Session, officer: Officer, status: str | None = "pending",
                    limit: int = 200) -> list[ChangeRequest]:
    query = select(ChangeRequest).where(area_scope(officer, ChangeRequest.province_code,
                                                   ChangeRequest.commune_code))
    if status:
        query = query.where(ChangeRequest.status == status)
    return list(session.scalars(query.order_by(ChangeRequest.created_at, ChangeRequest.id).limit(limit)))


def scoped_change_request(session: Session, officer: Officer, request_id: int) -> ChangeRequest | None:
    return session.scalar(select(ChangeRequest).where(
        ChangeRequest.id == request_id,
        area_scope(officer, ChangeRequest.province_code, ChangeRequest.commune_code)))


def conversations(session: Session, officer: Officer, status: str = "open",
                  limit: int = 200) -> list[Conversation]:
    query = (select(Conversation).where(area_scope(officer, Conversation.province_code),
                                        Conversation.status == status)
             .order_by(Conversation.updated_at.desc()).limit(limit))
    return list(session.scalars(query))


def scoped_conversation(session: Session, officer: Officer, conversation_id: int) -> Conversation | None:
    return session.scalar(select(Conversation).where(Conversation.id == conversation_id,
                                                     area_scope(officer, Conversation.province_code)))


def colleagues(session: Session, officer: Officer) -> list[Officer]:
    """Active officers a case in this officer's scope may be assigned to (same agency; admins: all)."""
    query = select(Officer).where(Officer.active.is_(True)).order_by(Officer.name)
    if officer.role != "admin":
        query = query.where(Officer.agency == officer.agency)
        if officer.role in ("officer", "supervisor") and officer.area_code:
            query = query.where(or_(Officer.area_code.startswith(officer.area_code[:2]),
                                    Officer.area_code.is_(None)))
    return list(session.scalars(query))


# ---------------------------------------------------------------- dashboard

@dataclass(frozen=True)
class Dashboard:
    total: int
    by_category: list[tuple[str, int]]
    by_province: list[tuple[str, int]]
    by_channel: list[tuple[str, int]]
    by_week: list[tuple[str, int]]
    """ISO week (Monday date) → cases lodged."""
    by_week_channel: dict[str, dict[str, int]]
    sla: dict[str, int]
    finished: int
    finished_on_time: int
    median_days_to_resolve: float | None
    mean_days_to_resolve: float | None


def _resolved_on_time(g: Grievance) -> bool:
    if g.resolved_at is None or g.resolve_due_at is None:
        return False
    return aware_utc(g.resolved_at) <= aware_utc(g.resolve_due_at)


def dashboard(session: Session, officer: Officer, now: datetime, weeks: int = 12,
              calendar: WorkingCalendar | None = None) -> Dashboard:
    """Figures over the officer's scope: volumes by category, province and channel (per week for the last
    `weeks` weeks), SLA states of open cases, share resolved within the SLA, days to resolve."""
    calendar = calendar or default_calendar()
    now = aware_utc(now)
    cases = list(session.scalars(select(Grievance).where(grievance_scope(officer))))
    since = (now - timedelta(weeks=weeks)).date()
    since -= timedelta(days=since.weekday())
    weekly: Counter[str] = Counter()
    weekly_channel: dict[str, Counter[str]] = {}
    days: list[float] = []
    sla: Counter[str] = Counter()
    finished = on_time = 0
    for g in cases:
        created = aware_utc(g.created_at).date()
        if created >= since:
            week = (created - timedelta(days=created.weekday())).isoformat()
            weekly[week] += 1
            weekly_channel.setdefault(week, Counter())[g.channel] += 1
        state = sla_state(g, now, calendar)
        if state != "done":
            sla[state] += 1
        if g.resolved_at is not None:
            finished += 1
            on_time += _resolved_on_time(g)
            days.append((aware_utc(g.resolved_at) - aware_utc(g.created_at)).total_seconds() / 86400)
    week_keys = []
    cursor = since
    while cursor <= now.date():
        week_keys.append(cursor.isoformat())
        cursor += timedelta(days=7)
    days.sort()
    median = days[len(days) // 2] if len(days) % 2 else (
        (days[len(days) // 2 - 1] + days[len(days) // 2]) / 2 if days else None)
    return Dashboard(
        total=len(cases),
        by_category=Counter(g.category for g in cases).most_common(),
        by_province=Counter(g.province_code or "--" for g in cases).most_common(),
        by_channel=Counter(g.channel for g in cases).most_common(),
        by_week=[(week, weekly.get(week, 0)) for week in week_keys],
        by_week_channel={week: dict(weekly_channel.get(week, {})) for week in week_keys},
        sla={state: sla.get(state, 0) for state in ("on_time", "due_soon", "breached", "paused")},
        finished=finished, finished_on_time=on_time,
        median_days_to_resolve=round(median, 1) if median is not None else None,
        mean_days_to_resolve=round(sum(days) / len(days), 1) if days else None,
    )


CSV_COLUMNS = ("reference", "category", "programme", "agency", "state", "level", "province_code",
               "district_code", "commune_code", "channel", "created_at", "resolve_due_at", "resolved_at",
               "resolution_code", "sla_state", "rating")


def export_rows(session: Session, officer: Officer, filters: QueueFilters, now: datetime,
                limit: int = 50_000) -> list[list[str]]:
    """The officer's cases as CSV rows (no personal data: no address, no SPID, no description)."""
    rows: list[list[str]] = []
    for item in queue(session, officer, filters, now, limit=limit):
        g = item.grievance
        values: dict[str, Any] = {column: getattr(g, column, None) for column in CSV_COLUMNS}
        values["sla_state"] = item.sla
        rows.append(["" if v is None else (aware_utc(v).isoformat() if isinstance(v, datetime) else str(v))
                     for v in (values[c] for c in CSV_COLUMNS)])
    return rows
