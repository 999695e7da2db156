"""One Telegram update through the conversation engine: the same journeys as USSD/SMS (one engine,
bot.journeys), rendered with inline keyboards, plus what only Telegram has: commands (/start with a
deep-link payload, /menu, /help, /language), button presses, a shared contact, photos as evidence,
free text through the NLU with a clarifying question.

`handle` works in the caller's database session and does not commit; it returns the Bot API calls to
make (`Outgoing`), which the caller makes after committing. State lives in the bot's state store
(SQL or Redis), keyed by chat, never in process memory.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.engine import FIRST_CONTACT, Context, Engine
from bot.prompt import Prompt
from bot.runner import MSG_STARTED, MSG_STOPPED
from bot.services import Services
from bot.state import Conversation, StateStore
from bot.telegram import evidence
from bot.telegram.journeys import CLARIFY, CONTACT, telegram_engine
from bot.telegram.messages import (
    MSG_CHOOSE,
    MSG_HELP,
    MSG_MENU,
    MSG_NOT_OWN_CONTACT,
    MSG_NOT_UNDERSTOOD,
    MSG_OLD_BUTTON,
    MSG_PHOTO_ADDED,
    MSG_PHOTO_KEPT,
    MSG_PHOTO_TOO_BIG,
    MSG_PHOTO_TYPE,
    MSG_PHOTO_WHERE,
)
from bot.telegram.render import Markup, Rendered, contact_request, inline, parse_callback, without_keyboard
from bot.telegram.understanding import understand
from bot.understand import command_of
from chumnuoy.digits import to_ascii_digits
from registry_client.types import RegistryError, RegistryPort

STATE_TTL = timedelta(hours=24)
"""Buttons stay usable for a day; level 2 still expires after 10 idle minutes (identity service)."""
COLLECTING = frozenset({"complaint", "complaint_describe", "complaint_anonymous", "details", "details_phone",
                        "details_province", "details_address_rest", "details_member", "details_who",
                        "details_baby", "details_correct", "details_name", "details_dob"})
"""Steps where a photo is kept until the complaint / change request is stored."""
DEEP_LINKS = {"complaint": "complaint", "eligibility": "eligibility", "benefits": "benefits",
              "status": "status", "details": "details", "apply": "how_to_apply", "help": "help"}
REFERENCE_PAYLOAD = re.compile(r"(?:c|ref|g)?[_-]?(\d{8})", re.IGNORECASE)


@dataclass
class Incoming:
    """The parts of an update the conversation uses (built by updates.py from a PTB `Update`)."""

    chat_id: int
    user_id: int
    kind: str
    """text | callback | contact | photo"""
    text: str = ""
    callback_id: str | None = None
    callback_data: str = ""
    callback_message_id: int | None = None
    callback_message_text: str = ""
    callback_label: str = ""
    contact_user_id: int | None = None
    contact_phone: str = ""
    photo: bytes | None = None
    photo_error: str | None = None
    """too_big | type: refused before download."""
    update_id: int | None = None
    """Telegram's id of the update: the idempotency key of what this update stores."""


@dataclass
class Outgoing:
    method: str
    """send | edit | answer"""
    chat_id: int
    text: str = ""
    markup: Markup = None
    message_id: int | None = None
    callback_id: str | None = None


def state_key(chat_id: int) -> str:
    return f"telegram:{chat_id}"


