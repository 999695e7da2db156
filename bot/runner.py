"""One inbound message through the engine: load state, build services, run, save, commit.

Adapters (bot/web.py) call `ussd_hop` and `sms_message`; both commit the database session before
returning the reply, so whatever the reply acknowledges (a grievance, a consent) is stored first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from bot.engine import FIRST_CONTACT, Context
from bot.journeys import build
from bot.prompt import Option, Prompt
from bot.render import render_sms, render_ussd
from bot.services import CONSENT_VERSION, Services
from bot.state import Conversation, SqlStateStore, StateStore
from bot.understand import command_of, is_legacy_font
from chumnuoy.i18n import translate
from portal.services import identity as identity_service
from registry_client.types import RegistryPort

USSD_TTL = timedelta(minutes=5)
"""Longer than a gateway session (180 s): a hop after that is a new session anyway."""
USSD_RESUME_TTL = timedelta(minutes=10)
SMS_TTL = timedelta(minutes=30)
DEDUP_TTL = timedelta(hours=48)
HANDOFF_FOLLOWUP = timedelta(hours=24)
"""How long after a USSD "talk to an officer" a free-text SMS from that phone goes to the officer."""

MSG_RESUME = "Continue where you stopped?"
MSG_CONTINUE = "Continue"
MSG_MAIN_MENU = "Main menu"
MSG_STOPPED = "News stopped. You can still ask us. Send START to get news again."
MSG_STARTED = "Welcome back. You will get our messages again."
MSG_LIMON = "Please type with a Unicode Khmer keyboard, or send a number."
MSG_DETAILS_ADDED = "Added to complaint {ref}. Thank you."
BOT_MSGIDS = (MSG_RESUME, MSG_CONTINUE, MSG_MAIN_MENU, MSG_STOPPED, MSG_STARTED, MSG_LIMON, MSG_DETAILS_ADDED)


@dataclass
class Inbound:
    channel: str
    address: str
    text: str
    session_id: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _context(conv: Conversation, services: Services, inbound: Inbound, now: datetime) -> Context:
    return Context(conv=conv, channel=inbound.channel, address=inbound.address, session_id=inbound.session_id,
                   services=services, now=now)


def new_ussd_input(text: str, previous: str) -> str:
    """The latest input: what the gateway appended to the text it sent last hop."""
    if previous and text.startswith(previous + "*"):
        return text[len(previous) + 1:]
    if not previous:
        return text
    return text.rsplit("*", 1)[-1]


def ussd_hop(session: Session, store: StateStore, registry_factory: Callable[[], RegistryPort],
             inbound: Inbound, now: datetime | None = None) -> str:
    """One USSD hop: the `CON …`/`END …` body."""
    now = now or _now()
    with session.no_autoflush:  # writes go out together at commit: a short SQLite write lock
        return _ussd_hop(session, store, registry_factory, inbound, now)


def _ussd_hop(session: Session, store: StateStore, registry_factory: Callable[[], RegistryPort],
              inbound: Inbound, now: datetime) -> str:
    engine = build()
    services = Services(session, "ussd", inbound.address, now, registry_factory, inbound.session_id)
    key, resume_key = f"ussd:{inbound.session_id}", f"ussd-last:{inbound.address}"
    known = None
    if isinstance(store, SqlStateStore):  # both keys and the identity's glance in one query
        known = store.prefetch([key, resume_key], identity_service.glance_columns(),
                               identity_service.glance_params("ussd", inbound.address, CONSENT_VERSION))
    conv = store.load(key)
    if conv is None:
        conv = Conversation(node=engine.main_menu)
        ctx = _context(conv, services, inbound, now)
        glance = (identity_service.glance_from(session, known, now) if known is not None
                  else identity_service.glance(session, "ussd", inbound.address, CONSENT_VERSION, now))
        prompt = engine.start(ctx, glance)
        if inbound.text and "*" not in inbound.text and conv.node == engine.main_menu:
            # The session's first screen was this main menu, which is never stored (see
            # `_rebuildable`): the same screen again, then this hop's input on it.
            prompt = engine.turn(ctx, inbound.text)
        else:
            saved = store.load(resume_key)
            if saved is not None and conv.node == engine.main_menu and saved.node not in FIRST_CONTACT:
                conv.data["resume"] = saved.to_json()
                conv.node = "resume"
                prompt = _resume_prompt(ctx)
    elif conv.node == "resume":
        ctx = _context(conv, services, inbound, now)
        prompt = _resume(ctx, new_ussd_input(inbound.text, conv.last_text))
        conv = ctx.conv
    else:
        ctx = _context(conv, services, inbound, now)
        prompt = engine.turn(ctx, new_ussd_input(inbound.text, conv.last_text))
    conv.last_text = inbound.text
    if prompt.end:
        store.delete(key)
        store.delete(resume_key)
    elif not _rebuildable(conv, prompt, engine.main_menu):
        saves = [(key, conv, USSD_TTL)]
        if conv.node not in FIRST_CONTACT and conv.node not in (engine.main_menu, "resume"):
            saves.append((resume_key, conv, USSD_RESUME_TTL))
        elif conv.node == engine.main_menu:  # back at the menu: nothing left to resume
            store.delete(resume_key)
        if isinstance(store, SqlStateStore):
            store.save_many(saves)  # one statement
        else:
            for saved_key, saved, ttl in saves:
                store.save(saved_key, saved, ttl)
    if session.in_transaction() or session.new or session.dirty or session.deleted:
        session.commit()  # else the hop only read, on its own connection: nothing to commit
    return render_ussd(prompt, conv.locale, conv.page)


def _rebuildable(conv: Conversation, prompt: Prompt, main_menu: str) -> bool:
    """True for the plain main menu shown by a session's first hop (`text` empty, nothing stacked,
    no notice, first page): the next hop rebuilds it exactly from what the database holds (the
    identity's language and consent), so storing it would only cost a write on every dial. Any
    other screen is stored under the session id."""
    return (not conv.last_text and conv.node == main_menu and not conv.stack and not conv.page
            and not conv.data and not prompt.notice)


def _resume_prompt(ctx: Context) -> Prompt:
    return Prompt(ctx.t(MSG_RESUME), (Option("yes", ctx.t(MSG_CONTINUE)), Option("no", ctx.t(MSG_MAIN_MENU))),
                  root=True)


def _resume(ctx: Context, key: str) -> Prompt:
    """Answer to "continue where you stopped?" after a dropped USSD session."""
    from chumnuoy.digits import to_ascii_digits

    engine = build()
    choice = to_ascii_digits(key.strip())
    saved = Conversation.from_json(ctx.conv.data.get("resume", "{}")) if ctx.conv.data.get("resume") else None
    if choice == "1" and saved is not None:
        saved.last_text, saved.locale = ctx.conv.last_text, ctx.conv.locale
        ctx.conv = saved
        return engine.show(ctx)
    if choice in ("2", "00", "0"):
        ctx.conv.data.pop("resume", None)
        return engine.go_menu(_with_node(ctx, engine.main_menu))
    ctx.say("Wrong number. Choose again.")
    return _resume_prompt(ctx)


def _with_node(ctx: Context, node: str) -> Context:
    ctx.conv.node = node
    return ctx


@dataclass
class SmsReply:
    text: str | None
    """None = send nothing (a duplicate, or an address blocked by the carrier)."""
    locale: str = "km"


def sms_message(session: Session, store: StateStore, registry_factory: Callable[[], RegistryPort],
                inbound: Inbound, *, message_id: str | None, carrier: bool,
                now: datetime | None = None) -> SmsReply:
    """One inbound SMS (Twilio when `carrier`, else the generic gateway): the reply text, if any."""
    now = now or _now()
    if message_id and not store.claim(f"sms:{'twilio' if carrier else 'gateway'}:{message_id}", DEDUP_TTL):
        return SmsReply(None)
    engine = build()
    services = Services(session, "sms", inbound.address, now, registry_factory)
    key = f"sms:{inbound.address}"
    conv = store.load(key) or Conversation(node="", locale=services.identity.language or "km")
    ctx = _context(conv, services, inbound, now)
    identity = services.identity
    command = command_of(inbound.text, carrier=carrier)
    locale = identity.language or "km"
    conv.locale = locale
    if command == "carrier_stop":  # Twilio answers STOP itself and blocks our sends: record, stay silent
        services.opt_out("carrier")
        session.commit()
        return SmsReply(None, locale)
    if identity.carrier_blocked and command != "start":
        session.commit()
        return SmsReply(None, locale)
    if command == "start":
        services.opt_in("carrier")
        services.opt_in("notifications")
        session.commit()
        return SmsReply(translate(locale, MSG_STARTED), locale)
    if command == "stop_app":
        services.opt_out("notifications")
        session.commit()
        return SmsReply(translate(locale, MSG_STOPPED), locale)
    if is_legacy_font(inbound.text):
        session.commit()
        return SmsReply(translate(locale, MSG_LIMON), locale)
    reply_text = _add_details(ctx, inbound.text) if conv.node not in FIRST_CONTACT else None
    if reply_text is None and not conv.node and command is None:
        reply_text = _handoff_followup(ctx, inbound.text)
    if reply_text is not None:
        session.commit()
        return SmsReply(reply_text, locale)
    if not conv.node:
        prompt = engine.start(ctx)
        if ctx.conv.node == engine.main_menu and command is None:
            prompt = engine.turn(ctx, inbound.text)  # an expired or new conversation: act on the text
    elif command == "menu":
        prompt = engine.go_menu(ctx)
    elif command == "help":
        prompt = engine.enter(ctx, "help")
    elif command == "language":
        prompt = engine.enter(ctx, "language")
    else:
        prompt = engine.turn(ctx, inbound.text)
    if command in ("menu", "help", "language") and ctx.conv.node in FIRST_CONTACT:
        prompt = engine.show(ctx)
    store.save(key, ctx.conv, SMS_TTL)
    session.commit()
    return SmsReply(render_sms(prompt, ctx.conv.locale, ctx.conv.page), ctx.conv.locale)


def _handoff_followup(ctx: Context, text: str) -> str | None:
    """No SMS conversation going on, and this phone asked for an officer on USSD lately: the text
    (unless a bare menu number) goes to that officer."""
    from bot.journeys.start import MSG_HANDOFF_SENT
    from chumnuoy.digits import to_ascii_digits

    if not text.strip() or to_ascii_digits(text.strip()).isdigit():
        return None
    if not ctx.services.handoff_followup(text, HANDOFF_FOLLOWUP):
        return None
    return ctx.t(MSG_HANDOFF_SENT)


def _add_details(ctx: Context, text: str) -> str | None:
    """`12345678 more words` within 24 h of a USSD complaint from this phone: add to that complaint."""
    from portal.services.references import leading_reference

    reference, rest = leading_reference(text)
    if reference is None or not rest.strip():
        return None
    try:
        added = ctx.services.add_details_by_sms(text)
    except RuntimeError:  # E1's service missing (integration point)
        return None
    if not added:
        return None
    return ctx.t(MSG_DETAILS_ADDED, ref=added if isinstance(added, str) else reference)
