"""The Twilio sender against a local stand-in of the Twilio REST API (TWILIO_API_BASE_URL), through
E1's outbox delivery; and delivery-status callbacks updating the outbox row."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from flask import Flask, jsonify, request
from sqlalchemy import select
from werkzeug.serving import make_server

from bot.senders import TwilioSender, twilio_sender
from chumnuoy.settings import Settings
from chumnuoy.standins import list_page, new_message
from tests.bot.conftest import P1, P6
from tests.bot.test_sms import twilio_post


@pytest.fixture
def twilio_stand_in():
    received: list[dict[str, str]] = []
    script: list[tuple[int, dict, dict]] = []
    app = Flask("twilio-stand-in")

    records: list[dict] = []  # accepted messages, listed by GET like Twilio (chumnuoy.standins.list_page)

    @app.post("/2010-04-01/Accounts/<sid>/Messages.json")
    def messages(sid: str):  # type: ignore[no-untyped-def]
        received.append({"sid": sid, "auth": request.authorization.username if request.authorization else "",
                         **request.form.to_dict()})
        status, body, headers = script.pop(0) if script else (201, {"sid": f"SM{len(received)}"}, {})
        if 200 <= status < 300 and body.get("sid"):
            records.append({**new_message(sid, request.form.to_dict()), "sid": body["sid"]})
        return jsonify(body), status, headers

    @app.get("/2010-04-01/Accounts/<sid>/Messages.json")
    def list_messages(sid: str):  # type: ignore[no-untyped-def]
        status, body = list_page(records, request.path, request.args.to_dict())
        return jsonify(body), status

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", received, script
    server.shutdown()


def settings_for(url: str) -> Settings:
    return replace(Settings(), twilio_account_sid="AC123", twilio_auth_token="tok", twilio_from="+15550001",
                   twilio_api_base_url=url, public_base_url="https://chumnuoy.example.org")


def test_sender_maps_twilio_answers(twilio_stand_in, db_session) -> None:
    from portal.services import outbox

    url, received, script = twilio_stand_in
    sender = TwilioSender(settings_for(url))
    message = outbox.enqueue(db_session, channel="sms", address=P6, text="សួស្តី", kind="reply")
    db_session.commit()
    ok = sender.send(message)
    assert ok.ok and ok.provider_id == "SM1"
    assert received[0]["To"] == P6 and received[0]["Body"] == "សួស្តី" and received[0]["auth"] == "AC123"
    assert received[0]["StatusCallback"] == "https://chumnuoy.example.org/channels/sms/twilio/status"
    script += [(400, {"code": 21610, "message": "unsubscribed"}, {}),
               (429, {"code": 20429}, {"Retry-After": "7"}), (400, {"code": 21211}, {}), (503, {}, {})]
    stopped = sender.send(message)
    assert stopped.opted_out and stopped.permanent_failure
    throttled = sender.send(message)
    assert not throttled.ok and throttled.retry_after == 7 and not throttled.permanent_failure
    assert sender.send(message).permanent_failure
    transient = sender.send(message)
    assert not transient.ok and not transient.permanent_failure


def test_factory_needs_an_account() -> None:
    assert twilio_sender(replace(settings_for("http://x"), twilio_from="")) is None
    assert isinstance(twilio_sender(settings_for("http://x")), TwilioSender)


def test_outbox_delivery_then_status_callback(twilio_stand_in, client, app) -> None:
    from portal.models.cases import OutboxMessage
    from portal.services import outbox

    url, received, _script = twilio_stand_in
    sender = TwilioSender(settings_for(url))
    with app.extensions["db_sessionmaker"]() as session:
        message = outbox.enqueue(session, channel="sms", address=P1, text="ដំណឹង", kind="status")
        session.commit()
        outbox.deliver_one(session, message.id, sender, now=datetime.now(UTC))
        session.commit()
        sent = session.get(OutboxMessage, message.id)
        assert sent.status == "sent" and sent.provider_id == "SM1"
    form = {"MessageSid": "SM1", "MessageStatus": "delivered", "To": P1}
    assert twilio_post(client, "/channels/sms/twilio/status", form).status_code == 204
    with app.extensions["db_sessionmaker"]() as session:
        assert session.scalars(select(OutboxMessage.delivery_status)).one() == "delivered"
    assert received


def test_find_sent_lists_through_the_twilio_library(twilio_stand_in, db_session) -> None:
    """What a takeover asks after a crash (issue #8): our messages to that number, with that text."""
    from portal.services import outbox

    url, received, _script = twilio_stand_in
    sender = TwilioSender(settings_for(url))
    since = datetime.now(UTC)
    message = outbox.enqueue(db_session, channel="sms", address=P6, text="ដំណឹង A", kind="status")
    other = outbox.enqueue(db_session, channel="sms", address=P1, text="ដំណឹង A", kind="status")
    db_session.commit()
    assert sender.find_sent(message, since) == []
    assert sender.send(other).ok and sender.send(message).ok
    assert sender.find_sent(message, since) == [f"SM{len(received)}"]
    assert sender.find_sent(other, since) == [f"SM{len(received) - 1}"]
