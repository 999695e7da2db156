"""Telegram channel tables: stored inbound updates (processed by the worker) and evidence files.

`telegram_updates` is both the deduplication record (primary key = Telegram's `update_id`) and the
work queue: the webhook (or `chumnuoy telegram` polling) inserts a row and returns; the worker claims
rows, runs the conversation and marks them done, or retries them with backoff and finally `failed`
so that one poison update never blocks the others.

Evidence: the bytes of photos sent as evidence live in `evidence_blobs` (EXIF already stripped);
change requests point at them from E1's `change_evidence` (storage_key `db:evidence_blobs/<id>`),
grievances from `grievance_evidence`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, utcnow

UPDATE_STATUSES = ("pending", "processing", "done", "failed", "ignored")


class TelegramUpdate(Base):
    __tablename__ = "telegram_updates"
    __table_args__ = (Index("ix_telegram_updates_due", "status", "next_attempt_at"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int | None] = mapped_column(BigInteger, default=None, index=True)
    payload: Mapped[str] = mapped_column(Text)
    """The update as Telegram sent it (JSON)."""
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)


class EvidenceBlob(Base):
    """The bytes of one evidence file, metadata already stripped."""

    __tablename__ = "evidence_blobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GrievanceEvidence(Base):
    """A photo attached to a grievance (metadata; bytes in `evidence_blobs`)."""

    __tablename__ = "grievance_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grievance_id: Mapped[int] = mapped_column(ForeignKey("grievances.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(500))
    exif_stripped: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(32), default="telegram")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
