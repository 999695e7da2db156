"""The DCI protocol layer's own tables: transactions (for txn status), subscriptions, seen message ids.

They live on the data layer's `Base` so that `create_schema` creates them with the rest. Date-times
are naive Cambodian local time like the data tables. Message bodies are stored as JSON text.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry_sandbox.models import Base


class DciTransaction(Base):
    """One accepted request message (search or subscribe/unsubscribe) and its stored response."""

    __tablename__ = "dci_transactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    correlation_id: Mapped[str] = mapped_column(String(99))
    transaction_id: Mapped[str] = mapped_column(String(99))
    sender_id: Mapped[str] = mapped_column(String(200))
    message_id: Mapped[str] = mapped_column(String(200))
    txn_type: Mapped[str] = mapped_column(String(12))  # search | subscribe | unsubscribe
    mode: Mapped[str] = mapped_column(String(5))  # sync | async
    status: Mapped[str] = mapped_column(String(4))  # pdng | succ | rjct (header status)
    reference_ids: Mapped[str] = mapped_column(Text)  # "|ref1|ref2|" for LIKE lookups
    request_json: Mapped[str] = mapped_column(Text)  # the request message
    response_json: Mapped[str | None] = mapped_column(Text)  # the response message once computed
    sender_uri: Mapped[str | None] = mapped_column(Text)
    callback_status: Mapped[str | None] = mapped_column(String(12))  # pending | delivered | failed
    callback_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        Index("ix_dci_transactions_correlation_id", "correlation_id", unique=True),
        Index("ix_dci_transactions_sender_txn", "sender_id", "transaction_id"),
    )


class DciSubscription(Base):
    """A subscription; `sender_id` NULL means any sender may use it (the compliance fixture)."""

    __tablename__ = "dci_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(99))
    sender_id: Mapped[str | None] = mapped_column(String(200))
    sender_uri: Mapped[str | None] = mapped_column(Text)
    transaction_id: Mapped[str | None] = mapped_column(String(99))
    reference_id: Mapped[str | None] = mapped_column(String(200))
    reg_event_type: Mapped[str] = mapped_column(String(60))  # normalised: register | update | deregister | …
    filter_type: Mapped[str] = mapped_column(String(20))
    filter_json: Mapped[str] = mapped_column(Text)
    notify_record_type: Mapped[str] = mapped_column(String(10))  # Group | Member
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    fixture: Mapped[bool] = mapped_column(Boolean, default=False)  # seeded; unsubscribe keeps it active
    locale: Mapped[str] = mapped_column(String(3), default="khm")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        Index("ix_dci_subscriptions_code", "code", unique=True),
        Index("ix_dci_subscriptions_active", "active"),
    )


class DciSeenMessage(Base):
    """(sender_id, message_id) pairs already accepted: a repeat is `rjct.message_id.duplicate`."""

    __tablename__ = "dci_seen_messages"

    sender_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime, index=True)


API_TABLES = (DciTransaction.__table__, DciSubscription.__table__, DciSeenMessage.__table__)
