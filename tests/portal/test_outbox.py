"""The outbox: delivery over a real HTTP gateway on loopback, retries with backoff, permanent
failures, opt-outs, rate limits, and claiming so that two workers never send the same message."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal.models.cases import OutboxMessage
from portal.models.citizen import ChannelIdentity
from portal.services import outbox
from portal.services.senders import HttpJsonSender
from tests.portal.cases_support import dead_url, gateway  # noqa: F401 (fixture)

NOW = datetime(2026, 4, 6, 2, 0, tzinfo=UTC)
NO_LIMITS = outbox.DeliveryPolicy(rates={})


def add(session: Session, n: int = 1, **fields) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    rows = [
        outbox.enqueue(
            session,
            channel=fields.get("channel", "sms"),
            address=fields.get("address", f"+8551200{i:04d}"),
            text=fields.get("text", f"សួស្តី {i}"),
            kind=fields.get("kind", "status"),
            now=NOW,
        )
        for i in range(n)
    ]
    session.commit()
    return rows


def test_enqueue_validates_and_dedupes(db_session):
    with pytest.raises(ValueError):
        outbox.enqueue(db_session, channel="ussd", address="+85512000101", text="x", kind="status")
    with pytest.raises(ValueError):
        outbox.enqueue(db_session, channel="sms", address="+85512000101", text="x", kind="spam")
    first = outbox.enqueue(
        db_session, channel="sms", address="+85512000101", text="x", kind="otp", dedupe_key="k1"
    )
    db_session.commit()
    again = outbox.enqueue(
        db_session, channel="sms", address="+85512000101", text="y", kind="otp", dedupe_key="k1"
    )
    assert again.id == first.id
    assert len(db_session.scalars(select(OutboxMessage)).all()) == 1


def test_delivery_posts_the_message_and_records_the_provider_id(db_session, gateway):  # noqa: F811
    (message,) = add(db_session, text="បណ្តឹង 12345674៖ បានទទួល", address="+85512000101")
    handled = outbox.deliver_due(
        db_session, {"sms": HttpJsonSender(gateway.url)}, worker_id="w1", policy=NO_LIMITS, now=NOW
    )
    assert handled == 1
    assert gateway.received == [
        {
            "id": message.id,
            "channel": "sms",
            "to": "+85512000101",
            "text": "បណ្តឹង 12345674៖ បានទទួល",
            "kind": "status",
            "locale": "km",
        }
    ]
    db_session.refresh(message)
    assert (message.status, message.provider_id, message.attempts) == ("sent", "prov-1", 1)
    assert (
        outbox.deliver_due(
            db_session,
            {"sms": HttpJsonSender(gateway.url)},
            worker_id="w1",
            policy=NO_LIMITS,
            now=NOW + timedelta(hours=1),
        )
        == 0
    )


def test_transient_failures_retry_with_exponential_backoff_then_succeed(db_session, gateway):  # noqa: F811
    gateway.answer(500, {"error": "busy"}, times=2)
    (message,) = add(db_session)
    sender = {"sms": HttpJsonSender(gateway.url)}
    outbox.deliver_due(db_session, sender, worker_id="w1", policy=NO_LIMITS, now=NOW)
    db_session.refresh(message)
    assert (message.status, message.attempts) == ("pending", 1)
    assert message.next_attempt_at.replace(tzinfo=UTC) == NOW + timedelta(seconds=30)
    # not due yet: nothing is sent
    assert (
        outbox.deliver_due(
            db_session, sender, worker_id="w1", policy=NO_LIMITS, now=NOW + timedelta(seconds=29)
        )
        == 0
    )
    outbox.deliver_due(db_session, sender, worker_id="w1", policy=NO_LIMITS, now=NOW + timedelta(seconds=30))
    db_session.refresh(message)
    assert (message.status, message.attempts) == ("pending", 2)
    assert message.next_attempt_at.replace(tzinfo=UTC) == NOW + timedelta(seconds=30 + 60)
    outbox.deliver_due(db_session, sender, worker_id="w1", policy=NO_LIMITS, now=NOW + timedelta(seconds=90))
    db_session.refresh(message)
    assert (message.status, message.attempts, message.last_error) == ("sent", 3, None)
    assert len(gateway.received) == 3


def test_gateway_down_is_transient_and_gives_up_after_max_attempts(db_session):
    (message,) = add(db_session)
    policy = outbox.DeliveryPolicy(max_attempts=3, rates={})
    sender = {"sms": HttpJsonSender(dead_url(), timeout=1.0)}
    moment = NOW
    for _ in range(3):
        outbox.deliver_due(db_session, sender, worker_id="w1", policy=policy, now=moment)
        moment += timedelta(hours=2)
    db_session.refresh(message)
    assert (message.status, message.attempts) == ("failed", 3)


def test_retry_after_is_honoured(db_session, gateway):  # noqa: F811
    gateway.answer(429, {"error": "slow down"}, {"Retry-After": "600"})
    (message,) = add(db_session)
    outbox.deliver_due(
        db_session, {"sms": HttpJsonSender(gateway.url)}, worker_id="w1", policy=NO_LIMITS, now=NOW
    )
    db_session.refresh(message)
    assert message.next_attempt_at.replace(tzinfo=UTC) == NOW + timedelta(seconds=600)


def test_permanent_failure_is_not_retried(db_session, gateway):  # noqa: F811
    gateway.answer(400, {"error": {"code": "invalid_number"}})
    (message,) = add(db_session)
    outbox.deliver_due(
        db_session, {"sms": HttpJsonSender(gateway.url)}, worker_id="w1", policy=NO_LIMITS, now=NOW
    )
    outbox.deliver_due(
        db_session,
        {"sms": HttpJsonSender(gateway.url)},
        worker_id="w1",
        policy=NO_LIMITS,
        now=NOW + timedelta(days=1),
    )
    db_session.refresh(message)
    assert (message.status, message.attempts) == ("failed", 1)
    assert len(gateway.received) == 1


def test_carrier_block_marks_the_citizen_opted_out_and_later_sends_are_skipped(db_session, gateway):  # noqa: F811
    gateway.answer(400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient"})
    first, second = add(db_session, 2, address="+85512000105")
    sender = {"sms": HttpJsonSender(gateway.url)}
    outbox.deliver_due(db_session, sender, worker_id="w1", policy=NO_LIMITS, now=NOW, batch=1)
    db_session.refresh(first)
    assert first.status == "opted_out"
    identity = db_session.scalar(select(ChannelIdentity).where(ChannelIdentity.address == "+85512000105"))
    assert identity is not None and identity.carrier_blocked
    outbox.deliver_due(db_session, sender, worker_id="w1", policy=NO_LIMITS, now=NOW)
    db_session.refresh(second)
    assert second.status == "opted_out"
    assert len(gateway.received) == 1  # the second was never sent


def test_in_app_opt_out_stops_notifications_but_not_replies(db_session, gateway):  # noqa: F811
    from portal.services.identity import mark_opted_out

    mark_opted_out(db_session, "sms", "+85512000102", "notifications", NOW)
    db_session.commit()
    (status,) = add(db_session, address="+85512000102", kind="status")
    (reply,) = add(db_session, address="+85512000102", kind="reply")
    outbox.deliver_due(
        db_session, {"sms": HttpJsonSender(gateway.url)}, worker_id="w1", policy=NO_LIMITS, now=NOW
    )
    db_session.refresh(status)
    db_session.refresh(reply)
    assert (status.status, reply.status) == ("suppressed", "sent")
    assert [r["id"] for r in gateway.received] == [reply.id]


def test_token_bucket_limits_each_channel_across_rounds(db_session, gateway):  # noqa: F811
    add(db_session, 10)
    policy = outbox.DeliveryPolicy(rates={"sms": outbox.RateLimit(per_second=2.0, burst=3.0)})
    sender = {"sms": HttpJsonSender(gateway.url)}
    assert outbox.deliver_due(db_session, sender, worker_id="w1", policy=policy, now=NOW) == 3
    assert outbox.deliver_due(db_session, sender, worker_id="w1", policy=policy, now=NOW) == 0
    assert (
        outbox.deliver_due(db_session, sender, worker_id="w1", policy=policy, now=NOW + timedelta(seconds=1))
        == 2
    )
    assert (
        outbox.deliver_due(db_session, sender, worker_id="w1", policy=policy, now=NOW + timedelta(seconds=10))
        == 3
    )
    assert len(gateway.received) == 8


def test_a_row_left_sending_by_a_dead_worker_is_claimed_again_after_the_lease(db_session):
    (message,) = add(db_session)
    assert outbox.claim(db_session, worker_id="dead", now=NOW, channel="sms", limit=5) == [message.id]
    assert (
        outbox.claim(db_session, worker_id="w2", now=NOW + timedelta(minutes=4), channel="sms", limit=5) == []
    )
    assert outbox.claim(
        db_session, worker_id="w2", now=NOW + timedelta(minutes=6), channel="sms", limit=5
    ) == [message.id]


def test_two_concurrent_claimers_never_take_the_same_message(portal_engine):
    factory = sessionmaker(portal_engine, expire_on_commit=False)
    with factory() as session:
        add(session, 60)
    claimed: dict[str, list[int]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)

    def worker(name: str) -> None:
        with factory() as session:
            barrier.wait()
            for _ in range(40):
                claimed[name] += outbox.claim(session, worker_id=name, now=NOW, channel="sms", limit=3)

    threads = [threading.Thread(target=worker, args=(n,)) for n in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not set(claimed["a"]) & set(claimed["b"])
    assert sorted(claimed["a"] + claimed["b"]) == sorted(set(claimed["a"] + claimed["b"]))
    assert len(claimed["a"]) + len(claimed["b"]) == 60


def test_two_concurrent_workers_send_each_message_exactly_once(portal_engine, gateway):  # noqa: F811
    factory = sessionmaker(portal_engine, expire_on_commit=False)
    with factory() as session:
        add(session, 30)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            with factory() as session:
                barrier.wait()
                for _ in range(20):
                    outbox.deliver_due(
                        session,
                        {"sms": HttpJsonSender(gateway.url)},
                        worker_id=name,
                        policy=NO_LIMITS,
                        now=NOW,
                        batch=4,
                    )
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("w1", "w2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    sent_ids = [r["id"] for r in gateway.received]
    assert len(sent_ids) == 30 and len(set(sent_ids)) == 30
    with factory() as session:
        assert {m.status for m in session.scalars(select(OutboxMessage))} == {"sent"}
