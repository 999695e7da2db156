"""Identity and verification of citizens on SMS, USSD and Telegram (SPEC §5).

Levels: 0 anyone; 1 the channel address is linked to a registry person (SMS/USSD: the sender's
MSISDN is a registry phone; Telegram: the user's own shared contact matches, or a one-time code sent
by SMS to the registry phone was typed back); 2 level 1 + date of birth checked. Level 2 lasts for the
USSD session, or 10 minutes of inactivity on SMS/Telegram (`touch` slides it).

How journeys use this module (the only registry calls it makes are marked ⚑):
- `identity_for` / `record_consent` / `set_language` / `mark_opted_out` / `opt_in`: no registry call;
  safe on the language choice and the main menu.
- ⚑ `begin_verification` — call it ONLY when the citizen picks a personal feature (benefits,
  registry eligibility, details): it resolves the address lazily and answers `ask_dob`, or
  `choose_person` when the phone is shared (P8), or `verified` when level 2 still holds.
- `choose_person` (shared phone) → then `check_date_of_birth` ⚑ → `verified` (level 2).
- Telegram: `link_shared_contact` ⚑; otherwise `request_link_code` ⚑ + `confirm_link_code`.
- `verified_person` ⚑ gives the `Person` for a level-2 identity, for the eligibility and
  entitlement services.

Non-disclosure: before level 1 every answer is the same object whether the number/ID is registered or
not (`ask_dob`, `not_matched`, `locked`, `code_requested`), and every path makes the same registry
call, so the timing class is the same. A wrong date of birth for an unregistered number counts
against that address exactly as it counts against a person, so lockouts look the same too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, Update, bindparam, exists, select, update
from sqlalchemy.orm import Session

from chumnuoy.digits import to_ascii_digits
from chumnuoy.settings import get_settings
from portal.models.base import utcnow
from portal.models.citizen import (
    CHANNELS,
    ChannelIdentity,
    ConsentRecord,
    OneTimeCode,
    VerificationLock,
)
from portal.services.ratelimit import RateLimiter, SqlRateLimiter, hashed_key
from portal.services.working_time import aware_utc
from registry_client.types import Person, RegistryPort

LEVEL2_IDLE = timedelta(minutes=10)
MAX_DOB_FAILURES = 5
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
LOCKOUT = timedelta(hours=24)
CODE_TTL = timedelta(minutes=10)
CODE_MAX_ATTEMPTS = 5
OTP_LIMIT_PER_TARGET = (3, timedelta(hours=1))
OTP_LIMIT_PER_REQUESTER = (5, timedelta(hours=1))
DOB_LIMIT_PER_ADDRESS = (10, timedelta(hours=1))
"""Beyond lockouts: at most this many DOB attempts per address per hour, whoever they target."""

StepKind = Literal[
    "share_contact",
    "ask_dob",
    "choose_person",
    "verified",
    "not_matched",
    "locked",
    "invalid_input",
    "code_requested",
    "linked",
    "code_invalid",
    "rate_limited",
]


class NotVerified(Exception):
    """A personal feature was asked for without a valid level 2."""


@dataclass(frozen=True)
class Candidate:
    """One of the people sharing a phone (shown to the phone holder to pick themselves)."""

    number: int
    given_name: str
    given_name_latin: str | None
    birth_year: int | None


@dataclass(frozen=True)
class Step:
    """What the journey shows next. `message` is a msgid of the citizen catalog (portal/i18n)."""

    kind: StepKind
    message: str
    level: int = 0
    candidates: tuple[Candidate, ...] = field(default=())


# msgids (translations in translations/*/LC_MESSAGES/citizen.po)
MSG_ASK_DOB = "Type your date of birth as DDMMYYYY, e.g. 15031986."
MSG_CHOOSE = "Several people use this phone. Type your first name or your year of birth."
MSG_VERIFIED = "Thank you, you are verified."
MSG_NOT_MATCHED = "We could not verify these details. Check and try again."
MSG_LOCKED = "Too many tries. Try again after 24 hours, or ask your commune office."
MSG_INVALID_DOB = "Please type 8 digits: day, month, year. Example: 15031986."
MSG_CODE_REQUESTED = "If this number is registered, a code was sent to its phone by SMS."
MSG_CODE_SMS = "Chumnuoy code: {code}. Valid 10 minutes. Do not share it."
MSG_LINKED = "Your account is linked. Now type your date of birth as DDMMYYYY."
MSG_CODE_INVALID = "This code is wrong or expired."
MSG_NO_CHOICE = "We did not find that name or year. Type your first name or year of birth."
MSG_SHARE_CONTACT = "Press the button to share your phone number, or type your ID card number."
IDENTITY_MSGIDS = (
    MSG_ASK_DOB,
    MSG_CHOOSE,
    MSG_VERIFIED,
    MSG_NOT_MATCHED,
    MSG_LOCKED,
    MSG_INVALID_DOB,
    MSG_CODE_REQUESTED,
    MSG_CODE_SMS,
    MSG_LINKED,
    MSG_CODE_INVALID,
    MSG_NO_CHOICE,
    MSG_SHARE_CONTACT,
)

ASK_DOB = Step("ask_dob", MSG_ASK_DOB)
NOT_MATCHED = Step("not_matched", MSG_NOT_MATCHED)
LOCKED = Step("locked", MSG_LOCKED)
INVALID_DOB = Step("invalid_input", MSG_INVALID_DOB)
CODE_REQUESTED = Step("code_requested", MSG_CODE_REQUESTED)
CODE_INVALID = Step("code_invalid", MSG_CODE_INVALID)
SHARE_CONTACT = Step("share_contact", MSG_SHARE_CONTACT)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes for timezone-aware columns; treat them as UTC."""
    if value is not None and value.tzinfo is None:
        from datetime import UTC

        return value.replace(tzinfo=UTC)
    return value


