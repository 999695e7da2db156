"""Persistence of accepted messages: transactions (for txn status) and seen message ids."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from registry_sandbox.api.models import DciSeenMessage, DciTransaction
from registry_sandbox.models import registry_now

SEEN_RETENTION = timedelta(days=2)
_txn = DciTransaction.__table__
_seen = DciSeenMessage.__table__


@dataclass(frozen=True)
class StoredTransaction:
    correlation_id: str
    transaction_id: str
    txn_type: str
    status: str
    reference_ids: list[str]
    response: dict[str, Any] | None


def remember_message(engine: Engine, sender_id: str, message_id: str) -> bool:
    """Record (sender, message id); False when it was already seen (a duplicate)."""
    now = registry_now()
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(_seen).values(sender_id=sender_id, message_id=message_id[:200], seen_at=now)
            )
    except IntegrityError:
        return False
    if now.minute == 0 and now.second < 5:  # cheap, occasional pruning
        with engine.begin() as connection:
            connection.execute(delete(_seen).where(_seen.c.seen_at < now - SEEN_RETENTION))
    return True


def record(
    engine: Engine,
    *,
    correlation_id: str,
    transaction_id: str,
    sender_id: str,
    message_id: str,
    txn_type: str,
    mode: str,
    status: str,
    reference_ids: list[str],
    request: dict[str, Any],
    response: dict[str, Any] | None,
    sender_uri: str | None,
) -> None:
    now = registry_now()
    with engine.begin() as connection:
        connection.execute(
            insert(_txn).values(
                correlation_id=correlation_id,
                transaction_id=transaction_id,
                sender_id=sender_id,
                message_id=message_id[:200],
                txn_type=txn_type,
                mode=mode,
                status=status,
                reference_ids="|" + "|".join(reference_ids) + "|",
                request_json=json.dumps(request, ensure_ascii=False),
                response_json=json.dumps(response, ensure_ascii=False) if response is not None else None,
                sender_uri=sender_uri,
                callback_status="pending" if mode == "async" else None,
                callback_attempts=0,
                created_at=now,
                updated_at=now,
            )
        )


def complete(engine: Engine, correlation_id: str, status: str, response: dict[str, Any]) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(_txn)
            .where(_txn.c.correlation_id == correlation_id)
            .values(
                status=status,
                response_json=json.dumps(response, ensure_ascii=False),
                updated_at=registry_now(),
            )
        )


def note_callback(engine: Engine, correlation_id: str, callback_status: str, attempts: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(_txn)
            .where(_txn.c.correlation_id == correlation_id)
            .values(callback_status=callback_status, callback_attempts=attempts, updated_at=registry_now())
        )


def _stored(row: Any) -> StoredTransaction:
    return StoredTransaction(
        correlation_id=row.correlation_id,
        transaction_id=row.transaction_id,
        txn_type=row.txn_type,
        status=row.status,
        reference_ids=[ref for ref in row.reference_ids.split("|") if ref],
        response=json.loads(row.response_json) if row.response_json else None,
    )


def find(
    engine: Engine, sender_id: str, txn_types: tuple[str, ...], attribute_type: str, attribute_value: object
) -> StoredTransaction | None:
    """The latest transaction of this sender matching the txn-status lookup, or None.

    By `transaction_id` or `correlation_id`: exact match. By `reference_id_list`: the latest whose
    batch contains any of the references (the caller filters the items).
    """
    base = select(_txn).where(_txn.c.sender_id == sender_id, _txn.c.txn_type.in_(txn_types))
    if attribute_type == "transaction_id" and isinstance(attribute_value, str):
        statement = base.where(_txn.c.transaction_id == attribute_value)
    elif attribute_type == "correlation_id" and isinstance(attribute_value, str):
        statement = base.where(_txn.c.correlation_id == attribute_value)
    elif attribute_type == "reference_id_list":
        refs = attribute_value if isinstance(attribute_value, list) else [attribute_value]
        refs = [ref for ref in refs if isinstance(ref, str) and ref and "|" not in ref and "%" not in ref]
        if not refs:
            return None
        from sqlalchemy import or_

        statement = base.where(or_(*[_txn.c.reference_ids.like(f"%|{ref}|%") for ref in refs]))
    else:
        return None
    with engine.connect() as connection:
        row = connection.execute(statement.order_by(_txn.c.id.desc()).limit(1)).first()
    return _stored(row) if row else None
