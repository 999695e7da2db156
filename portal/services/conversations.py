"""Handoff conversations ("talk to an officer", SPEC §4): the citizen's messages are stored; officer
replies go back through the outbox on the citizen's channel (SMS for USSD). One open conversation per
channel address at a time; every officer read is audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from chumnuoy.i18n import translate
from portal.models.cases import Conversation, ConversationMessage
from portal.services import audit
from portal.services import case_messages as msg
from portal.services.outbox import enqueue
from portal.services.working_time import aware_utc

REPLY_CHANNEL = {"ussd": "sms", "sms": "sms", "telegram": "telegram"}


def open_handoff(session: Session, *, channel: str, address: str, now: datetime, text: str | None = None,
                 identity_id: int | None = None, locale: str = "km",
                 province_code: str | None = None) -> Conversation:
    """The open conversation of this address (a new one when there is none), with `text` appended."""
    now = aware_utc(now)
    if channel not in REPLY_CHANNEL:
        raise ValueError(f"unknown channel {channel!r}")
    conversation = session.scalar(select(Conversation).where(
        Conversation.channel == channel, Conversation.address == address, Conversation.status == "open"))
    if conversation is None:
        conversation = Conversation(channel=channel, reply_channel=REPLY_CHANNEL[channel], address=address,
                                    identity_id=identity_id, locale=locale, province_code=province_code,
                                    status="open", created_at=now, updated_at=now)
        session.add(conversation)
    if text and text.strip():
        conversation.messages.append(ConversationMessage(direction="in", actor="citizen", text=text.strip(),
                                                         created_at=now))
        conversation.updated_at = now
    session.commit()
    return conversation


def officer_reply(session: Session, conversation: Conversation, text: str, actor: str,
                  now: datetime) -> ConversationMessage:
    now = aware_utc(now)
    text = (text or "").strip()
    if not text:
        raise ValueError("empty reply")
    if conversation.status != "open":
        raise ValueError("the conversation is closed")
    outgoing = enqueue(session, channel=conversation.reply_channel, address=conversation.address,
                       text=translate(conversation.locale, msg.HANDOFF_OFFICER_REPLY, text=text),
                       kind="reply", locale=conversation.locale, identity_id=conversation.identity_id,
                       now=now)
    session.flush()
    message = ConversationMessage(direction="out", actor=actor, text=text, outbox_message_id=outgoing.id,
                                  created_at=now)
    conversation.messages.append(message)
    conversation.updated_at = now
    session.commit()
    return message


def close(session: Session, conversation: Conversation, actor: str, now: datetime) -> None:
    now = aware_utc(now)
    conversation.status, conversation.closed_at, conversation.updated_at = "closed", now, now
    audit.record(session, actor=actor, action="close_conversation", subject_type="conversation",
                 subject_id=str(conversation.id), now=now)
    session.commit()


def transcript(session: Session, conversation: Conversation, actor: str) -> list[ConversationMessage]:
    """The messages, for an officer (audited)."""
    audit.record(session, actor=actor, action="view_conversation", subject_type="conversation",
                 subject_id=str(conversation.id))
    session.commit()
    return list(conversation.messages)


def open_conversations(session: Session, province_code: str | None = None) -> list[Conversation]:
    query = select(Conversation).where(Conversation.status == "open").order_by(Conversation.updated_at)
    if province_code:
        query = query.where(Conversation.province_code == province_code)
    return list(session.scalars(query))
