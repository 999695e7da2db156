"""Case-side tables: grievances and their events and pauses, change requests and evidence, the
outbox, handoff conversations, officers, API tokens, the audit log and canned replies.

Grievance addresses: `reply_channel`/`reply_address` hold only what is needed to answer the citizen
(SMS when they used USSD). For anonymous cases nothing else is kept (no identity, no SPID) and the
officer views never include the address (portal/services/grievances.py `officer_view`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow

OFFICER_ROLES = ("officer", "supervisor", "national_officer", "admin")
LEVELS = ("commune", "district", "province", "national")
GRIEVANCE_STATES = ("received", "in_review", "escalated", "resolved", "closed", "rejected", "reopened")
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "opted_out", "suppressed")


class Officer(Base):
    __tablename__ = "officers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    """argon2id (argon2-cffi PasswordHasher)."""
    role: Mapped[str] = mapped_column(String(32))
    """officer | supervisor | national_officer | admin"""
    level: Mapped[str] = mapped_column(String(16))
    """commune | district | province | national: the level of the cases this officer works."""
    area_code: Mapped[str | None] = mapped_column(String(16), default=None, index=True)
    """Gazetteer code of the officer's area (6-digit commune, 4 district, 2 province; None = national)."""
    agency: Mapped[str | None] = mapped_column(String(16), default=None)
    """MoP | NSAF | NSSF | MoH | MoSVY | MoEYS; None = every agency (admins)."""
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    """E.164, for SLA alerts by SMS."""
    locale: Mapped[str] = mapped_column(String(8), default="km")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 hex of the token (tokens are 256-bit random, so a fast hash is enough)."""
    prefix: Mapped[str] = mapped_column(String(16))
    """The first characters of the token, to recognise it in lists without storing it."""
    scopes: Mapped[str] = mapped_column(String(500))
    """Space-separated scopes."""
    officer_id: Mapped[int | None] = mapped_column(
        ForeignKey("officers.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Grievance(Base):
    __tablename__ = "grievances"
    __table_args__ = (
        Index("ix_grievances_queue", "state", "level", "agency"),
        Index("ix_grievances_reply", "reply_channel", "reply_address"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(8), unique=True)
    """8 ASCII digits: 7 random + a Damm check digit."""
    category: Mapped[str] = mapped_column(String(32))
    sla_class_days: Mapped[int] = mapped_column(Integer)
    programme: Mapped[str | None] = mapped_column(String(32), default=None)
    state: Mapped[str] = mapped_column(String(16), default="received")
    level: Mapped[str] = mapped_column(String(16))
    agency: Mapped[str] = mapped_column(String(16))
    province_code: Mapped[str | None] = mapped_column(String(2), default=None)
    district_code: Mapped[str | None] = mapped_column(String(4), default=None)
    commune_code: Mapped[str | None] = mapped_column(String(6), default=None)
    village_code: Mapped[str | None] = mapped_column(String(8), default=None)
    channel: Mapped[str] = mapped_column(String(16))
    """Where it was lodged: ussd | sms | telegram | api | portal."""
    reply_channel: Mapped[str | None] = mapped_column(String(16), default=None)
    """sms | telegram (USSD cases answer by SMS); None = no way to answer."""
    reply_address: Mapped[str | None] = mapped_column(String(64), default=None)
    identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("channel_identities.id", ondelete="SET NULL"), default=None, index=True
    )
    person_spid: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    locale: Mapped[str] = mapped_column(String(8), default="km")
    assigned_officer_id: Mapped[int | None] = mapped_column(
        ForeignKey("officers.id", ondelete="SET NULL"), default=None, index=True
    )
    sla_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    """Start of the current SLA clock (lodging; restarted by escalation and reopening)."""
    first_action_at: Mapped[datetime | None] = mapped_column(default=None)
    first_action_due_at: Mapped[datetime | None] = mapped_column(default=None)
    resolve_due_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    waiting_for_citizen: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution_code: Mapped[str | None] = mapped_column(String(32), default=None)
    resolution_text: Mapped[str | None] = mapped_column(Text, default=None)
    rejection_reason: Mapped[str | None] = mapped_column(Text, default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    escalated_at: Mapped[datetime | None] = mapped_column(default=None)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[int | None] = mapped_column(Integer, default=None)
    rated_at: Mapped[datetime | None] = mapped_column(default=None)
    rating_reminded_at: Mapped[datetime | None] = mapped_column(default=None)
    due_reminded_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    events: Mapped[list[GrievanceEvent]] = relationship(
        back_populates="grievance", order_by="GrievanceEvent.id", cascade="all, delete-orphan"
    )
    pauses: Mapped[list[GrievancePause]] = relationship(
        back_populates="grievance", order_by="GrievancePause.id", cascade="all, delete-orphan"
    )


class GrievanceEvent(Base):
    __tablename__ = "grievance_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grievance_id: Mapped[int] = mapped_column(ForeignKey("grievances.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    """citizen | officer:<id> | api:<token name> | system"""
    type: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    grievance: Mapped[Grievance] = relationship(back_populates="events")


class GrievancePause(Base):
    """An interval in which the SLA clock stood still (waiting for the citizen); open while ended_at
    is None."""

    __tablename__ = "grievance_pauses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grievance_id: Mapped[int] = mapped_column(ForeignKey("grievances.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    reason: Mapped[str] = mapped_column(String(64), default="waiting_for_citizen")

    grievance: Mapped[Grievance] = relationship(back_populates="pauses")


class ChangeRequest(Base):
    __tablename__ = "change_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_type: Mapped[str] = mapped_column(String(32))
    """phone | address | name | birth_date | member_birth | member_death | member_moved_out"""
    person_spid: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    household_id: Mapped[str | None] = mapped_column(String(32), default=None)
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    """pending | approved | rejected"""
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    """Why it was rejected (told to the citizen)."""
    registry_reason_code: Mapped[str | None] = mapped_column(String(64), default=None)
    """The registry's refusal code of the last failed application, if any."""
    source: Mapped[str] = mapped_column(String(16))
    """citizen | officer | api"""
    requested_by: Mapped[str] = mapped_column(String(64))
    identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("channel_identities.id", ondelete="SET NULL"), default=None, index=True
    )
    reply_channel: Mapped[str | None] = mapped_column(String(16), default=None)
    reply_address: Mapped[str | None] = mapped_column(String(64), default=None)
    locale: Mapped[str] = mapped_column(String(8), default="km")
    province_code: Mapped[str | None] = mapped_column(String(2), default=None)
    commune_code: Mapped[str | None] = mapped_column(String(6), default=None)
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    applied_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    evidence: Mapped[list[ChangeEvidence]] = relationship(
        back_populates="change_request", order_by="ChangeEvidence.id", cascade="all, delete-orphan"
    )