# ---------------------------------------------------------------- identities (no registry calls)


def identity_for(
    session: Session, channel: str, address: str, now: datetime | None = None
) -> ChannelIdentity:
    """The identity of `address` on `channel`, created on first contact; `last_seen_at` kept to the
    minute (an informational field: updating it on every USSD hop cost a write per hop)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    now = now or utcnow()
    identity = session.scalar(
        select(ChannelIdentity).where(ChannelIdentity.channel == channel, ChannelIdentity.address == address)
    )
    if identity is None:
        identity = ChannelIdentity(
            channel=channel,
            address=address,
            phone=address if channel != "telegram" else None,
            level=0,
            notifications_opted_out=False,
            carrier_blocked=False,
            created_at=now,
            last_seen_at=now,
        )
        session.add(identity)
        session.flush()
    elif identity.last_seen_at is None or (
        aware_utc(now) - aware_utc(identity.last_seen_at) >= LAST_SEEN_RESOLUTION
    ):
        identity.last_seen_at = now  # at most once a minute: a menu hop then writes nothing here
    return identity


@dataclass(frozen=True)
class Glance:
    """What a conversation needs to start (language, consent), read without loading the ORM object."""

    identity_id: int
    language: str | None
    consented: bool


@cache
def glance_columns() -> tuple[ColumnElement[Any], ...]:
    """Scalar subqueries (built once) giving (identity id, language, last_seen_at, consented) of the
    address in `glance_params`: a SELECT of these always returns one row, the id None when the
    address has no identity yet. Callers may add columns of their own to read more in the same query
    (the USSD runner adds its conversation state)."""
    identities, consents = ChannelIdentity.__table__, ConsentRecord.__table__
    channel, address = bindparam("glance_channel"), bindparam("glance_address")

    def of_identity(column: ColumnElement[Any], name: str) -> ColumnElement[Any]:
        return (select(column).where(identities.c.channel == channel, identities.c.address == address)
                .scalar_subquery().label(name))

    consented = exists().where(consents.c.channel == channel, consents.c.address == address,
                               consents.c.wording_version == bindparam("glance_version"))
    return (of_identity(identities.c.id, "glance_id"), of_identity(identities.c.language, "glance_language"),
            of_identity(identities.c.last_seen_at, "glance_seen"), consented.label("glance_consented"))


def glance_params(channel: str, address: str, wording_version: str) -> dict[str, str]:
    return {"glance_channel": channel, "glance_address": address, "glance_version": wording_version}


@cache
def _glance_statement() -> Select[Any]:
    return select(*glance_columns())


@cache
def _touch_statement() -> Update:
    identities = ChannelIdentity.__table__
    return (update(identities).where(identities.c.id == bindparam("identity_id"))
            .values(last_seen_at=bindparam("seen_at")))


def glance_from(session: Session, values: Sequence[Any], now: datetime | None = None) -> Glance | None:
    """The `Glance` of the values read with `glance_columns()` (None: no identity yet), keeping
    `last_seen_at` to the minute as `identity_for` does."""
    identity_id, language, last_seen_at, consented = values
    if identity_id is None:
        return None
    now = now or utcnow()
    if last_seen_at is None or aware_utc(now) - aware_utc(last_seen_at) >= LAST_SEEN_RESOLUTION:
        session.execute(_touch_statement(), {"identity_id": identity_id, "seen_at": now})
    return Glance(identity_id, language, bool(consented))


def glance(session: Session, channel: str, address: str, wording_version: str,
           now: datetime | None = None) -> Glance | None:
    """The language and consent of a known address in one query, without loading the ORM object;
    None when the address has no identity yet (then use `identity_for`)."""
    row = session.execute(_glance_statement(), glance_params(channel, address, wording_version)).one()
    return glance_from(session, row, now)


def set_language(identity: ChannelIdentity, language: str) -> None:
    if language not in ("km", "en"):
        raise ValueError(language)
    identity.language = language


def consent_text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_consent(
    session: Session,
    identity: ChannelIdentity,
    *,
    wording_version: str,
    text: str,
    locale: str,
    now: datetime | None = None,
) -> ConsentRecord:
    """Record that the one-line consent `text` (as shown, in `locale`) was given on this address."""
    record = ConsentRecord(
        identity_id=identity.id,
        channel=identity.channel,
        address=identity.address,
        wording_version=wording_version,
        text_hash=consent_text_hash(text),
        locale=locale,
        recorded_at=now or utcnow(),
    )
    session.add(record)
    return record


def has_consented(session: Session, identity: ChannelIdentity, wording_version: str | None = None) -> bool:
    query = select(ConsentRecord.id).where(
        ConsentRecord.channel == identity.channel, ConsentRecord.address == identity.address
    )
    if wording_version:
        query = query.where(ConsentRecord.wording_version == wording_version)
    return session.scalar(query.limit(1)) is not None


OptOutKind = Literal["notifications", "carrier"]


def mark_opted_out(
    session: Session, channel: str, address: str, kind: OptOutKind, now: datetime | None = None
) -> ChannelIdentity:
    """`notifications`: the in-app ឈប់ (replies continue). `carrier`: Twilio STOP/21610 or Telegram
    403 blocked — nothing is sent to this address until `opt_in(..., "carrier")` (START)."""
    now = now or utcnow()
    identity = identity_for(session, channel, address, now)
    if kind == "notifications":
        identity.notifications_opted_out = True
    elif kind == "carrier":
        identity.carrier_blocked = True
    else:
        raise ValueError(kind)
    identity.opted_out_at = now
    return identity


def opt_in(
    session: Session, channel: str, address: str, kind: OptOutKind, now: datetime | None = None
) -> ChannelIdentity:
    identity = identity_for(session, channel, address, now)
    if kind == "notifications":
        identity.notifications_opted_out = False
    elif kind == "carrier":
        identity.carrier_blocked = False
    else:
        raise ValueError(kind)
    if not identity.notifications_opted_out and not identity.carrier_blocked:
        identity.opted_out_at = None
    return identity


def may_send(identity: ChannelIdentity, message_kind: str) -> bool:
    """Carrier block stops everything; the in-app opt-out stops notifications but not replies/codes."""
    if identity.carrier_blocked:
        return False
    if identity.notifications_opted_out:
        return message_kind in ("reply", "otp")
    return True


# ---------------------------------------------------------------- levels


def current_level(identity: ChannelIdentity, now: datetime, session_id: str | None = None) -> int:
    """1 when linked, 2 while the knowledge check holds (USSD: same session; else not idle 10 min)."""
    if not identity.person_spid:
        return 0
    expires = _aware(identity.level2_expires_at)
    fresh = identity.level >= 2 and expires is not None and now < expires
    same_session = identity.channel != "ussd" or (
        session_id is not None and session_id == identity.level2_session
    )
    return 2 if fresh and same_session else 1


def touch(identity: ChannelIdentity, now: datetime, session_id: str | None = None) -> int:
    """Record activity: a valid level 2 slides its idle expiry forward. Returns the current level."""
    level = current_level(identity, now, session_id)
    if level == 2:
        identity.level2_expires_at = now + LEVEL2_IDLE
    elif identity.level == 2:
        identity.level = 1 if identity.person_spid else 0
        identity.level2_expires_at = None
        identity.level2_session = None
    identity.last_seen_at = now
    return level


def drop_to_level1(identity: ChannelIdentity) -> None:
    identity.level = 1 if identity.person_spid else 0
    identity.level2_expires_at = None
    identity.level2_session = None


def _link(identity: ChannelIdentity, person: Person) -> None:
    """Level 1 for `person`; a level 2 never carries over to another person."""
    if identity.person_spid != person.spid:
        drop_to_level1(identity)
    identity.person_spid = person.spid
    identity.household_id = person.household_id
    identity.pending_candidates = None
    identity.level = max(identity.level, 1)


def _candidates(people: list[Person]) -> tuple[Candidate, ...]:
    return tuple(
        Candidate(i + 1, p.given_name, p.given_name_latin, p.birth_date.year if p.birth_date else None)
        for i, p in enumerate(people)
    )


def _living(people: list[Person]) -> list[Person]:
    return sorted((p for p in people if not p.is_deceased), key=lambda p: p.spid)


# ---------------------------------------------------------------- lazy resolution ⚑


def _people_for_address(registry: RegistryPort, identity: ChannelIdentity) -> list[Person]:
    if identity.channel == "telegram":
        if identity.person_spid and not identity.phone:  # linked by one-time code
            return _living(registry.find_people("SPID", identity.person_spid))
        if not identity.phone:
            return []
    return _living(registry.find_people("MOBILE", identity.phone or identity.address))


def begin_verification(
    session: Session,
    registry: RegistryPort,
    identity: ChannelIdentity,
    now: datetime,
    session_id: str | None = None,
) -> Step:
    """⚑ Lazy resolution: call only when a personal feature is chosen (never on the main menu).

    Registered (one person) and unregistered addresses both get `ask_dob` (identical); a shared
    phone gets `choose_person` with the candidates; a still-valid level 2 gets `verified`."""
    if current_level(identity, now, session_id) == 2:
        touch(identity, now, session_id)
        return Step("verified", MSG_VERIFIED, level=2)
    if identity.channel == "telegram" and not identity.phone and not identity.person_spid:
        # Not linked yet: the journey asks for the shared contact (or an ID number for a code).
        return SHARE_CONTACT
    people = _people_for_address(registry, identity)
    if len(people) > 1:
        if identity.person_spid in {p.spid for p in people} and identity.pending_candidates is None:
            return ASK_DOB  # already chose who they are on this phone
        identity.person_spid = None
        identity.pending_candidates = json.dumps([p.spid for p in people])
        identity.level = 1
        identity.household_id = people[0].household_id
        return Step("choose_person", MSG_CHOOSE, level=1, candidates=_candidates(people))
    if len(people) == 1:
        _link(identity, people[0])
    else:
        identity.person_spid = None
        identity.household_id = None
        identity.level = 0
    return ASK_DOB


def choose_person(session: Session, registry: RegistryPort, identity: ChannelIdentity, answer: str) -> Step:
    """P8: the holder of a shared phone says who they are (first name, birth year or list number)."""
    spids = json.loads(identity.pending_candidates or "[]")
    if not spids:
        return ASK_DOB
    people = _living(registry.find_people("MOBILE", identity.phone or identity.address))
    people = [p for p in people if p.spid in spids]
    text = to_ascii_digits(answer).strip().casefold()
    chosen: list[Person] = []
    if text.isdigit() and len(text) == 4:
        chosen = [p for p in people if p.birth_date and p.birth_date.year == int(text)]
    elif text.isdigit():
        index = int(text) - 1
        chosen = [people[index]] if 0 <= index < len(people) else []
    elif text:
        chosen = [
            p for p in people if text in {p.given_name.casefold(), (p.given_name_latin or "").casefold()}
        ]
    if len(chosen) != 1:
        return Step("choose_person", MSG_NO_CHOICE, level=1, candidates=_candidates(people))
    _link(identity, chosen[0])
    return ASK_DOB


# ---------------------------------------------------------------- knowledge check

_DOB_SEPARATORS = re.compile(r"[\s/.\-]+")


def parse_date_of_birth(text: str, channel: str) -> date | None:
    """DDMMYYYY in ASCII or Khmer digits; separators (`15/03/1986`, `15-3-1986`) on SMS/Telegram."""
    raw = to_ascii_digits(text).strip()
    if channel != "ussd" and _DOB_SEPARATORS.search(raw):
        parts = [p for p in _DOB_SEPARATORS.split(raw) if p]
        if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[2]) != 4:
            return None
        raw = f"{int(parts[0]):02d}{int(parts[1]):02d}{parts[2]}"
    if len(raw) != 8 or not raw.isdigit():
        return None
    try:
        return date(int(raw[4:]), int(raw[2:4]), int(raw[:2]))
    except ValueError:
        return None


def _lock_row(session: Session, key: str) -> VerificationLock:
    row = session.scalar(select(VerificationLock).where(VerificationLock.person_spid == key))
    if row is None:
        row = VerificationLock(person_spid=key, failed_count=0)
        session.add(row)
        session.flush()
    return row


def _is_locked(row: VerificationLock, now: datetime) -> bool:
    until = _aware(row.locked_until)
    return until is not None and now < until


def _lock_key(identity: ChannelIdentity) -> str:
    """Failures count against the person, or against the address when it matches nobody."""
    if identity.person_spid:
        return identity.person_spid
    return hashed_key("addr", identity.channel, identity.address)[:32]


def check_date_of_birth(
    session: Session,
    registry: RegistryPort,
    identity: ChannelIdentity,
    text: str,
    now: datetime,
    session_id: str | None = None,
    limiter: RateLimiter | None = None,
) -> Step:
    """⚑ The level-2 knowledge check. Five failures lock the person (or address) for 24 hours; while
    locked even the right date is refused. Same answers whether the address is registered or not."""
    if identity.pending_candidates:
        return Step("choose_person", MSG_CHOOSE, level=1)
    limiter = limiter or SqlRateLimiter(session)
    born = parse_date_of_birth(text, identity.channel)
    people = _people_for_address(registry, identity)  # same registry call either way (timing class)
    lock = _lock_row(session, _lock_key(identity))
    if _is_locked(lock, now):
        return LOCKED
    if lock.locked_until is not None:  # a lock that has run out starts a fresh count
        lock.failed_count = 0
        lock.locked_until = None
    if born is None:
        return INVALID_DOB
    count, window = DOB_LIMIT_PER_ADDRESS
    if not limiter.hit(
        hashed_key("dob-addr", identity.channel, identity.address), limit=count, window=window, now=now
    ):
        return LOCKED
    person = next((p for p in people if p.spid == identity.person_spid), None)
    if person is not None and person.birth_date == born:
        lock.failed_count = 0
        identity.household_id = person.household_id
        identity.level = 2
        identity.level2_expires_at = now + LEVEL2_IDLE
        identity.level2_session = session_id if identity.channel == "ussd" else None
        identity.last_seen_at = now
        return Step("verified", MSG_VERIFIED, level=2)
    lock.failed_count += 1
    lock.last_failed_at = now
    if lock.failed_count >= MAX_DOB_FAILURES:
        lock.locked_until = now + LOCKOUT
        return LOCKED
    return NOT_MATCHED


def verified_person(
    registry: RegistryPort, identity: ChannelIdentity, now: datetime, session_id: str | None = None
) -> Person:
    """⚑ The registry person of a level-2 identity; raises NotVerified otherwise."""
    if current_level(identity, now, session_id) != 2:
        raise NotVerified
    people = registry.find_people("SPID", identity.person_spid or "")
    if not people:
        raise NotVerified
    touch(identity, now, session_id)
    return people[0]


# ---------------------------------------------------------------- Telegram linking ⚑


def link_shared_contact(
    session: Session,
    registry: RegistryPort,
    identity: ChannelIdentity,
    *,
    contact_user_id: int | str | None,
    from_user_id: int | str,
    phone: str,
    now: datetime,
) -> Step:
    """Telegram share-contact: only the user's own contact counts; then the usual lazy resolution."""
    if identity.channel != "telegram":
        raise ValueError("shared contacts exist on Telegram only")
    if contact_user_id is None or str(contact_user_id) != str(from_user_id):
        return NOT_MATCHED
    identity.phone = normalise_phone(phone)
    drop_to_level1(identity)
    identity.person_spid = None
    return begin_verification(session, registry, identity, now)


