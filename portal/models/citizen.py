"""Citizen-side tables: channel identities, consent, verification lockouts, one-time codes, rate limits.

A *channel identity* is one address on one channel (an SMS/USSD MSISDN in E.164, or a Telegram user
id). It remembers the language, the opt-out state and, once resolved, the registry person it is
linked to (level 1) and whether a knowledge check is currently valid (level 2, with an expiry).
Registry data itself is never copied here: only the SPID and household id needed to fetch it again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, utcnow

CHANNELS = ("sms", "ussd", "telegram")


class ChannelIdentity(Base):
    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    """sms | ussd | telegram"""
    address: Mapped[str] = mapped_column(String(64))
    """E.164 phone number (sms/ussd) or Telegram user id."""
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    """The phone number behind the address (= address on sms/ussd; a shared contact on Telegram)."""
    person_spid: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    household_id: Mapped[str | None] = mapped_column(String(32), default=None)
    level: Mapped[int] = mapped_column(Integer, default=0)
    """0 anonymous, 1 linked to a registry person, 2 linked + knowledge check passed (see expiry)."""
    level2_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    level2_session: Mapped[str | None] = mapped_column(String(128), default=None)
    """USSD: level 2 holds for this gateway session id only."""
    pending_candidates: Mapped[str | None] = mapped_column(Text, default=None)
    """JSON list of SPIDs sharing this phone, while the citizen has not yet said which one they are."""
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    """km | en; None = not chosen yet (first contact shows the bilingual choice)."""
    notifications_opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    """In-app opt-out (ឈប់): notifications stop, replies continue."""
    carrier_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    """Carrier STOP (Twilio 21610) or Telegram 403 'blocked': nothing is sent until START."""
    opted_out_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentRecord(Base):
    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("channel_identities.id", ondelete="SET NULL"), default=None, index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    wording_version: Mapped[str] = mapped_column(String(32))
    text_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the exact consent text shown (in the locale shown)."""
    locale: Mapped[str] = mapped_column(String(8))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_consent_records_channel_address", "channel", "address"),)
    """Every first USSD hop asks whether this address consented: without it, a table scan."""


class VerificationLock(Base):
    """Failed knowledge checks per registry person (not per address: a lock follows the person)."""

    __tablename__ = "verification_locks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_spid: Mapped[str] = mapped_column(String(32), unique=True)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime | None] = mapped_column(default=None)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


class OneTimeCode(Base):
    __tablename__ = "one_time_codes"
    __table_args__ = (Index("ix_one_time_codes_requester", "requester_channel", "requester_address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(128))
    person_spid: Mapped[str] = mapped_column(String(32), index=True)
    requester_channel: Mapped[str] = mapped_column(String(16))
    requester_address: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class RateLimitCounter(Base):
    """Fixed-window counters: one row per (key, window start)."""

    __tablename__ = "rate_limit_counters"
    __table_args__ = (UniqueConstraint("key", "window_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(190))
    window_start: Mapped[datetime] = mapped_column()
    count: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(index=True)