class ChangeEvidence(Base):
    """Metadata of one evidence file (the bytes live in storage, EXIF stripped before storing)."""

    __tablename__ = "change_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_request_id: Mapped[int] = mapped_column(
        ForeignKey("change_requests.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(500))
    exif_stripped: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(32), default="telegram")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    change_request: Mapped[ChangeRequest] = relationship(back_populates="evidence")


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),
        UniqueConstraint("dedupe_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    """sms | telegram"""
    address: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    """reply | status | reminder | otp | alert | notice"""
    locale: Mapped[str] = mapped_column(String(8), default="km")
    identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("channel_identities.id", ondelete="SET NULL"), default=None
    )
    grievance_id: Mapped[int | None] = mapped_column(
        ForeignKey("grievances.id", ondelete="SET NULL"), default=None, index=True
    )
    dedupe_key: Mapped[str | None] = mapped_column(String(190), default=None)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """pending | sending | sent | failed | opted_out | suppressed"""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    provider_id: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    delivery_status: Mapped[str | None] = mapped_column(String(32), default=None)
    """The provider's later delivery report (e.g. delivered / undelivered), when it sends one."""
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class RateBucket(Base):
    """A token bucket per outbound channel, shared by every worker (optimistic updates)."""

    __tablename__ = "outbox_rate_buckets"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    tokens: Mapped[float] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, default=0)


class Conversation(Base):
    """A handoff conversation ("talk to an officer") between a citizen address and officers."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("channel_identities.id", ondelete="SET NULL"), default=None, index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    reply_channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8), default="km")
    status: Mapped[str] = mapped_column(String(16), default="open")
    """open | closed"""
    province_code: Mapped[str | None] = mapped_column(String(2), default=None)
    grievance_id: Mapped[int | None] = mapped_column(
        ForeignKey("grievances.id", ondelete="SET NULL"), default=None
    )
    assigned_officer_id: Mapped[int | None] = mapped_column(
        ForeignKey("officers.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)

    messages: Mapped[list[ConversationMessage]] = relationship(
        back_populates="conversation", order_by="ConversationMessage.id", cascade="all, delete-orphan"
    )


class ConversationMessage(Base):
    __tablename__ = "conversation_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(8))
    """in (from the citizen) | out (to the citizen)"""
    actor: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    outbox_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class CannedReply(Base):
    __tablename__ = "canned_replies"
    __table_args__ = (UniqueConstraint("key", "locale"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    agency: Mapped[str | None] = mapped_column(String(16), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