def handle(session: Session, store: StateStore, registry_factory: Callable[[], RegistryPort],
           incoming: Incoming, now: datetime) -> list[Outgoing]:
    engine = telegram_engine()
    address = str(incoming.chat_id)
    dedupe_key = None if incoming.update_id is None else f"telegram:update:{incoming.update_id}"
    services = Services(session, "telegram", address, now, registry_factory, dedupe_key=dedupe_key)
    identity = services.identity
    if identity.carrier_blocked:  # they write to us again: they unblocked the bot
        services.opt_in("carrier")
    key = state_key(incoming.chat_id)
    loaded = store.load(key)
    conv = loaded or Conversation(node="", locale=identity.language or "km")
    if identity.language:
        conv.locale = identity.language
    ctx = Context(conv=conv, channel="telegram", address=address, session_id=None, services=services, now=now)
    out: list[Outgoing] = []
    contact_keyboard_shown = bool(conv.data.get("tg_contact_kb"))
    replayed = loaded is not None and incoming.update_id is not None \
        and conv.data.get("tg_update") == incoming.update_id
    if replayed:
        # A retry of an update whose turn was saved (Redis state) before its row was marked done: the
        # input was applied once already; say where the conversation is instead of applying it again.
        if incoming.kind == "callback":
            out.append(Outgoing("answer", incoming.chat_id, callback_id=incoming.callback_id))
        prompt = engine.show(ctx)
    else:
        prompt = _dispatch(engine, ctx, incoming, out, fresh=loaded is None)
    ctx.conv.data["tg_update"] = incoming.update_id
    if ctx.conv.node == engine.main_menu and ctx.conv.data.get("tg_payload"):
        prompt = _apply_payload(engine, ctx) or prompt
    if ctx.conv.node == "help":
        prompt = Prompt(ctx.t(MSG_HELP), end=True)
    _attach_pending_photos(ctx)
    out.append(_render(ctx, prompt, incoming.chat_id, contact_keyboard_shown))
    store.save(key, ctx.conv, STATE_TTL)
    return out


# ------------------------------------------------------------------------------------ dispatch

def _dispatch(engine: Engine, ctx: Context, incoming: Incoming, out: list[Outgoing], *,
              fresh: bool) -> Prompt:
    if incoming.kind == "callback":
        return _callback(engine, ctx, incoming, out, fresh=fresh)
    if not ctx.conv.node:
        prompt = engine.start(ctx)
        if incoming.kind == "text" and incoming.text.startswith("/"):
            return _command(engine, ctx, incoming.text)
        if ctx.conv.node != engine.main_menu or incoming.kind != "text":
            return prompt
    if incoming.kind == "contact":
        return _contact(engine, ctx, incoming)
    if incoming.kind == "photo":
        return _photo(engine, ctx, incoming)
    text = incoming.text.strip()
    if text.startswith("/"):
        return _command(engine, ctx, text)
    return _text(engine, ctx, text)


def _callback(engine: Engine, ctx: Context, incoming: Incoming, out: list[Outgoing], *,
              fresh: bool) -> Prompt:
    out.append(Outgoing("answer", incoming.chat_id, callback_id=incoming.callback_id))
    parsed = parse_callback(incoming.callback_data)
    if fresh or not ctx.conv.node or parsed is None or parsed[0] != ctx.conv.data.get("tg_step"):
        ctx.say(MSG_OLD_BUTTON)
        return engine.show(ctx) if ctx.conv.node else engine.start(ctx)
    if incoming.callback_message_id and incoming.callback_label:  # keep the choice visible, drop the buttons
        out.append(Outgoing("edit", incoming.chat_id, message_id=incoming.callback_message_id,
                            text=f"{incoming.callback_message_text}\n» {incoming.callback_label}"[:4096]))
    key = parsed[1]
    if key == "b":
        return engine.go_back(ctx)
    if key == "m":
        return engine.go_menu(ctx)
    return engine.turn(ctx, key)


def _command(engine: Engine, ctx: Context, text: str) -> Prompt:
    head, _, payload = text[1:].partition(" ")
    command = head.split("@", 1)[0].lower()
    first_contact = ctx.conv.node in FIRST_CONTACT
    if command == "start":
        if payload.strip():
            ctx.conv.data["tg_payload"] = payload.strip()[:64]
        return engine.show(ctx) if first_contact else engine.go_menu(ctx)
    if first_contact:
        return engine.show(ctx)
    if command == "menu":
        return engine.go_menu(ctx)
    if command == "help":
        return engine.enter(ctx, "help")
    if command == "language":
        return engine.enter(ctx, "language")
    ctx.say(MSG_NOT_UNDERSTOOD)
    return engine.show(ctx)


