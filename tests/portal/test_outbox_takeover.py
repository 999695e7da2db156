"""Issue #8: a worker that dies between the provider's acceptance and its `sent` commit must not cause a
second delivery. The crash is simulated exactly there (the sender raises SystemExit once the HTTP call
has returned); another worker takes the row over after the lease and reconciles with the provider:
Twilio through the twilio library's Messages list against the local stand-in, the generic gateway
through its idempotency key."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy.orm import Session

from bot.senders import TwilioSender
from chumnuoy.settings import Settings
from chumnuoy.standins import TwilioStandIn
from portal.models.base import utcnow
from portal.models.cases import OutboxMessage
from portal.services import outbox
from portal.services.senders import HttpJsonSender, SendResult

POLICY = outbox.DeliveryPolicy(rates={}, lease=timedelta(seconds=30))
FROM = "+85523000000"
TO = "+85512000001"


class CrashAfterSend:
    """Calls the real sender, then dies as a kill -9 would: before the outbox can record the answer."""

    def __init__(self, sender: Any) -> None:
        self.sender = sender
        self.answers: list[SendResult] = []

    def send(self, message: OutboxMessage) -> SendResult:
        self.answers.append(self.sender.send(message))
        raise SystemExit("killed between the provider's answer and the commit")


class CrashBeforeSend:
    def send(self, message: OutboxMessage) -> SendResult:
        raise SystemExit("killed before reaching the provider")


@pytest.fixture
def twilio() -> Iterator[TwilioStandIn]:
    with TwilioStandIn() as stand_in:
        yield stand_in


def twilio_sender(url: str) -> TwilioSender:
    settings = replace(Settings(), twilio_account_sid="AC" + "1" * 32, twilio_auth_token="tok",
                       twilio_from=FROM, twilio_api_base_url=url, public_base_url="https://example.org")
    return TwilioSender(settings)


def enqueue(session: Session, text: str, address: str = TO) -> int:
    message = outbox.enqueue(session, channel="sms", address=address, text=text, kind="status")
    session.commit()
    return message.id


def crash_while_sending(session: Session, sender: Any) -> None:
    with pytest.raises(SystemExit):
        outbox.deliver_due(session, {"sms": sender}, worker_id="worker-a", policy=POLICY)
    session.rollback()


def take_over(session: Session, sender: Any) -> int:
    later = utcnow() + POLICY.lease + timedelta(seconds=1)
    return outbox.deliver_due(session, {"sms": sender}, worker_id="worker-b", policy=POLICY, now=later)


def row(session: Session, message_id: int) -> OutboxMessage:
    found = session.get(OutboxMessage, message_id, populate_existing=True)
    assert found is not None
    return found


def test_twilio_takeover_after_crash_past_the_provider_sends_nothing_again(db_session, twilio) -> None:
    message_id = enqueue(db_session, "សំណើរបស់អ្នក GR-7Q2K ត្រូវបានទទួល")
    crashing = CrashAfterSend(twilio_sender(twilio.url))
    crash_while_sending(db_session, crashing)
    assert crashing.answers[0].ok and len(twilio.sids()) == 1
    stuck = row(db_session, message_id)
    assert stuck.status == "sending" and stuck.claimed_by == "worker-a" and stuck.provider_id is None

    # before the lease expires nobody touches it
    assert outbox.deliver_due(db_session, {"sms": twilio_sender(twilio.url)}, worker_id="worker-b",
                              policy=POLICY) == 0
    assert take_over(db_session, twilio_sender(twilio.url)) == 1

    assert twilio.list_requests >= 1, "the takeover asked Twilio what went out"
    assert len(twilio.messages()) == 1, "the stand-in received the message exactly once"
    done = row(db_session, message_id)
    assert done.status == "sent" and done.claimed_by is None
    assert done.provider_id == twilio.sids()[0] == crashing.answers[0].provider_id
    assert done.attempts == 1


def test_twilio_takeover_after_crash_before_the_provider_sends_once(db_session, twilio) -> None:
    message_id = enqueue(db_session, "ការរំលឹក៖ ការណាត់ជួបថ្ងៃស្អែក")
    crash_while_sending(db_session, CrashBeforeSend())
    assert twilio.messages() == []
    assert take_over(db_session, twilio_sender(twilio.url)) == 1
    assert twilio.list_requests >= 1
    assert twilio.messages() == [(TO, "ការរំលឹក៖ ការណាត់ជួបថ្ងៃស្អែក")]
    done = row(db_session, message_id)
    assert done.status == "sent" and done.provider_id == twilio.sids()[0]


def test_twilio_takeover_does_not_claim_an_identical_message_of_another_row(db_session, twilio) -> None:
    """Same recipient, same text, already sent for an earlier row: not proof that this row went out."""
    text = "ស្ថានភាពពាក្យបណ្តឹងរបស់អ្នកបានផ្លាស់ប្តូរ"
    first = enqueue(db_session, text)
    assert outbox.deliver_due(db_session, {"sms": twilio_sender(twilio.url)}, worker_id="worker-a",
                              policy=POLICY) == 1
    second = enqueue(db_session, text)
    crash_while_sending(db_session, CrashBeforeSend())
    assert take_over(db_session, twilio_sender(twilio.url)) == 1
    assert twilio.messages() == [(TO, text), (TO, text)]
    assert row(db_session, first).provider_id == twilio.sids()[0]
    assert row(db_session, second).provider_id == twilio.sids()[1]


def test_twilio_takeover_waits_when_the_provider_cannot_be_asked(db_session, twilio) -> None:
    message_id = enqueue(db_session, "លេខកូដ 4821")
    crash_while_sending(db_session, CrashAfterSend(twilio_sender(twilio.url)))
    dead = twilio_sender("http://127.0.0.1:9")  # nothing listens: the lookup fails
    assert take_over(db_session, dead) == 1
    waiting = row(db_session, message_id)
    assert waiting.status == "sending" and waiting.claimed_by is None and waiting.attempts == 1
    assert "lookup failed" in (waiting.last_error or "")
    assert len(twilio.messages()) == 1, "not resent while the provider could not be asked"
    # a later takeover with the provider reachable settles it without a second copy
    later = utcnow() + 2 * POLICY.lease + timedelta(seconds=2)
    assert outbox.deliver_due(db_session, {"sms": twilio_sender(twilio.url)}, worker_id="worker-c",
                              policy=POLICY, now=later) == 1
    assert len(twilio.messages()) == 1
    done = row(db_session, message_id)
    assert done.status == "sent" and done.provider_id == twilio.sids()[0]


def test_stand_in_serves_twilio_list_paging_and_filters(twilio) -> None:
    """The twilio library itself pages through the stand-in's list (next_page_uri) and filters."""
    sender = twilio_sender(twilio.url)
    for i in range(7):
        message = OutboxMessage(id=i + 1, channel="sms", address=TO if i % 2 == 0 else "+85512000002",
                                text=f"msg {i}", kind="status")
        assert sender.send(message).ok
    client = sender._twilio()
    messages = client.api.v2010.accounts(sender.account_sid).messages
    everything = messages.list(page_size=3)
    assert [m.body for m in everything] == [f"msg {i}" for i in reversed(range(7))]
    to_first = messages.list(to=TO, from_=FROM, page_size=2)
    assert [m.body for m in to_first] == ["msg 6", "msg 4", "msg 2", "msg 0"]
    assert all(m.to == TO and m.from_ == FROM and m.date_created.tzinfo for m in to_first)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert messages.list(to=TO, date_sent_after=tomorrow) == []
    assert len(messages.list(to=TO, date_sent_after=datetime.now(UTC) - timedelta(days=1))) == 4
    assert messages.list(from_="+10000000000") == []


