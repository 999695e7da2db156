"""Conversation state of the bot (SQL backend): one row per conversation key, JSON payload.

Also holds short-lived *claims* (inbound message ids already handled) under keys prefixed
`seen:`, so deduplication needs no table of its own. Rows past `expires_at` are treated as absent
and purged opportunistically.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, utcnow


class ConversationState(Base):
    __tablename__ = "bot_conversations"

    key: Mapped[str] = mapped_column(String(190), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
