"""Enrolments, payments and change application over the `/ext` proposals (docs/registry-profile.md).

This is the one module to replace when the SPR offers its own interface for these; SR search
(records.py) does not depend on it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from registry_client.dci import DciTransport
from registry_client.records import parse_date, parse_datetime
from registry_client.types import (
    ChangeResult,
    Enrolment,
    Household,
    Payment,
    Person,
    RegistryRejected,
)

_PAYMENT_STATUSES = {"paid", "failed", "pending", "unclaimed"}


def person_identifier(person: Person) -> dict[str, str]:
    """SPID is every registry person's key; UIN only when there is no SPID."""
    if person.spid:
        return {"type": "SPID", "value": person.spid}
    if person.uin:
        return {"type": "UIN", "value": person.uin}
    raise ValueError("person without SPID or UIN")


def _amount(value: object) -> int | None:
    try:
        return round(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _programme_code(value: object) -> str:
    if isinstance(value, Mapping):
        return str(value.get("programme_identifier") or value.get("code") or "")
    return str(value or "")


def enrolment_from_ext(entry: Mapping[str, Any]) -> Enrolment:
    programme = entry.get("programme") or {}
    benefits = entry.get("benefits") or {}
    if isinstance(benefits, list):
        benefits = benefits[0] if benefits else {}
    return Enrolment(
        programme=_programme_code(programme),
        programme_name=str(programme.get("programme_name") or "") if isinstance(programme, Mapping) else "",
        status=str(entry.get("enrolment_status") or ""),
        enrolment_date=parse_date(entry.get("enrolment_date")),
        benefit_type=benefits.get("benefit_type"),
        amount_riel=_amount(benefits.get("benefit_value")),
        frequency=benefits.get("benefit_frequency"),
        collection_point=entry.get("collection_point"),
    )


def payment_from_ext(entry: Mapping[str, Any]) -> Payment:
    status = str(entry.get("status") or "").lower()
    return Payment(
        payment_id=str(entry.get("payment_id") or ""),
        programme=_programme_code(entry.get("programme_identifier")),
        amount_riel=_amount(entry.get("amount")) or 0,
        status=status if status in _PAYMENT_STATUSES else "pending",  # type: ignore[arg-type]
        due_date=parse_date(entry.get("due_date")),
        paid_date=parse_date(entry.get("paid_date")),
        component=entry.get("component"),
        collection_point=entry.get("collection_point"),
    )


def _reject_unless_succ(item_status: str, reason: str | None) -> None:
    if item_status == "rjct":
        raise RegistryRejected(reason or "rjct", http_status=200)


def enrolments(transport: DciTransport, person: Person) -> list[Enrolment]:
    item = transport.ext_enrolments(person_identifier(person))
    if item.status == "rjct" and item.reason_code in {"rjct.person_id.invalid", "rjct.record.not_found"}:
        return []
    _reject_unless_succ(item.status, item.reason_code)
    beneficiary = item.body.get("beneficiary") or {}
    entries = beneficiary.get("programme_identifier") or []
    return [enrolment_from_ext(e) for e in entries if isinstance(e, Mapping)]


def payments(transport: DciTransport, person: Person, programme: str | None = None) -> list[Payment]:
    item = transport.ext_payments(person_identifier(person), programme)
    if item.status == "rjct" and item.reason_code in {"rjct.person_id.invalid", "rjct.record.not_found"}:
        return []
    _reject_unless_succ(item.status, item.reason_code)
    found = [payment_from_ext(p) for p in item.body.get("payments") or [] if isinstance(p, Mapping)]
    if programme:
        found = [p for p in found if p.programme == programme]
    return sorted(found, key=lambda p: (p.due_date or p.paid_date or date.min, p.payment_id))


def _plain(value: object) -> object:
    """JSON-safe form of a change value (dates as ISO strings)."""
    return json.loads(json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, date | datetime)
                                 else str(v), ensure_ascii=False))


def apply_change(transport: DciTransport, change_type: str, target: Person | Household,
                 old_value: object, new_value: object, requested_by: str,
                 reference_id: str | None = None) -> ChangeResult:
    change: dict[str, Any] = {"change_type": change_type, "old_value": _plain(old_value),
                              "new_value": _plain(new_value), "requested_by": requested_by}
    if isinstance(target, Household):
        change["household_identifier"] = {"type": "HOUSEHOLD_ID", "value": target.household_id}
    else:
        change["person_identifier"] = person_identifier(target)
    item = transport.ext_change(change, reference_id)
    if item.status == "succ":
        return ChangeResult(applied=True, applied_at=parse_datetime(item.body.get("applied_at")))
    return ChangeResult(applied=False, reason_code=item.reason_code or item.status or None)
