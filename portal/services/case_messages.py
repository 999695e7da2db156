"""Every citizen- and officer-facing message of the case services (grievances, change requests,
alerts). The msgid is the English source; Khmer is in translations/km/LC_MESSAGES/cases.po.
Placeholders: `{reference}` is passed as text so it stays in ASCII digits (easy to type back on any
keypad); numbers and dates passed as such are localised by chumnuoy.i18n.translate.
"""

from __future__ import annotations

STATE_LABELS = {
    "received": "received",
    "in_review": "in review",
    "escalated": "escalated",
    "resolved": "resolved",
    "closed": "closed",
    "rejected": "not accepted",
    "reopened": "reopened",
}
LEVEL_LABELS = {
    "commune": "commune/sangkat",
    "district": "district/khan",
    "province": "province/capital",
    "national": "national",
}

ACKNOWLEDGED = "Complaint received. Number: {reference}. Keep it to check the status."
ACKNOWLEDGED_USSD = (
    "Complaint {reference} received. To add details, send an SMS from this phone within 24 hours "
    "starting with {reference}."
)
DETAILS_ADDED = "Details added to complaint {reference}."
OFFICER_REPLY = "Complaint {reference}: {text}"
STATUS_CHANGED = "Complaint {reference}: now {state}."
STATUS_LEVEL0 = "Complaint {reference}: {state}, {level} level."
ESCALATED = "Complaint {reference} was sent up to the {level} level."
RESOLVED = "Complaint {reference} resolved: {text}"
RATE_PROMPT = "Rate the answer to complaint {reference}: reply 1 good, 2 fair, 3 poor."
REJECTED = "Complaint {reference} not accepted: {reason}"
REOPENED = "Complaint {reference} is open again."
CLOSED = "Complaint {reference} is closed."
REFERENCE_INVALID = "This complaint number is not right. Check it and try again."
REFERENCE_NOT_FOUND = "No complaint has this number."

OFFICER_DUE_SOON = "Case {reference} is due on {date}."
SUPERVISOR_BREACH = "Case {reference} missed its deadline and went up to the {level} level."
ADMIN_BREACH = "Case {reference} missed its deadline at the national level."

CHANGE_RECEIVED = "Your request was sent to an officer. We will tell you the result."
CHANGE_APPROVED = "Your change request was approved and your details were updated."
CHANGE_REJECTED = "Your change request was not approved: {reason}"

HANDOFF_OFFICER_REPLY = "Officer: {text}"


def all_msgids() -> list[str]:
    """Every msgid of this module, the category labels included (for the translation test)."""
    from portal.services.grievance_catalogue import CATEGORIES

    found = [value for name, value in globals().items() if name.isupper() and isinstance(value, str)]
    found += list(STATE_LABELS.values()) + list(LEVEL_LABELS.values())
    found += [c.label_msgid for c in CATEGORIES.values()]
    return sorted(set(found))
