"""Handoff conversations: citizen messages stored, officer replies reach the citizen via the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.models.cases import AuditEntry, OutboxMessage
from portal.services import conversations

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def test_handoff_round_trip_on_the_citizens_channel(db_session):
    conversation = conversations.open_handoff(db_session, channel="ussd", address="+85512000102", now=NOW,
                                              text="ខ្ញុំចង់និយាយជាមួយមន្ត្រី")
    again = conversations.open_handoff(db_session, channel="ussd", address="+85512000102",
                                       now=NOW + timedelta(minutes=1), text="សូមជួយផង")
    assert again.id == conversation.id and [m.direction for m in conversation.messages] == ["in", "in"]
    reply = conversations.officer_reply(db_session, conversation, "យើងនឹងទូរស័ព្ទទៅលោក", "officer:3",
                                        NOW + timedelta(minutes=5))
    (outgoing,) = db_session.scalars(select(OutboxMessage))
    assert (outgoing.channel, outgoing.address, outgoing.kind) == ("sms", "+85512000102", "reply")
    assert outgoing.text == "មន្ត្រី៖ យើងនឹងទូរស័ព្ទទៅលោក" and reply.outbox_message_id == outgoing.id
    assert [m.text for m in conversations.transcript(db_session, conversation, "officer:3")][-1] == (
        "យើងនឹងទូរស័ព្ទទៅលោក")
    conversations.close(db_session, conversation, "officer:3", NOW + timedelta(hours=1))
    with pytest.raises(ValueError):
        conversations.officer_reply(db_session, conversation, "late", "officer:3", NOW + timedelta(hours=2))
    assert conversations.open_conversations(db_session) == []
    actions = [a.action for a in db_session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["view_conversation", "close_conversation"]
