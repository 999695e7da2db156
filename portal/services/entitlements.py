"""My benefits and payments (level 2): enrolments, amounts, payment history, next payment, where to collect.

Everything comes from the registry through `RegistryPort` at the time of asking (nothing is copied
into the portal database). The person's own Active enrolments are listed, plus those of household
members under 18 (a child's scholarship is collected by the parent or guardian).

Next expected payment (documented rule):
1. the earliest payment still `pending` → its due date (basis `pending`), even if the date has
   passed (the payment is late, not cancelled);
2. else, for `monthly` / `yearly` programmes: one period after the last payment's due date (or paid
   date), moved forward by whole periods until it is today or later (basis `schedule`); a `failed`
   or `unclaimed` payment does not change the schedule (the citizen is shown that status and can
   complain);
3. else (`per_visit`, `once`): no date — these are paid after each health visit (basis `per_visit`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Literal

from portal.services.eligibility import age_on, default_catalogue
from registry_client.types import Enrolment, Payment, Person, RegistryPort

RECENT_PAYMENTS = 6
# msgids carry a prefix so they cannot collide with other domains' short words (English may shorten)
STATUS_MSGIDS = {
    "paid": "Payment status: paid",
    "failed": "Payment status: failed",
    "pending": "Payment status: pending",
    "unclaimed": "Payment status: not collected",
}
FREQUENCY_MSGIDS = {
    "monthly": "Frequency: every month",
    "per_visit": "Frequency: per health visit",
    "once": "Frequency: once",
    "yearly": "Frequency: every year",
}
MSG_PER_VISIT = "Paid after each health visit."
MSG_NEXT_PAYMENT = "Next payment: {date}"
MSG_COLLECT_AT = "Collect at: {place}"
ENTITLEMENT_MSGIDS = (
    *STATUS_MSGIDS.values(),
    *FREQUENCY_MSGIDS.values(),
    MSG_PER_VISIT,
    MSG_NEXT_PAYMENT,
    MSG_COLLECT_AT,
)


@dataclass(frozen=True)
class PaymentLine:
    payment_id: str
    amount_riel: int
    status: str
    date: date | None
    """Paid date when paid, else the due date."""
    due_date: date | None
    paid_date: date | None
    component: str | None
    collection_point: str | None


@dataclass(frozen=True)
class NextPayment:
    expected_date: date | None
    amount_riel: int | None
    basis: Literal["pending", "schedule", "per_visit"]


@dataclass(frozen=True)
class Entitlement:
    programme: str
    name: str
    """msgid of the programme's short name (catalogue)."""
    beneficiary_spid: str
    beneficiary_name: str
    for_self: bool
    status: str
    enrolment_date: date | None
    amount_riel: int | None
    frequency: str | None
    collection_point: str | None
    payments: tuple[PaymentLine, ...]
    """Most recent first (at most RECENT_PAYMENTS)."""
    next_payment: NextPayment | None


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_payment(enrolment: Enrolment, payments: list[Payment], today: date) -> NextPayment | None:
    pending = sorted((p for p in payments if p.status == "pending" and p.due_date), key=lambda p: p.due_date)  # type: ignore[arg-type, return-value]
    if pending:
        return NextPayment(pending[0].due_date, pending[0].amount_riel, "pending")
    step = {"monthly": 1, "yearly": 12}.get((enrolment.frequency or "").lower())
    if step is None:
        if (enrolment.frequency or "").lower() in ("per_visit", "once"):
            return NextPayment(None, enrolment.amount_riel, "per_visit")
        return None
    dated = [p.due_date or p.paid_date for p in payments if p.due_date or p.paid_date]
    if not dated:
        return None
    expected = _add_months(max(dated), step)  # type: ignore[type-var]
    while expected < today:
        expected = _add_months(expected, step)
    last_amount = max(payments, key=lambda p: p.due_date or p.paid_date or date.min).amount_riel
    return NextPayment(expected, enrolment.amount_riel or last_amount, "schedule")


def _line(payment: Payment) -> PaymentLine:
    return PaymentLine(
        payment.payment_id,
        payment.amount_riel,
        payment.status,
        payment.paid_date or payment.due_date,
        payment.due_date,
        payment.paid_date,
        payment.component,
        payment.collection_point,
    )


def _minor(person: Person, today: date) -> bool:
    age = age_on(person.birth_date, today)
    return age is not None and age < 18


def entitlements_for(
    registry: RegistryPort, person: Person, today: date, recent: int = RECENT_PAYMENTS
) -> list[Entitlement]:
    """The person's Active enrolments and their dependants' (under 18), with payments."""
    catalogue = default_catalogue()
    names = {p.code: p.name for p in catalogue.programmes}
    household = registry.household_of(person)
    members = [person] + [
        m
        for m in (household.members if household else ())
        if m.spid != person.spid and not m.is_deceased and _minor(m, today)
    ]
    result: list[Entitlement] = []
    for member in members:
        for enrolment in registry.enrolments(member):
            if enrolment.status.lower() != "active":
                continue
            payments = registry.payments(member, enrolment.programme)
            ordered = sorted(payments, key=lambda p: p.paid_date or p.due_date or date.min, reverse=True)
            point = enrolment.collection_point or next(
                (p.collection_point for p in ordered if p.collection_point), None
            )
            result.append(
                Entitlement(
                    programme=enrolment.programme,
                    name=names.get(enrolment.programme, enrolment.programme_name),
                    beneficiary_spid=member.spid,
                    beneficiary_name=member.full_name,
                    for_self=member.spid == person.spid,
                    status=enrolment.status,
                    enrolment_date=enrolment.enrolment_date,
                    amount_riel=enrolment.amount_riel,
                    frequency=enrolment.frequency,
                    collection_point=point,
                    payments=tuple(_line(p) for p in ordered[:recent]),
                    next_payment=next_payment(enrolment, payments, today)
                    if payments or enrolment.frequency
                    else None,
                )
            )
    return result