def _text(engine: Engine, ctx: Context, text: str) -> Prompt:
    word = command_of(text, carrier=False)
    if word == "stop_app":
        ctx.services.opt_out("notifications")
        return Prompt(ctx.t(MSG_STOPPED), end=True)
    if word == "start":
        ctx.services.opt_in("notifications")
        return Prompt(ctx.t(MSG_STARTED), end=True)
    if word in ("help", "menu", "language") and ctx.conv.node not in FIRST_CONTACT:
        return engine.go_menu(ctx) if word == "menu" else engine.enter(ctx, word)
    node = engine.node(ctx.conv.node)
    current = node.prompt(ctx)
    if current.end:
        ctx.conv.node, ctx.conv.stack = engine.main_menu, []
        node = engine.node(engine.main_menu)
        current = node.prompt(ctx)
    key = to_ascii_digits(text)
    if not current.free_input and node.on_text and text and not key.isdigit():
        return _free_text(engine, ctx, text)
    return engine.turn(ctx, text)


def _free_text(engine: Engine, ctx: Context, text: str) -> Prompt:
    understood = understand(text)
    if understood.journey == "menu":
        return engine.go_menu(ctx)
    if understood.journey:
        return engine.enter(ctx, understood.journey)
    if understood.choices:
        ctx.conv.data["tg_clarify"] = understood.choices
        return engine.enter(ctx, CLARIFY)
    ctx.say(MSG_NOT_UNDERSTOOD)
    return engine.show(ctx)


def _apply_payload(engine: Engine, ctx: Context) -> Prompt | None:
    """`/start <payload>` (deep link): a complaint reference shows its status; a journey name opens it."""
    payload = str(ctx.conv.data.pop("tg_payload", ""))
    match = REFERENCE_PAYLOAD.fullmatch(payload)
    if match:
        engine.enter(ctx, "status")
        return engine.turn(ctx, match.group(1))
    journey = DEEP_LINKS.get(payload.lower())
    return engine.enter(ctx, journey) if journey else None


# ------------------------------------------------------------------------------------ identity

def _contact(engine: Engine, ctx: Context, incoming: Incoming) -> Prompt:
    """Level 1 by shared contact: only the sender's own contact, then the number must be the registry's
    (the identity service answers the same way whether it is or not)."""
    from portal.services import identity as identity_service

    if ctx.conv.node in FIRST_CONTACT:
        return engine.show(ctx)
    try:
        step = identity_service.link_shared_contact(
            ctx.services.session, ctx.services.registry(), ctx.services.identity,
            contact_user_id=incoming.contact_user_id, from_user_id=incoming.user_id,
            phone=incoming.contact_phone, now=ctx.now)
    except RegistryError:
        return engine.enter(ctx, "service_busy")
    if step.kind == "not_matched":
        ctx.conv.data["verify"] = {"kind": "share_contact", "message": identity_service.MSG_SHARE_CONTACT}
        ctx.conv.node = CONTACT
        ctx.say(MSG_NOT_OWN_CONTACT)
        return engine.show(ctx)
    ctx.conv.data["verify"] = {"kind": step.kind, "message": step.message}
    ctx.conv.data.setdefault("after_verify", engine.main_menu)
    ctx.conv.node = "verify_choose" if step.kind == "choose_person" else "verify_dob"
    ctx.conv.page = 0
    return engine.show(ctx)


# ------------------------------------------------------------------------------------ evidence

