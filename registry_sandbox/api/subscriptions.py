"""Subscribe, unsubscribe and `notify` when a record changes.

Event types (`reg_event_type`) are matched case-insensitively and normalised:
`REGISTER`, `REGISTRATION` → register; `UPDATE`, `UPDATED` → update; `DEREGISTER`, `DELETE` →
deregister; `NewHouseHoldMember` (also `spdci:common:RegistryEventType:NewHouseHoldMember`) →
new_household_member; `ALL` / `*` → all. Changes applied through `/ext/registry/sync/changes` are
`update` events, so they notify subscriptions to update or all (an `add_member` change also
notifies new_household_member). Anything else is `rjct.notify_types.invalid`.

Matching a change to a subscription re-runs the subscription's filter through the Store and checks
that the changed household (Group subscriptions) or person (Member subscriptions; for household
changes, any member of that household) is among the results. Expression/predicate filters are
scanned page by page up to MAX_SCAN records.

Subscribing twice to the same filter, event and record type from the same sender returns the
existing code (idempotent) rather than `rjct.event.already_subscribed`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, or_, select, update

from registry_sandbox import query
from registry_sandbox.api import envelope
from registry_sandbox.api.models import DciSubscription
from registry_sandbox.api.queries import entity_of, parse_expression, parse_identifier, parse_predicate
from registry_sandbox.models import registry_now

MAX_SCAN = 5000
SCAN_PAGE = 500
_sub = DciSubscription.__table__

EVENT_TYPES = {
    "register": "register",
    "registration": "register",
    "update": "update",
    "updated": "update",
    "deregister": "deregister",
    "delete": "deregister",
    "newhouseholdmember": "new_household_member",
    "all": "all",
    "*": "all",
}


class SubscribeError(ValueError):
    def __init__(self, message: str, reason_code: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code


def normalise_event(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return EVENT_TYPES.get(value.rsplit(":", 1)[-1].strip().lower())


@dataclass(frozen=True)
class Filter:
    filter_type: str
    raw: Any
    identifier: tuple[str, str] | None
    condition: query.Condition | None


def parse_filter(filter_type: object, raw: object) -> Filter:
    if filter_type is None:
        filter_type = "predicate" if isinstance(raw, list) else "idtype-value"
    try:
        if filter_type == "idtype-value":
            return Filter("idtype-value", raw, parse_identifier(raw), None)
        if filter_type == "expression":
            condition, _ = parse_expression(raw)
            return Filter("expression", raw, None, condition)
        if filter_type == "predicate":
            return Filter("predicate", raw, None, parse_predicate(raw))
    except query.QueryError as error:
        raise SubscribeError(f"filter: {error}", "rjct.notify_details.invalid") from error
    raise SubscribeError(
        f"filter_type {filter_type!r} is not supported (idtype-value, expression, predicate)",
        "rjct.notify_details.invalid",
    )


def subscribe_item(
    engine: Engine, sender_id: str, sender_uri: str | None, transaction_id: str, item: dict[str, Any]
) -> dict[str, Any]:
    """One SubscribeResponse item (creating the subscription when valid)."""
    reference_id = item["reference_id"]
    answer: dict[str, Any] = {"reference_id": reference_id, "timestamp": envelope.now_ts()}
    try:
        if envelope.parse_timestamp(item.get("timestamp")) is None:
            raise SubscribeError("timestamp must be ISO 8601 with an offset", "rjct.timestamp.invalid")
        criteria = item.get("subscribe_criteria")
        if not isinstance(criteria, dict):
            raise SubscribeError("subscribe_criteria is required", "rjct.notify_details.invalid")
        event = normalise_event(criteria.get("reg_event_type"))
        if event is None:
            raise SubscribeError(
                f"unknown reg_event_type {criteria.get('reg_event_type')!r}", "rjct.notify_types.invalid"
            )
        if not envelope.check_reg_type(criteria.get("reg_type")):
            raise SubscribeError(
                f"unknown reg_type {criteria.get('reg_type')!r}", "rjct.notify_details.invalid"
            )
        record_type = entity_of(criteria.get("notify_record_type"))
        if record_type is None:
            raise SubscribeError("notify_record_type must be Group or Member", "rjct.notify_details.invalid")
        parsed = parse_filter(criteria.get("filter_type"), criteria.get("filter"))
    except SubscribeError as error:
        answer.update(
            status="rjct", status_reason_code=error.reason_code, status_reason_message=str(error)[:999]
        )
        return answer
    filter_json = json.dumps(parsed.raw, sort_keys=True, ensure_ascii=False)
    now = registry_now()
    with engine.begin() as connection:
        existing = connection.execute(
            select(_sub.c.code, _sub.c.created_at).where(
                _sub.c.sender_id == sender_id,
                _sub.c.active.is_(True),
                _sub.c.reg_event_type == event,
                _sub.c.filter_type == parsed.filter_type,
                _sub.c.filter_json == filter_json,
                _sub.c.notify_record_type == record_type,
            )
        ).first()
        if existing:
            code = existing.code
            connection.execute(
                update(_sub).where(_sub.c.code == code).values(sender_uri=sender_uri, updated_at=now)
            )
        else:
            code = f"sub-{uuid.uuid4().hex[:16]}"
            connection.execute(
                insert(_sub).values(
                    code=code,
                    sender_id=sender_id,
                    sender_uri=sender_uri,
                    transaction_id=transaction_id,
                    reference_id=reference_id[:200],
                    reg_event_type=event,
                    filter_type=parsed.filter_type,
                    filter_json=filter_json,
                    notify_record_type=record_type,
                    active=True,
                    fixture=False,
                    locale=envelope.LOCALE,
                    created_at=now,
                    updated_at=now,
                )
            )
    answer.update(
        status="succ",
        subscriptions=[
            {
                "code": code,
                "status": "subscribe",
                "timestamp": envelope.now_ts(),
                "reg_type": envelope.REG_TYPE,
                "reg_event_type": str(criteria.get("reg_event_type")),
                "filter_type": parsed.filter_type,
                "filter": parsed.raw,
                "notify_record_type": record_type,
                "locale": envelope.LOCALE,
            }
        ],
        locale=envelope.LOCALE,
    )
    return answer


def unsubscribe(
    engine: Engine, sender_id: str, codes: list[str]
) -> tuple[str, str | None, list[dict[str, str]]]:
    """(status, reason code, subscription_status). Unknown or foreign codes are left out of the
    list; all unknown → rjct.subscription_code.invalid; all already inactive →
    rjct.event.already_unsubscribed. The fixture `sub-test-001` reports unsubscribe but stays active."""
    statuses: list[dict[str, str]] = []
    unknown = already = 0
    with engine.begin() as connection:
        for code in codes:
            row = connection.execute(
                select(_sub).where(
                    _sub.c.code == code, or_(_sub.c.sender_id == sender_id, _sub.c.sender_id.is_(None))
                )
            ).first()
            if row is None:
                unknown += 1
                continue
            if not row.active:
                already += 1
            elif not row.fixture:
                connection.execute(
                    update(_sub).where(_sub.c.code == code).values(active=False, updated_at=registry_now())
                )
            statuses.append({"code": code, "status": "unsubscribe"})
    if unknown == len(codes):
        return "rjct", "rjct.subscription_code.invalid", statuses
    if already + unknown == len(codes):
        return "rjct", "rjct.event.already_unsubscribed", statuses
    return "succ", None, statuses


@dataclass(frozen=True)
class Change:
    household_id: str | None
    person_spid: str | None
    events: frozenset[str]
    change_type: str


def active_for(engine: Engine, events: frozenset[str]) -> list[Any]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(_sub).where(_sub.c.active.is_(True), _sub.c.reg_event_type.in_([*events, "all"]))
            )
        )


def _identifiers(record: dict[str, Any], key: str) -> set[tuple[str, str]]:
    values = record.get(key)
    return {
        (i.get("identifier_type"), i.get("identifier_value")) for i in values or [] if isinstance(i, dict)
    }


def record_matches(record: dict[str, Any], entity: str, change: Change) -> bool:
    if entity == "Group":
        return change.household_id is not None and ("HOUSEHOLD_ID", change.household_id) in _identifiers(
            record, "group_identifier"
        )
    if change.person_spid is not None:
        return ("SPID", change.person_spid) in _identifiers(record, "member_identifier")
    info = record.get("demographic_info") or {}
    return change.household_id is not None and info.get("household_identifier") == change.household_id


def filter_matches(store: Any, row: Any, change: Change) -> bool:
    parsed = parse_filter(row.filter_type, json.loads(row.filter_json))
    entity = row.notify_record_type
    scanned = 0
    page = 1
    while scanned < MAX_SCAN:
        if parsed.identifier is not None:
            records, total = store.search_identifier(*parsed.identifier, entity, page, SCAN_PAGE, [])
        else:
            records, total = store.search_condition(parsed.condition, entity, page, SCAN_PAGE, [])
        if any(record_matches(record, entity, change) for record in records):
            return True
        scanned += len(records)
        if not records or scanned >= total:
            return False
        page += 1
    return False


def changed_record(store: Any, entity: str, change: Change) -> dict[str, Any] | None:
    if entity == "Member" and change.person_spid:
        records, _ = store.search_identifier("SPID", change.person_spid, "Member", 1, 1, [])
    elif change.household_id:
        records, _ = store.search_identifier("HOUSEHOLD_ID", change.household_id, entity, 1, 50, [])
        records = [r for r in records if record_matches(r, entity, change)] or records
    else:
        return None
    return records[0] if records else None


def notify_envelope(context: Any, row: Any, record: dict[str, Any], change: Change) -> dict[str, Any]:
    event_meta = "update" if "update" in change.events else sorted(change.events)[0]
    data: dict[str, Any] = {
        "version": envelope.VERSION,
        "reg_type": envelope.REG_TYPE,
        "reg_record_type": row.notify_record_type,
        "reg_records": record,  # a single object here, per the spec (not an array)
    }
    if row.reg_event_type == "new_household_member":
        data["reg_event_type"] = "NewHouseHoldMember"
    elif row.reg_event_type == "register":
        data["reg_event_type"] = "REGISTER"
    message = {
        "transaction_id": envelope.new_id("txn-notify")[:99],
        "notify_event": [
            {
                "reference_id": envelope.new_id("ref-notify"),
                "timestamp": envelope.now_ts(),
                "data": data,
                "locale": envelope.LOCALE,
            }
        ],
    }
    header = envelope.callback_header(
        "notify",
        "succ",
        {"sender_id": row.sender_id} if row.sender_id else None,
        context.sender_id,
        total=1,
        completed=1,
        meta={
            "subscription_code": row.code,
            "event_type": event_meta.upper(),
            "change_type": change.change_type,
        },
    )
    return context.sign(header, message)


def notify_change(context: Any, change: Change) -> list[str]:
    """Send `notify` to every matching subscription with a callback URL; the codes notified."""
    from registry_sandbox.api.callbacks import deliver, valid_callback_uri

    notified = []
    for row in active_for(context.engine, change.events):
        if not valid_callback_uri(row.sender_uri):
            continue
        if not filter_matches(context.store, row, change):
            continue
        record = changed_record(context.store, row.notify_record_type, change)
        if record is None:
            continue
        delivered, _ = deliver(row.sender_uri, notify_envelope(context, row, record, change))
        if delivered:
            notified.append(row.code)
    return notified