def normalise_phone(phone: str) -> str:
    """`012 000 101`, `85512000101`, `+855 12 000 101` → `+85512000101` (Khmer digits accepted)."""
    digits = re.sub(r"\D", "", to_ascii_digits(phone))
    if digits.startswith("855"):
        return "+" + digits
    if digits.startswith("0"):
        return "+855" + digits[1:]
    return "+" + digits


def _code_hash(code: str, otp_id_salt: str, pepper: str) -> str:
    """HMAC of the code; the key is `pepper`, by default the deployment's SECRET_KEY, so a copy of the
    database alone cannot be brute-forced for the 6-digit codes."""
    key = pepper or get_settings().secret_key or "chumnuoy"
    return hmac.new(key.encode(), f"{otp_id_salt}:{code}".encode(), hashlib.sha256).hexdigest()


Enqueue = Callable[..., object]


def _default_enqueue() -> Enqueue:
    from portal.services.outbox import enqueue  # E1's outbox

    return enqueue


def request_link_code(
    session: Session,
    registry: RegistryPort,
    identity: ChannelIdentity,
    *,
    id_type: Literal["UIN", "SPID", "MOBILE"],
    value: str,
    now: datetime,
    pepper: str = "",
    enqueue: Enqueue | None = None,
    limiter: RateLimiter | None = None,
    locale: str = "km",
) -> Step:
    """⚑ Send a one-time code by SMS to the registry phone of the person `value` identifies.

    Always answers `code_requested` ("if this number is registered, a code was sent"): registered or
    not, rate-limited or not. Limits: per requester address and per target (the identifier asked
    for, and the person it resolves to)."""
    limiter = limiter or SqlRateLimiter(session)
    value = normalise_phone(value) if id_type == "MOBILE" else to_ascii_digits(value).strip().upper()
    people = _living(registry.find_people(id_type, value))
    per_requester = limiter.hit(
        hashed_key("otp-req", identity.channel, identity.address),
        limit=OTP_LIMIT_PER_REQUESTER[0],
        window=OTP_LIMIT_PER_REQUESTER[1],
        now=now,
    )
    per_target = limiter.hit(
        hashed_key("otp-target", id_type, value),
        limit=OTP_LIMIT_PER_TARGET[0],
        window=OTP_LIMIT_PER_TARGET[1],
        now=now,
    )
    if len(people) != 1 or not per_requester or not per_target:
        return CODE_REQUESTED
    person = people[0]
    if not limiter.hit(
        hashed_key("otp-person", person.spid),
        limit=OTP_LIMIT_PER_TARGET[0],
        window=OTP_LIMIT_PER_TARGET[1],
        now=now,
    ):
        return CODE_REQUESTED
    phone = next((p for p in person.phones if p), None)
    if phone is None:
        return CODE_REQUESTED
    code = f"{secrets.randbelow(10**6):06d}"
    salt = secrets.token_hex(8)
    otp = OneTimeCode(
        code_hash=f"{salt}${_code_hash(code, salt, pepper)}",
        person_spid=person.spid,
        requester_channel=identity.channel,
        requester_address=identity.address,
        created_at=now,
        expires_at=now + CODE_TTL,
        attempts=0,
    )
    session.add(otp)
    session.flush()
    from chumnuoy.i18n import translate

    (enqueue or _default_enqueue())(
        session,
        channel="sms",
        address=phone,
        text=translate(locale, MSG_CODE_SMS, code=code),
        kind="otp",
        locale=locale,
        dedupe_key=f"otp:{otp.id}",
        now=now,
    )
    return CODE_REQUESTED


