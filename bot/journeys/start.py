"""First contact (bilingual language choice, consent), the main menu, "more", language, help,
how to apply, talk to an officer. None of these calls the registry."""

from __future__ import annotations

from bot.engine import MENU, Context, Journeys, Node
from bot.prompt import Option, Prompt
from bot.services import MSG_CONSENT

LANGUAGES = (Option("km", "ខ្មែរ"), Option("en", "English"))
LANGUAGE_TITLE = "Chumnuoy"
"""Plain ASCII: readable on phones without Khmer fonts."""

MSG_AGREE = "I agree"
MSG_DISAGREE = "No"
MSG_DECLINED = "OK. Come back when you are ready."
MSG_LANGUAGE_SET = "Language saved."
MSG_HELP = "Choose a number. 0 back, 00 menu. Send MENU or HELP. After STOP, send START."
MSG_HELP_USSD = "Choose a number. 0 back, 00 menu. Dial again any time."
MSG_HOW_TO_APPLY = "Go to your commune office. Ask for an IDPoor interview on demand."
# How to apply for the citizen's own commune (msgids of translations/*/LC_MESSAGES/places.po)
MSG_APPLY_FIND = "Find the office for my commune"
MSG_APPLY_COMMUNE = "IDPoor on demand: ask the {commune} council or your village chief."
MSG_APPLY_DISTRICT = "More help: {district} social affairs office."
APPLY_MSGIDS = (MSG_APPLY_FIND, MSG_APPLY_COMMUNE, MSG_APPLY_DISTRICT)
MSG_HANDOFF_USSD = "An officer will answer you by SMS. You can also send your question by SMS."
MSG_HANDOFF_ASK = "Write your message for the officer."
MSG_HANDOFF_SENT = "Sent. An officer will answer you here."

MAIN_MENU = [
    ("Check eligibility", "eligibility"),
    ("My benefits and payments", "benefits"),
    ("Make a complaint", "complaint"),
    ("More", "more"),
]
MORE_MENU = [
    ("Complaint status", "status"),
    ("Update my details", "details"),
    ("How to apply", "how_to_apply"),
    ("Talk to an officer", "handoff"),
    ("Language", "language"),
    ("Help", "help"),
    ("My complaints", "my_complaints"),
]


def _language_prompt(_ctx: Context) -> Prompt:
    return Prompt(LANGUAGE_TITLE, LANGUAGES, ascii_numbers=True, root=True)


def _choose_language_first(ctx: Context, value: str) -> str:
    ctx.services.set_language(value)
    ctx.conv.locale = value
    return "consent" if not ctx.services.has_consented() else "menu"


def _choose_language(ctx: Context, value: str) -> str:
    ctx.services.set_language(value)
    ctx.conv.locale = value
    ctx.say(MSG_LANGUAGE_SET)
    return MENU


def _consent_prompt(ctx: Context) -> Prompt:
    return Prompt(ctx.t(MSG_CONSENT), (Option("yes", ctx.t(MSG_AGREE)), Option("no", ctx.t(MSG_DISAGREE))),
                  root=True)


def _consent(ctx: Context, value: str) -> str:
    if value == "yes":
        ctx.services.record_consent(ctx.t(MSG_CONSENT), ctx.locale)
        return "menu"
    return "consent_declined"


def _end(msgid: str, ussd_msgid: str | None = None):  # type: ignore[no-untyped-def]
    def prompt(ctx: Context) -> Prompt:
        chosen = ussd_msgid if ussd_msgid and ctx.channel == "ussd" else msgid
        return Prompt(ctx.t(chosen), end=True)

    return prompt


def _how_to_apply(ctx: Context) -> Prompt:
    """Level 0 (or no known commune): the generic text; on SMS/Telegram with a lookup of the commune."""
    if ctx.channel == "ussd":
        return Prompt(ctx.t(MSG_HOW_TO_APPLY), end=True)
    return Prompt(ctx.t(MSG_HOW_TO_APPLY), (Option("apply_find", ctx.t(MSG_APPLY_FIND)),))


def _apply_enter(ctx: Context) -> str | None:
    """Linked to a registry person (level 1/2): the registry address gives the commune. Level 0 never
    calls the registry (SPEC §5)."""
    from portal.services import places

    commune = _registry_commune(ctx) if ctx.services.level() >= 1 else None
    place = places.get(ctx.services.session, commune)
    if place is None or place.level != "commune":
        return None
    ctx.conv.data["picker"] = {"purpose": "apply", "commune": place.code}
    return "apply_here"


