"""Flood and guessing limits on the citizen channels (SPEC §14), on top of the identity limits of
portal/services/identity.py (DOB lockout per person, DOB attempts per address, one-time codes per
target and per requester).

- Per channel address: at most FLOOD_LIMITS messages (SMS) or sessions (USSD: a session is counted
  once, at its first answer — the dial only reads, and walking the menus costs nothing) in the window.
  Past it the sender gets one polite answer in their language, then silence (SMS) or the same short
  screen (USSD) until the window ends. Counters: portal/services/ratelimit.py (SQL, or Redis with
  REDIS_URL); keys are hashes.
- Complaint numbers: at most LOOKUP_LIMIT failed status lookups (unknown or mistyped reference) per
  address in the window; past it every lookup, right or wrong, gets the same "too many" answer, so
  guessing references cannot be turned into a list of cases.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from chumnuoy.i18n import translate
from portal.services.ratelimit import hashed_key, rate_limiter_for

FLOOD_LIMITS = {"sms": (30, timedelta(minutes=10)), "ussd": (20, timedelta(minutes=10))}
"""The app may override them with `app.config["CHUMNUOY_FLOOD_LIMITS"]` (a channel left out is not
limited: the screen-budget crawler of the tests dials hundreds of sessions from one phone)."""
LOOKUP_LIMIT = (10, timedelta(hours=1))

MSG_FLOOD = "Too many messages. Please wait a few minutes and try again."
MSG_LOOKUPS = "Too many complaint numbers tried. Try again after one hour."
MSGIDS = (MSG_FLOOD, MSG_LOOKUPS)


Limits = dict[str, tuple[int, timedelta]]


def flood_count(session: Session, redis_url: str, channel: str, address: str, now: datetime,
                limits: Limits = FLOOD_LIMITS) -> int:
    """Count one message (or USSD session) from `address`; the count in the window so far."""
    limit, window = limits[channel]
    limiter = rate_limiter_for(session, redis_url)
    key = hashed_key("flood", channel, address)
    limiter.hit(key, limit=limit, window=window, now=now)
    return limiter.peek(key, window=window, now=now)


def over_flood_limit(count: int, channel: str, limits: Limits = FLOOD_LIMITS) -> bool:
    return count > limits[channel][0]


def language_of(session: Session, channel: str, address: str) -> str:
    from portal.models.citizen import ChannelIdentity

    language = session.scalar(select(ChannelIdentity.language).where(
        ChannelIdentity.channel == channel, ChannelIdentity.address == address))
    return language if language in ("km", "en") else "km"


def flood_text(session: Session, channel: str, address: str) -> str:
    return translate(language_of(session, channel, address), MSG_FLOOD)


def lookups_exhausted(session: Session, redis_url: str, channel: str, address: str, now: datetime) -> bool:
    limit, window = LOOKUP_LIMIT
    limiter = rate_limiter_for(session, redis_url)
    return limiter.peek(hashed_key("lookup", channel, address), window=window, now=now) >= limit


def count_failed_lookup(session: Session, redis_url: str, channel: str, address: str, now: datetime) -> None:
    limit, window = LOOKUP_LIMIT
    rate_limiter_for(session, redis_url).hit(hashed_key("lookup", channel, address), limit=limit,
                                             window=window, now=now)