def confirm_link_code(
    session: Session, identity: ChannelIdentity, code: str, now: datetime, pepper: str = ""
) -> Step:
    """The code typed back on the requesting address links it (level 1). Five tries per code."""
    code = re.sub(r"\D", "", to_ascii_digits(code))
    candidates = session.scalars(
        select(OneTimeCode)
        .where(
            OneTimeCode.requester_channel == identity.channel,
            OneTimeCode.requester_address == identity.address,
            OneTimeCode.used_at.is_(None),
        )
        .order_by(OneTimeCode.id.desc())
    ).all()
    for otp in candidates:
        expires = _aware(otp.expires_at)
        if expires is None or now >= expires or otp.attempts >= CODE_MAX_ATTEMPTS:
            continue
        otp.attempts += 1
        salt, _, digest = otp.code_hash.partition("$")
        if hmac.compare_digest(digest, _code_hash(code, salt, pepper)):
            otp.used_at = now
            identity.person_spid = otp.person_spid
            identity.pending_candidates = None
            identity.phone = None
            identity.level = 1
            return Step("linked", MSG_LINKED, level=1)
        return CODE_INVALID
    return CODE_INVALID


def purge_expired(session: Session, now: datetime) -> int:
    """Housekeeping for a periodic job: ended rate-limit windows, old one-time codes, spent lockouts."""
    from sqlalchemy import delete, or_

    removed = SqlRateLimiter(session).purge(now)
    removed += int(
        session.execute(delete(OneTimeCode).where(OneTimeCode.expires_at <= now - timedelta(days=1))).rowcount  # type: ignore[attr-defined]
        or 0
    )
    removed += int(
        session.execute(
            delete(VerificationLock).where(
                or_(VerificationLock.locked_until <= now - LOCKOUT, VerificationLock.locked_until.is_(None)),
                or_(
                    VerificationLock.last_failed_at.is_(None),
                    VerificationLock.last_failed_at <= now - LOCKOUT,
                ),
            )
        ).rowcount  # type: ignore[attr-defined]
        or 0
    )
    return removed