def _registry_commune(ctx: Context) -> str | None:
    from registry_client.types import RegistryError

    spid = ctx.services.identity.person_spid
    try:
        people = ctx.services.registry().find_people("SPID", spid) if spid else []
    except RegistryError:
        return None  # the generic text still helps
    return people[0].address.commune_code if people else None


def _apply_find(ctx: Context) -> str:
    from bot.journeys.details import start_picker

    return start_picker(ctx, "apply")


def _apply_here(ctx: Context) -> Prompt:
    """Where to go for the chosen (or registered) commune: its council and village chief for On-Demand
    IDPoor, the district social affairs office for more."""
    from portal.services import places

    session = ctx.services.session
    commune = places.get(session, ctx.conv.data.get("picker", {}).get("commune"))
    if commune is None:
        return Prompt(ctx.t(MSG_HOW_TO_APPLY), end=True)
    district = places.get(session, commune.parent_code)
    parts = [ctx.t(MSG_APPLY_COMMUNE, commune=places.label(commune, ctx.locale))]
    if district is not None:
        parts.append(ctx.t(MSG_APPLY_DISTRICT, district=places.label(district, ctx.locale)))
    from bot.journeys.personal import longest_fitting

    return Prompt(longest_fitting(ctx, parts), end=True)


def _enter_handoff(ctx: Context) -> str | None:
    ctx.services.open_handoff(ctx.locale)
    return None


def _handoff_prompt(ctx: Context) -> Prompt:
    """USSD: the officer answers by SMS (and the citizen may SMS the question). SMS/Telegram: a chat;
    each message goes to the officer, `00`/MENU leaves."""
    if ctx.channel == "ussd":
        return Prompt(ctx.t(MSG_HANDOFF_USSD), end=True)
    return Prompt(ctx.t(MSG_HANDOFF_ASK), free_input=True)


def _handoff_message(ctx: Context, text: str) -> None:
    if text.strip():
        ctx.services.handoff_message(text, ctx.locale)
        ctx.say(MSG_HANDOFF_SENT)


def _menu_text(ctx: Context, text: str) -> str | None:
    """Free text on the main menu (SMS/Telegram): the NLU picks the journey."""
    from bot.journeys.details import is_address_keyword
    from bot.understand import journey_for

    if is_address_keyword(text):  # after a USSD address change: the rest by SMS
        return "address_followup"
    target = journey_for(text)
    if target is None:
        ctx.say(MSG_HELP)
    return target


def register(journeys: Journeys) -> None:
    journeys.add(Node("language_first", _language_prompt, handle=_choose_language_first))
    journeys.add(Node("language", _language_prompt, handle=_choose_language))
    journeys.add(Node("consent", _consent_prompt, handle=_consent))
    journeys.add(Node("consent_declined", _end(MSG_DECLINED)))
    menu = journeys.menu("menu", "", MAIN_MENU, root=True)
    journeys.nodes["menu"] = Node("menu", menu.prompt, handle=menu.handle, on_text=_menu_text)
    more = journeys.menu("more", "", MORE_MENU)
    journeys.nodes["more"] = Node("more", more.prompt, handle=more.handle, on_text=_menu_text)
    journeys.add(Node("help", _end(MSG_HELP, MSG_HELP_USSD)))
    journeys.add(Node("how_to_apply", _how_to_apply, handle=lambda _c, v: v, on_enter=_apply_enter))
    journeys.add(Node("apply_find", _how_to_apply, on_enter=_apply_find))
    journeys.add(Node("apply_here", _apply_here))
    journeys.add(Node("handoff", _handoff_prompt, handle=_handoff_message, on_enter=_enter_handoff))


MSGIDS = (MSG_CONSENT, MSG_AGREE, MSG_DISAGREE, MSG_DECLINED, MSG_LANGUAGE_SET, MSG_HELP,
          MSG_HELP_USSD, MSG_HOW_TO_APPLY, MSG_HANDOFF_USSD, MSG_HANDOFF_ASK, MSG_HANDOFF_SENT,
          *(label for label, _ in MAIN_MENU + MORE_MENU))
