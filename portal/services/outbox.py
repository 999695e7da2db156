"""The outbox: every outbound message is a row first (SPEC §10); the worker delivers it.

- `enqueue(...)` adds the row; the caller commits it together with whatever caused it, so a message
  exists exactly when its cause does.
- `deliver_due(...)` (the worker job): takes tokens from the channel's token bucket, claims due rows
  so two workers never send the same one, sends outside any transaction, then records the outcome:
  sent (provider id), retry with exponential backoff (or the provider's Retry-After), failed after
  `max_attempts` or on a permanent error, opted out on a carrier block (the citizen's identity is
  marked through portal.services.identity.mark_opted_out).
- Claiming: PostgreSQL selects with FOR UPDATE SKIP LOCKED; every backend then flips the row with a
  conditional UPDATE (… WHERE id = :id AND status = 'pending'), which alone is atomic on SQLite.
  A row left in `sending` by a killed worker is claimable again after `lease`; each row's lease is
  renewed just before its own send, so a long batch never outlives it.
- Takeover (issue #8): the previous holder may have reached the provider before it died, so a row taken
  over from `sending` is first reconciled: a sender with `find_sent` (Twilio) is asked what went out
  since the row became due; a match not yet recorded on another row is recorded as `sent` (its provider
  id) without sending again; if the provider cannot be asked, the row waits another lease (never resent
  blindly). A sender without `find_sent` is resent: the generic gateway dedupes by the outbox id
  (`Idempotency-Key`); Telegram may show that one message twice. `sent` is committed right after each
  provider answer, one message at a time.
- Rate limits: one token bucket per channel in the database (`outbox_rate_buckets`), shared by all
  workers, updated optimistically (version column). A Redis bucket can replace it later.
- Opt-outs: before sending, `identity.may_send` is checked for the address (carrier block stops
  everything; the in-app opt-out stops notifications but not replies or codes); such rows become
  `opted_out` / `suppressed` without being sent.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chumnuoy import metrics
from portal import wakeup
from portal.models.base import utcnow
from portal.models.cases import OutboxMessage, RateBucket
from portal.services.senders import LookupFailed, Sender, SendResult
from portal.services.working_time import aware_utc

log = logging.getLogger("chumnuoy.outbox")

CHANNELS = ("sms", "telegram")
KINDS = ("reply", "status", "reminder", "otp", "alert", "notice")


def enqueue(session: Session, *, channel: str, address: str, text: str, kind: str, locale: str = "km",
            identity_id: int | None = None, grievance_id: int | None = None, dedupe_key: str | None = None,
            now: datetime | None = None) -> OutboxMessage:
    """Add one outbound message (the caller commits). With `dedupe_key`, an existing row with the same
    key is returned instead of adding a second one."""
    if channel not in CHANNELS:
        raise ValueError(f"outbox channel must be one of {CHANNELS}, not {channel!r}")
    if kind not in KINDS:
        raise ValueError(f"outbox kind must be one of {KINDS}, not {kind!r}")
    if not address or not text:
        raise ValueError("an outbox message needs an address and a text")
    if dedupe_key is not None:
        existing = session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    moment = aware_utc(now) if now else utcnow()
    message = OutboxMessage(channel=channel, address=address, text=text, kind=kind, locale=locale,
                            identity_id=identity_id, grievance_id=grievance_id, dedupe_key=dedupe_key,
                            status="pending", attempts=0, next_attempt_at=moment, created_at=moment)
    session.add(message)
    wakeup.after_commit(session, "outbox")  # with REDIS_URL, a worker is woken once this commits
    return message


@dataclass(frozen=True)
class RateLimit:
    per_second: float
    burst: float


@dataclass(frozen=True)
class DeliveryPolicy:
    max_attempts: int = 8
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=5)
    """A row in `sending` longer than this belongs to a dead worker and is claimed again."""
    rates: Mapping[str, RateLimit] = field(default_factory=lambda: {
        "sms": RateLimit(10.0, 20.0), "telegram": RateLimit(25.0, 30.0)})

    def backoff(self, attempts: int) -> timedelta:
        """30 s, 60 s, 120 s, … capped at an hour (attempts = tries made so far, ≥ 1)."""
        return min(self.max_delay, self.base_delay * (2 ** max(0, attempts - 1)))


# ---------------------------------------------------------------- rate limits

def take_tokens(session: Session, channel: str, wanted: int, now: datetime, limit: RateLimit) -> int:
    """Take up to `wanted` whole tokens from the channel's bucket; returns how many were granted."""
    now = aware_utc(now)
    for _ in range(10):
        bucket = session.get(RateBucket, channel, populate_existing=True)
        if bucket is None:
            session.add(RateBucket(channel=channel, tokens=limit.burst, updated_at=now, version=0))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
            continue
        last = aware_utc(bucket.updated_at)
        elapsed = max(0.0, (now - last).total_seconds())
        tokens = min(limit.burst, bucket.tokens + elapsed * limit.per_second)
        granted = max(0, min(wanted, int(tokens)))
        result = session.execute(
            update(RateBucket)
            .where(RateBucket.channel == channel, RateBucket.version == bucket.version)
            .values(tokens=tokens - granted, updated_at=max(now, last), version=bucket.version + 1)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        if result.rowcount == 1:
            return granted
    return 0


# ---------------------------------------------------------------- claiming

class ClaimedIds(list[int]):
    """Claimed message ids; `taken_over` holds those taken from an expired `sending` lease."""

    taken_over: frozenset[int] = frozenset()


def claim(session: Session, *, worker_id: str, now: datetime, channel: str, limit: int,
          lease: timedelta = DeliveryPolicy.lease) -> ClaimedIds:
    """Mark up to `limit` due messages of `channel` as `sending` by this worker; returns their ids."""
    now = aware_utc(now)
    if limit <= 0:
        return ClaimedIds()
    due = or_(
        (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now),
        (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < now - lease),
    )
    query = (select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.claimed_by)
             .where(OutboxMessage.channel == channel, due)
             .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    candidates = session.execute(query).all()
    claimed = ClaimedIds()
    taken_over: set[int] = set()
    for message_id, status, claimed_by in candidates:
        condition = [OutboxMessage.id == message_id, OutboxMessage.status == status]
        if status == "sending":
            condition.append(OutboxMessage.claimed_by == claimed_by)
        result = session.execute(
            update(OutboxMessage).where(*condition)
            .values(status="sending", claimed_by=worker_id, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            claimed.append(message_id)
            if status == "sending":
                taken_over.add(message_id)
    session.commit()
    claimed.taken_over = frozenset(taken_over)
    return claimed


# ---------------------------------------------------------------- delivery

def _permission(session: Session, message: OutboxMessage) -> str | None:
    """None when the message may go out, else the status to record (opted_out / suppressed)."""
    try:
        from portal.models.citizen import ChannelIdentity
        from portal.services.identity import may_send
    except ImportError:  # the citizen side is not installed
        return None
    channels = ("sms", "ussd") if message.channel == "sms" else (message.channel,)
    identities = session.scalars(select(ChannelIdentity).where(
        ChannelIdentity.address == message.address, ChannelIdentity.channel.in_(channels))).all()
    for identity in identities:
        if identity.carrier_blocked:
            return "opted_out"
        if not may_send(identity, message.kind):
            return "suppressed"
    return None


def _mark_opted_out(session: Session, message: OutboxMessage, now: datetime) -> bool:
    """Tell the identity service the carrier blocked us; False when that hook is absent."""
    try:
        from portal.services.identity import mark_opted_out
    except ImportError:
        return False
    mark_opted_out(session, message.channel, message.address, "carrier", now)
    return True


def _record(session: Session, message: OutboxMessage, result: SendResult, now: datetime,
            policy: DeliveryPolicy) -> None:
    message.attempts += 1
    message.claimed_by = None
    if result.ok:
        message.status, message.sent_at, message.provider_id = "sent", now, result.provider_id
        message.last_error = None
        return
    message.last_error = (result.error or "send failed")[:2000]
    if result.opted_out:
        message.status = "opted_out"
        if not _mark_opted_out(session, message, now):
            message.last_error += " (identity hook missing: opt-out recorded on this message only)"
        return
    if result.permanent_failure or message.attempts >= policy.max_attempts:
        message.status = "failed"
        return
    delay = policy.backoff(message.attempts)
    if result.retry_after is not None:
        delay = max(delay, timedelta(seconds=result.retry_after))
    message.status, message.next_attempt_at = "pending", now + delay


def _reconcile(session: Session, message: OutboxMessage, sender: Sender, now: datetime,
               policy: DeliveryPolicy) -> bool:
    """For a row taken over from a dead worker: True when the provider's answer settled it (found and
    recorded as sent, or unknown and left for later), False when it must be sent now."""
    find_sent = getattr(sender, "find_sent", None)
    if find_sent is None:
        return False
    try:
        found = find_sent(message, aware_utc(message.next_attempt_at))
    except LookupFailed as error:
        message.attempts += 1
        message.last_error = f"takeover: provider lookup failed ({error}); not resent blindly"
        if message.attempts >= policy.max_attempts:
            message.status, message.claimed_by = "failed", None
            message.last_error += "; gave up: delivery unknown"
        else:  # stays `sending` with no holder: taken over (and reconciled) again after a lease
            message.claimed_by, message.claimed_at = None, now
        return True
    if found:
        recorded = set(session.scalars(select(OutboxMessage.provider_id).where(
            OutboxMessage.provider_id.in_(found), OutboxMessage.id != message.id)))
        provider_id = next((sid for sid in found if sid not in recorded), None)
        if provider_id is not None:
            _record(session, message, SendResult(ok=True, provider_id=provider_id), now, policy)
            return True
    return False


def deliver_claimed(session: Session, message_ids: list[int], sender: Sender, *, worker_id: str,
                    policy: DeliveryPolicy, now: datetime | None = None,
                    taken_over: Collection[int] | None = None) -> int:
    """Send claimed messages one by one; each outcome is committed on its own. `taken_over` (default:
    `message_ids.taken_over` of a `claim`) are reconciled with the provider before any resend."""
    if taken_over is None:
        taken_over = getattr(message_ids, "taken_over", frozenset())
    handled = 0
    for message_id in message_ids:
        message = session.get(OutboxMessage, message_id, populate_existing=True)
        if message is None or message.status != "sending" or message.claimed_by != worker_id:
            continue  # our lease expired and someone else took it
        refused = _permission(session, message)
        if refused:
            message.status, message.claimed_by = refused, None
            message.last_error = "recipient opted out" if refused == "opted_out" else "notifications off"
            session.commit()
            metrics.outbox_outcome(message.channel, refused)
            handled += 1
            continue
        moment = aware_utc(now) if now else utcnow()
        renewed = session.execute(  # renew this row's lease: a batch may have taken a while to reach it
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == "sending",
                   OutboxMessage.claimed_by == worker_id)
            .values(claimed_at=moment).execution_options(synchronize_session=False)
        )
        session.commit()  # no transaction (and no row lock) held while talking to the provider
        if renewed.rowcount != 1:
            continue
        if message_id in taken_over and _reconcile(session, message, sender, moment, policy):
            session.commit()
            outcome = "pending" if message.status == "sending" else message.status  # unknown yet: a retry
            metrics.outbox_outcome(message.channel, outcome)
            log.info("outbox message %s via %s taken over: %s after provider lookup (attempt %d)",
                     message_id, message.channel, message.status, message.attempts)
            handled += 1
            continue
        try:
            result = sender.send(message)
        except Exception as error:  # a buggy sender must not kill the worker loop
            log.exception("outbox: sender raised for message %s", message_id)
            result = SendResult(ok=False, error=f"{type(error).__name__}: {error}")
        message = session.get(OutboxMessage, message_id, populate_existing=True)
        if message is None or message.claimed_by != worker_id:
            session.rollback()
            continue
        _record(session, message, result, aware_utc(now) if now else utcnow(), policy)
        session.commit()
        metrics.outbox_outcome(message.channel, message.status)
        log.info("outbox message %s via %s: %s (attempt %d)", message_id, message.channel, message.status,
                 message.attempts)
        handled += 1
    return handled


def deliver_due(session: Session, senders: Mapping[str, Sender], *, worker_id: str,
                policy: DeliveryPolicy | None = None, now: datetime | None = None, batch: int = 50) -> int:
    """One round of the delivery job over every channel that has a sender; returns messages handled."""
    policy = policy or DeliveryPolicy()
    moment = aware_utc(now) if now else utcnow()
    handled = 0
    for channel, sender in senders.items():
        limit = policy.rates.get(channel)
        allowed = take_tokens(session, channel, batch, moment, limit) if limit else batch
        ids = claim(session, worker_id=worker_id, now=moment, channel=channel, limit=allowed,
                    lease=policy.lease)
        handled += deliver_claimed(session, ids, sender, worker_id=worker_id, policy=policy, now=now,
                                   taken_over=ids.taken_over)
    return handled


def deliver_one(session: Session, message_id: int, sender: Sender, *, worker_id: str = "inline",
                policy: DeliveryPolicy | None = None, now: datetime | None = None) -> OutboxMessage | None:
    """Try one just-enqueued message at once (a fast path); the worker retries it if this fails."""
    moment = aware_utc(now) if now else utcnow()
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "pending")
        .values(status="sending", claimed_by=worker_id, claimed_at=moment)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if result.rowcount != 1:
        return session.get(OutboxMessage, message_id)
    deliver_claimed(session, [message_id], sender, worker_id=worker_id, policy=policy or DeliveryPolicy(),
                    now=now)
    return session.get(OutboxMessage, message_id)