@dataclass
class IdempotentGateway:
    """A gateway honouring `Idempotency-Key`: a repeated key is answered with the first message's id."""

    url: str = ""
    delivered: list[dict[str, Any]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def idempotent_gateway() -> Iterator[IdempotentGateway]:
    state = IdempotentGateway()
    answered: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            key = self.headers.get("Idempotency-Key") or ""
            with state.lock:
                state.keys.append(key)
                if key not in answered:
                    state.delivered.append(payload)
                    answered[key] = f"gw-{len(state.delivered)}"
                body = json.dumps({"id": answered[key]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/send"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


def test_gateway_takeover_repeats_the_idempotency_key(db_session, idempotent_gateway) -> None:
    message_id = enqueue(db_session, "ពាក្យបណ្តឹង GR-3M8P ត្រូវបានដោះស្រាយ")
    crash_while_sending(db_session, CrashAfterSend(HttpJsonSender(idempotent_gateway.url)))
    assert take_over(db_session, HttpJsonSender(idempotent_gateway.url)) == 1
    assert idempotent_gateway.keys == [str(message_id), str(message_id)]
    assert [p["id"] for p in idempotent_gateway.delivered] == [message_id]
    done = row(db_session, message_id)
    assert done.status == "sent" and done.provider_id == "gw-1"