def _evidence_target(ctx: Context) -> tuple[str, int] | None:
    from portal.models.cases import ChangeRequest, Grievance

    session = ctx.services.session
    if ctx.conv.node == "complaint_done":
        reference = ctx.conv.data.get("complaint", {}).get("reference")
        grievance_id = session.scalar(select(Grievance.id).where(Grievance.reference == str(reference))) \
            if reference else None
        return ("grievance", grievance_id) if grievance_id else None
    if ctx.conv.node == "details_done":
        request_id = session.scalar(select(ChangeRequest.id)
                                    .where(ChangeRequest.identity_id == ctx.services.identity.id)
                                    .order_by(ChangeRequest.id.desc()).limit(1))
        return ("change_request", request_id) if request_id else None
    return None


def _attach(ctx: Context, target: tuple[str, int], item: evidence.StoredEvidence) -> None:
    kind, target_id = target
    if kind == "grievance":
        evidence.attach_to_grievance(ctx.services.session, target_id, item, ctx.now)
    else:
        evidence.attach_to_change_request(ctx.services.session, target_id, item, ctx.now)


def _photo(engine: Engine, ctx: Context, incoming: Incoming) -> Prompt:
    if incoming.photo_error or incoming.photo is None:
        ctx.say(MSG_PHOTO_TOO_BIG if incoming.photo_error == "too_big" else MSG_PHOTO_TYPE)
        return engine.show(ctx)
    target = _evidence_target(ctx)
    if target is None and ctx.conv.node not in COLLECTING:
        ctx.say(MSG_PHOTO_WHERE)
        return engine.show(ctx)
    try:
        item = evidence.store(ctx.services.session, incoming.photo, ctx.now)
    except evidence.EvidenceRejected as refused:
        ctx.say(MSG_PHOTO_TOO_BIG if refused.reason == "too_big" else MSG_PHOTO_TYPE)
        return engine.show(ctx)
    if target is not None:
        _attach(ctx, target, item)
        ctx.say(MSG_PHOTO_ADDED)
        return engine.show(ctx)
    ctx.conv.data.setdefault("tg_photos", []).append(item.blob_id)
    caption = incoming.text.strip()
    if caption and engine.node(ctx.conv.node).prompt(ctx).free_input:
        return engine.turn(ctx, caption)
    ctx.say(MSG_PHOTO_KEPT)
    return engine.show(ctx)


def _attach_pending_photos(ctx: Context) -> None:
    pending = ctx.conv.data.get("tg_photos")
    if not pending:
        return
    target = _evidence_target(ctx)
    if target is not None:
        for blob_id in pending:
            item = evidence.load(ctx.services.session, int(blob_id))
            if item is not None:
                _attach(ctx, target, item)
        ctx.conv.data.pop("tg_photos", None)
    elif ctx.conv.node not in COLLECTING:  # the citizen left the journey: the photos go with it
        ctx.conv.data.pop("tg_photos", None)


# ------------------------------------------------------------------------------------ rendering

def _next_step(conv: Conversation) -> str:
    current = conv.data.get("tg_step") or "0"
    step = format_base36(int(current, 36) + 1)
    conv.data["tg_step"] = step
    return step


def format_base36(value: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        value, remainder = divmod(value, 36)
        text = digits[remainder] + text
        if value == 0:
            return text


def _render(ctx: Context, prompt: Prompt, chat_id: int, contact_keyboard_shown: bool) -> Outgoing:
    rendered: Rendered
    if not prompt.text and prompt.options:  # a bare menu: a message needs a text above its buttons
        title = MSG_MENU if ctx.conv.node == telegram_engine().main_menu else MSG_CHOOSE
        prompt = replace(prompt, text=ctx.t(title))
    if ctx.conv.node == CONTACT and not prompt.end:
        rendered = contact_request(prompt, ctx.locale)
        ctx.conv.data["tg_contact_kb"] = True
    elif contact_keyboard_shown:
        ctx.conv.data.pop("tg_contact_kb", None)
        rendered = without_keyboard(prompt)
        _next_step(ctx.conv)  # old buttons are stale after this
    else:
        rendered = inline(prompt, ctx.locale, _next_step(ctx.conv))
    return Outgoing("send", chat_id, rendered.text, rendered.markup)
