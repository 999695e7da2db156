"""Talk to an officer (SPEC §4): the bot opens a handoff conversation in the portal (E1's service),
the citizen's messages are stored in it, and the officer's replies reach the citizen through the
outbox (by SMS, also after USSD)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from tests.bot.conftest import P1, P2, P6, SmsPhone, UssdPhone


def conversation_of(app, address: str):
    from portal.models.cases import Conversation

    with app.extensions["db_sessionmaker"]() as session:
        conversation = session.scalars(select(Conversation).where(Conversation.address == address)).one()
        return conversation, [(m.direction, m.text) for m in conversation.messages]


def officer_replies(app, address: str, text: str):
    from portal.models.cases import Conversation, OutboxMessage
    from portal.services import conversations

    with app.extensions["db_sessionmaker"]() as session:
        conversation = session.scalars(select(Conversation).where(Conversation.address == address)).one()
        conversations.officer_reply(session, conversation, text, "officer:test", datetime.now(UTC))
        return [(m.channel, m.address, m.text, m.kind) for m in session.scalars(
            select(OutboxMessage).where(OutboxMessage.address == address, OutboxMessage.kind == "reply"))]


def test_sms_chat_with_an_officer(client, app) -> None:
    phone = SmsPhone(client, P2)
    phone.send("hi")
    phone.send("1")
    phone.send("1")
    phone.send("4")
    assert phone.send("4") == "សរសេរសាររបស់អ្នកផ្ញើទៅមន្ត្រី។\n០ ថយ"
    sent = phone.send("ខ្ញុំមិនទាន់បានលុយខែតុលា")
    assert sent.startswith("បានផ្ញើហើយ។")
    phone.send("ធ្វើម៉េចទៅ?")
    conversation, messages = conversation_of(app, P2)
    assert (conversation.channel, conversation.reply_channel, conversation.status) == ("sms", "sms", "open")
    assert messages == [("in", "ខ្ញុំមិនទាន់បានលុយខែតុលា"), ("in", "ធ្វើម៉េចទៅ?")]
    outbox = officer_replies(app, P2, "យើងកំពុងពិនិត្យ")
    assert outbox == [("sms", P2, "មន្ត្រី៖ យើងកំពុងពិនិត្យ", "reply")]
    assert "១ ពិនិត្យសិទ្ធិ" in phone.send("00")  # leaving the chat
    phone.send("1")
    assert len(conversation_of(app, P2)[1]) == 3  # the menu choice was not sent to the officer


def test_free_text_asking_for_an_officer_opens_the_chat(client, app) -> None:
    phone = SmsPhone(client, P1)
    phone.send("hi")
    phone.send("2")
    phone.send("1")
    assert phone.send("I want to talk to an officer") == "Write your message for the officer.\n0 Back"
    phone.send("Where is my money?")
    assert conversation_of(app, P1)[1] == [("in", "Where is my money?")]


def test_ussd_handoff_then_sms_question_and_sms_answer(client, app) -> None:
    ussd = UssdPhone(client, P6)
    ussd.dial()
    ussd.press("1")
    ussd.press("1")
    ussd.press("4")
    end = ussd.press("4")
    assert end == "END មន្ត្រីនឹងឆ្លើយអ្នកតាម SMS។ អ្នកក៏អាចផ្ញើសំណួរតាម SMS បានដែរ។"
    conversation, messages = conversation_of(app, P6)
    assert (conversation.channel, conversation.reply_channel, messages) == ("ussd", "sms", [])
    sms = SmsPhone(client, P6)
    assert sms.send("ខ្ញុំត្រូវការជំនួយពីមន្ត្រី") == "បានផ្ញើហើយ។ មន្ត្រីនឹងឆ្លើយអ្នកនៅទីនេះ។"
    assert sms.send("1") == "Chumnuoy\n1 ខ្មែរ\n2 English"  # a bare number is not a question
    assert conversation_of(app, P6)[1] == [("in", "ខ្ញុំត្រូវការជំនួយពីមន្ត្រី")]
    assert officer_replies(app, P6, "សូមមកសាលាឃុំ") == [("sms", P6, "មន្ត្រី៖ សូមមកសាលាឃុំ", "reply")]


def test_a_closed_conversation_takes_no_more_sms(client, app) -> None:
    from portal.services import conversations

    ussd = UssdPhone(client, P6)
    ussd.dial()
    ussd.press("1")
    ussd.press("1")
    ussd.press("4")
    ussd.press("4")
    with app.extensions["db_sessionmaker"]() as session:
        conversation, _ = conversation_of(app, P6)
        conversations.close(session, session.merge(conversation), "officer:test", datetime.now(UTC))
    reply = SmsPhone(client, P6).send("សួស្តី មន្ត្រី")
    assert reply == "Chumnuoy\n1 ខ្មែរ\n2 English"
    assert conversation_of(app, P6)[1] == []
