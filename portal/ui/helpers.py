"""Small helpers shared by the portal views: the clock, the registry, labels and date formatting."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, flash

from chumnuoy.digits import to_khmer_digits
from chumnuoy.i18n import format_date
from portal.models.base import utcnow
from portal.services.working_time import PHNOM_PENH, aware_utc
from portal.ui.security import current_locale, text
from registry_client.types import RegistryPort


def now() -> datetime:
    """The portal's clock (tests may set `app.config["CHUMNUOY_CLOCK"]` to a callable)."""
    clock = current_app.config.get("CHUMNUOY_CLOCK")
    return aware_utc(clock()) if clock else utcnow()


def registry() -> RegistryPort:
    """The app's registry client (the same one the channel webhooks use: bot/web.py)."""
    from bot.web import registry_factory

    return registry_factory()()


def when(value: datetime | None) -> str:
    """A date and time in Phnom Penh, in the officer's language (Khmer digits in Khmer)."""
    if value is None:
        return "—"
    local = aware_utc(value).astimezone(PHNOM_PENH)
    locale = current_locale()
    clock = local.strftime("%H:%M")
    return f"{format_date(local.date(), locale)} {to_khmer_digits(clock) if locale == 'km' else clock}"


def number(value: Any) -> str:
    textual = str(value)
    return to_khmer_digits(textual) if current_locale() == "km" else textual


def say(kind: str, msgid: str, **params: object) -> None:
    """A flash message (`ok` or `error`), translated now."""
    flash(text(msgid, **params), kind)


STATE_LABELS = {"received": "Received", "in_review": "In review", "escalated": "Escalated",
                "resolved": "Resolved", "closed": "Closed", "rejected": "Rejected", "reopened": "Reopened"}
LEVEL_LABELS = {"commune": "Commune/Sangkat", "district": "District/Khan", "province": "Province/Capital",
                "national": "National"}
SLA_LABELS = {"breached": "Overdue", "due_soon": "Due soon", "on_time": "On time",
              "paused": "Waiting for citizen",
              "done": "Finished"}
CHANNEL_LABELS = {"ussd": "USSD", "sms": "SMS", "telegram": "Telegram", "api": "API", "portal": "Portal"}
CATEGORY_LABELS = {
    "non_payment": "Payment not received", "wrong_amount": "Wrong amount",
    "unclaimed": "Missed collection window", "exclusion": "Left out, no Equity Card",
    "card_account": "Card or account problem", "data_error": "Wrong personal data",
    "service_quality": "Poor service", "misconduct": "Staff misconduct or bribe", "fraud": "Fraud report",
    "other": "Other",
}
PROGRAMME_LABELS = {
    "idpoor": "IDPoor", "pregnant_child_cash": "Cash for pregnant women and young children",
    "family_package": "Family Package", "elderly": "Older persons allowance", "hiv": "People living with HIV",
    "disability": "Disability allowance", "scholarship": "Scholarship",
    "health_equity_fund": "Health Equity Fund",
    "nssf": "NSSF",
}
ROLE_LABELS = {"officer": "Officer", "supervisor": "Supervisor", "national_officer": "National officer",
               "admin": "Administrator"}
EVENT_LABELS = {
    "lodged": "Complaint lodged", "details_added": "Citizen added details", "assigned": "Assigned",
    "reply": "Reply to citizen", "note": "Internal note", "paused": "Clock paused (waiting for citizen)",
    "resumed": "Clock restarted", "status_change": "Status changed", "escalated": "Escalated",
    "resolved": "Resolved", "sla_breach": "Deadline missed", "alert": "Supervisors alerted",
    "rated": "Citizen rated the answer", "evidence": "Citizen sent a photo",
    "evidence_removed": "Photo removed", "contact_removed": "Contact address removed",
    "personal_data_erased": "Personal data erased at the citizen's request",
}
RESOLUTION_CODES = {
    "paid": "Payment made or rescheduled", "corrected": "Data corrected", "explained": "Explained to citizen",
    "referred": "Referred to another agency", "no_fault": "No fault found", "other": "Other",
}
CHANGE_TYPE_LABELS = {
    "phone": "Phone number", "address": "Address", "name": "Name", "birth_date": "Date of birth",
    "member_birth": "New household member (birth)", "member_death": "Household member died",
    "member_moved_out": "Household member moved out",
}
CHANGE_STATUS_LABELS = {"pending": "Pending", "approved": "Approved", "rejected": "Rejected"}
# Khmer canned replies offered on the case page (msgids; the case's language is used when sending).
CANNED_REPLIES = {
    "checking": "We are checking your case with the payment office. We will answer within 5 working days.",
    "paid_next": "Your missed payment will be paid at the next collection day. Bring your Equity Card.",
    "visit_commune": "Please visit the commune office with your Equity Card so we can check your details.",
    "need_info": "Please send us your Equity Card number so we can find your record.",
}


def label(table: dict[str, str], key: str | None) -> str:
    if key is None:
        return "—"
    return text(table[key]) if key in table else key


def labels(table: dict[str, str]) -> list[tuple[str, str]]:
    return [(key, text(value)) for key, value in table.items()]
