"""The shared journeys plus the Telegram-only steps, without touching the shared graph:

- `tg_contact`: identification. The identity service answers `share_contact` for a Telegram user not
  linked yet; the shared `verify_dob` step is entered with that answer and redirects here. The
  contact itself arrives as a message (conversation.py); a typed ID card number asks for a one-time
  code sent by SMS to the registry phone (`tg_code`).
- `tg_clarify`: the clarifying question when the NLU is unsure.
"""

from __future__ import annotations

from functools import cache

from bot.engine import MENU, Context, Engine, Journeys, Node
from bot.prompt import Option, Prompt
from bot.telegram.messages import MSG_BAD_ID, MSG_CLARIFY, MSG_NONE_OF_THESE, MSG_TYPE_CODE
from chumnuoy.digits import to_ascii_digits
from registry_client.types import RegistryError

CONTACT, CODE, CLARIFY = "tg_contact", "tg_code", "tg_clarify"


def _contact_prompt(ctx: Context) -> Prompt:
    from portal.services.identity import MSG_SHARE_CONTACT

    return Prompt(ctx.t(MSG_SHARE_CONTACT), free_input=True)


def _typed_identifier(ctx: Context, text: str) -> str | None:
    """An ID card number (9 digits) or a phone number: a one-time code goes to the registry phone."""
    from portal.services import identity as identity_service

    digits = "".join(ch for ch in to_ascii_digits(text) if ch.isdigit())
    stripped = to_ascii_digits(text).strip()
    if len(digits) == 9 and not stripped.startswith(("0", "+")):
        id_type, value = "UIN", digits
    elif 9 <= len(digits) <= 12 and stripped.startswith(("0", "+", "855")):
        id_type, value = "MOBILE", stripped
    else:
        ctx.say(MSG_BAD_ID)
        return None
    try:
        step = identity_service.request_link_code(ctx.services.session, ctx.services.registry(),
                                                  ctx.services.identity, id_type=id_type, value=value,
                                                  now=ctx.now, locale=ctx.locale)
    except RegistryError:
        return "service_busy"
    ctx.conv.data["tg_code_message"] = step.message
    return CODE


def _code_prompt(ctx: Context) -> Prompt:
    from portal.services.identity import MSG_CODE_REQUESTED

    first = ctx.conv.data.get("tg_code_message", MSG_CODE_REQUESTED)
    return Prompt(f"{ctx.t(first)}\n{ctx.t(MSG_TYPE_CODE)}", free_input=True)


def _typed_code(ctx: Context, text: str) -> str | None:
    from portal.services import identity as identity_service

    step = identity_service.confirm_link_code(ctx.services.session, ctx.services.identity, text, ctx.now)
    if step.kind != "linked":
        ctx.say(step.message)
        return None
    ctx.conv.data["verify"] = {"kind": "ask_dob", "message": identity_service.MSG_LINKED}
    return "verify_dob"


def _clarify_prompt(ctx: Context) -> Prompt:
    choices = ctx.conv.data.get("tg_clarify", [])
    options = tuple(Option(target, ctx.t(label)) for target, label in choices)
    return Prompt(ctx.t(MSG_CLARIFY), (*options, Option(MENU, ctx.t(MSG_NONE_OF_THESE))))


def _redirect_unlinked(ctx: Context) -> str | None:
    """Entering the date-of-birth step while the Telegram user is not linked: share contact first."""
    if ctx.conv.data.get("verify", {}).get("kind") == "share_contact":
        return CONTACT
    return None


@cache
def telegram_engine() -> Engine:
    from bot.journeys import build

    shared = build()
    journeys = Journeys(dict(shared.journeys.nodes))
    journeys.add(Node(CONTACT, _contact_prompt, handle=_typed_identifier))
    journeys.add(Node(CODE, _code_prompt, handle=_typed_code))
    journeys.add(Node(CLARIFY, _clarify_prompt, handle=lambda _ctx, value: value))
    dob = journeys.nodes["verify_dob"]
    journeys.nodes["verify_dob"] = Node(dob.name, dob.prompt, handle=dob.handle, on_text=dob.on_text,
                                        on_enter=_redirect_unlinked)
    return Engine(journeys, shared.main_menu)
