"""Update my details (level 2): what the registry holds is shown, never asked again (Once-Only);
the citizen says what changed and E1's change-request service stores it for an officer.

Phone number, address, household members (birth, death, moved out) and name / date-of-birth
corrections.

Address (SPEC §4): on SMS and Telegram province → district → commune → village from the portal's
gazetteer (`portal.services.places`), each a numbered list that also takes a typed name (Khmer or
Latin, typos, level words); several matches give a short list, none a polite "try again". On USSD the
province comes from a paged list; the request is stored with the province, an SMS invites the citizen
to send ADDRESS / អាសយដ្ឋាន for the rest (which resumes at the district and completes the same
request), or an officer calls back. The same place picker serves "how to apply" (down to the commune).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.engine import MSG_WRONG_CHOICE, NEXT_PAGE, Context, Journeys, Node
from bot.journeys.personal import longest_fitting, require_level2
from bot.prompt import Option, Prompt
from chumnuoy.digits import to_ascii_digits
from chumnuoy.i18n import format_date

MSG_WHAT = "What changed?"
MSG_PHONE = "Phone number"
MSG_ADDRESS = "Address"
MSG_MEMBERS = "Household members"
MSG_CORRECT = "Name or birth date"
MSG_NEW_PHONE = "Type the new phone number."
MSG_BAD_PHONE = "This phone number is not right."
MSG_PROVINCE = "New province?"
MSG_MEMBER_WHAT = "What happened?"
MSG_BIRTH = "A baby was born"
MSG_DEATH = "Someone died"
MSG_MOVED = "Someone moved out"
MSG_WHO = "Who?"
MSG_BABY = "Write the baby's name and birth date."
MSG_NAME_OR_DOB = "What is wrong?"
MSG_NAME = "My name"
MSG_DOB = "My birth date"
MSG_NEW_NAME = "Write your correct name."
MSG_NEW_DOB = "Type your correct birth date, DDMMYYYY."
MSG_NONE = "No one else is in your household."
MSG_HOLDS = "{name}, born {born}."


# The place picker and the USSD follow-up: msgids of translations/*/LC_MESSAGES/places.po
MSG_PICK_PROVINCE = "Which province? Type a number or the name."
MSG_PICK_DISTRICT = "{parent}: which district? Number or name."
MSG_PICK_COMMUNE = "{parent}: which commune? Number or name."
MSG_PICK_VILLAGE = "{parent}: which village? Number or name."
MSG_PICK_SHORT = "Did you mean one of these?"
MSG_NOT_FOUND = "Sorry, we did not find that name here. Try again."
MSG_NEW_ADDRESS = "New address: {address}"
MSG_USSD_ADDRESS_DONE = "We sent you an SMS to finish the address, or an officer will call you."
MSG_FOLLOWUP_SMS = "New province {province} received. For district, commune and village, SMS ADDRESS."
PLACES_MSGIDS = (MSG_PICK_PROVINCE, MSG_PICK_DISTRICT, MSG_PICK_COMMUNE, MSG_PICK_VILLAGE, MSG_PICK_SHORT,
                 MSG_NOT_FOUND, MSG_NEW_ADDRESS, MSG_USSD_ADDRESS_DONE, MSG_FOLLOWUP_SMS)

LEVELS = ("province", "district", "commune", "village")
PICK_NODES = {level: f"place_{level}" for level in LEVELS}
PICK_SHORT = "place_pick"
_QUESTIONS = {"province": MSG_PICK_PROVINCE, "district": MSG_PICK_DISTRICT, "commune": MSG_PICK_COMMUNE,
              "village": MSG_PICK_VILLAGE}
ADDRESS_WORDS = frozenset({"អាសយដ្ឋាន", "address", "addr", "asayathan"})
"""A whole SMS with one of these (after a USSD address change) resumes the address at the district."""
FOLLOWUP_WINDOW = timedelta(days=7)
FINISHED = {"details": "village", "apply": "commune"}
"""How deep the picker goes for each purpose; `apply` ends on "how to apply" for that commune."""


def is_address_keyword(text: str) -> bool:
    from nlu.normalize import normalize

    return normalize(text).casefold().strip(" .!?") in ADDRESS_WORDS


def _load(ctx: Context) -> str | None:
    person = ctx.services.verified_person()
    born = format_date(person.birth_date, ctx.locale) if person.birth_date else ""
    name = person.full_name if ctx.locale == "km" else (
        f"{person.surname_latin or ''} {person.given_name_latin or ''}".strip() or person.full_name)
    household = ctx.services.household()
    address = household.address if household is not None else person.address
    ctx.conv.data["details"] = {
        "holds": ctx.t(MSG_HOLDS, name=name, born=born), "phones": list(person.phones),
        "spid": person.spid, "household": person.household_id,
        "address": {f"{level}_code": getattr(address, f"{level}_code") for level in LEVELS
                    if getattr(address, f"{level}_code")},
        "members": [{"spid": m.spid, "name": m.full_name if ctx.locale == "km" else
                     (f"{m.surname_latin or ''} {m.given_name_latin or ''}".strip() or m.full_name)}
                    for m in (household.members if household else ()) if m.spid != person.spid
                    and not m.is_deceased],
    }
    return None


def _menu(ctx: Context) -> Prompt:
    holds = ctx.conv.data.get("details", {}).get("holds", "")
    title = longest_fitting(ctx, [holds, ctx.t(MSG_WHAT)]) if ctx.channel != "ussd" else ctx.t(MSG_WHAT)
    return Prompt(title,
                  tuple(Option(v, ctx.t(label)) for label, v in (
                      (MSG_PHONE, "details_phone"), (MSG_ADDRESS, "details_address"),
                      (MSG_MEMBERS, "details_member"), (MSG_CORRECT, "details_correct"))))


def _free(msgid: str):  # type: ignore[no-untyped-def]
    return lambda ctx: Prompt(ctx.t(msgid), free_input=True)


def _submit(ctx: Context, change_type: str, new_value: Any, *, spid: str | None = None,
            old_value: Any = None, area: tuple[str | None, str | None] = (None, None)) -> str:
    details = ctx.conv.data["details"]
    ctx.services.create_change_request(change_type=change_type, new_value=new_value, old_value=old_value,
                                       person_spid=spid or details["spid"], household_id=details["household"],
                                       locale=ctx.locale, province_code=area[0], commune_code=area[1])
    return "details_done"


def _new_phone(ctx: Context, text: str) -> str | None:
    from portal.services.identity import normalise_phone

    digits = "".join(ch for ch in to_ascii_digits(text) if ch.isdigit())
    if not 8 <= len(digits) <= 12:
        ctx.say(MSG_BAD_PHONE)
        return None
    old = ctx.conv.data["details"]["phones"]
    return _submit(ctx, "phone", normalise_phone(text), old_value=old[0] if old else None)


# ------------------------------------------------------------------ the place picker

def _picker(ctx: Context) -> dict[str, Any]:
    return ctx.conv.data.setdefault("picker", {"purpose": "details"})


def start_picker(ctx: Context, purpose: str, **preset: str) -> str:
    """Begin choosing a place for `purpose` (details | apply); the node to go to."""
    from portal.services import places

    places.ensure_loaded(ctx.services.session)
    ctx.conv.data["picker"] = {"purpose": purpose, **preset}
    level = next((lv for lv in LEVELS if lv not in preset), "village")
    return PICK_NODES[level]


def _parent(picker: dict[str, Any], level: str) -> str | None:
    index = LEVELS.index(level)
    return picker.get(LEVELS[index - 1]) if index else None


def _units(ctx: Context, level: str) -> list[Any]:
    from portal.services import places

    return places.children(ctx.services.session, _parent(_picker(ctx), level))


def _level_prompt(level: str):  # type: ignore[no-untyped-def]
    def prompt(ctx: Context) -> Prompt:
        from portal.services import places

        parent = places.get(ctx.services.session, _parent(_picker(ctx), level))
        question = ctx.t(_QUESTIONS[level], parent=places.label(parent, ctx.locale) if parent else "")
        options = tuple(Option(u.code, places.name(u, ctx.locale)) for u in _units(ctx, level))
        if ctx.channel == "ussd":  # no typing on USSD: a paged list (only the province is asked there)
            return Prompt(ctx.t(MSG_PROVINCE) if level == "province" else question, options)
        return Prompt(question, options, free_input=True)

    return prompt


def _level_handle(level: str):  # type: ignore[no-untyped-def]
    def handle(ctx: Context, text: str) -> str | None:
        if ctx.channel == "ussd":  # the engine chose the option: `text` is its code
            return _chosen(ctx, level, text)
        return _typed(ctx, level, text, [u.code for u in _units(ctx, level)])

    return handle


def _typed(ctx: Context, level: str, text: str, listed: list[str]) -> str | None:
    """A number from the list (Khmer or ASCII digits), `98` for the next page, or a typed name."""
    from portal.services import places

    key = to_ascii_digits(text.strip())
    if key == NEXT_PAGE:
        ctx.conv.page += 1
        return None
    if key.isascii() and key.isdigit():
        if 1 <= int(key) <= len(listed):
            return _chosen(ctx, level, listed[int(key) - 1])
        ctx.say(MSG_WRONG_CHOICE)
        return None
    one, short = places.resolve(places.search(ctx.services.session, _parent(_picker(ctx), level), text))
    if one is not None:
        return _chosen(ctx, level, one.code)
    if short:
        _picker(ctx)["short"] = {"level": level, "codes": [p.code for p in short]}
        return PICK_SHORT
    ctx.say(MSG_NOT_FOUND)
    return None


def _short_prompt(ctx: Context) -> Prompt:
    from portal.services import places

    codes = _picker(ctx).get("short", {}).get("codes", [])
    found = [p for p in (places.get(ctx.services.session, code) for code in codes) if p is not None]
    return Prompt(ctx.t(MSG_PICK_SHORT), tuple(Option(p.code, places.name(p, ctx.locale)) for p in found),
                  free_input=True)


def _short_handle(ctx: Context, text: str) -> str | None:
    short = _picker(ctx).get("short", {})
    return _typed(ctx, short.get("level", "province"), text, list(short.get("codes", [])))


def _chosen(ctx: Context, level: str, code: str) -> str | None:
    from portal.services import places

    picker = _picker(ctx)
    place = places.get(ctx.services.session, code)
    if place is None or place.level != level or place.parent_code != _parent(picker, level):
        ctx.say(MSG_WRONG_CHOICE)
        return None
    for deeper in LEVELS[LEVELS.index(level):]:
        picker.pop(deeper, None)
    picker[level] = code
    picker.pop("short", None)
    purpose = picker.get("purpose", "details")
    last = level == FINISHED.get(purpose, "village") or not places.children(ctx.services.session, code)
    if purpose == "apply":
        return "apply_here" if last else PICK_NODES[LEVELS[LEVELS.index(level) + 1]]
    if ctx.channel == "ussd" and level == "province":
        return _submit_ussd_province(ctx, code)
    return _submit_address(ctx) if last else PICK_NODES[LEVELS[LEVELS.index(level) + 1]]


def _codes(picker: dict[str, Any]) -> dict[str, str]:
    return {f"{level}_code": picker[level] for level in LEVELS if picker.get(level)}


def _submit_ussd_province(ctx: Context, code: str) -> str:
    """USSD: store the province now; an SMS invites the citizen to send the rest (or an officer calls)."""
    from portal.services import places
    from portal.services.outbox import enqueue

    session = ctx.services.session
    details = ctx.conv.data["details"]
    details["province"] = code
    new = {**places.address_view(session, {"province_code": code}), "rest": "sms_followup_or_callback"}
    province = places.get(session, code)
    enqueue(session, channel="sms", address=ctx.address, kind="notice", locale=ctx.locale,
            identity_id=ctx.services.identity.id, now=ctx.now,
            text=ctx.t(MSG_FOLLOWUP_SMS, province=places.name(province, ctx.locale) if province else code))
    return _submit(ctx, "address", new, old_value=places.address_view(session, details.get("address", {})),
                   area=(code, None))


def _submit_address(ctx: Context) -> str:
    """SMS/Telegram: the whole address; completes a pending USSD request when resuming one."""
    from portal.services import places

    session = ctx.services.session
    picker, details = _picker(ctx), ctx.conv.data["details"]
    codes = _codes(picker)
    new = places.address_view(session, codes)
    details["new_address"] = ", ".join(
        places.label(p, ctx.locale) for p in (places.get(session, picker.get(lv)) for lv in reversed(LEVELS))
        if p is not None)
    area = (codes.get("province_code"), codes.get("commune_code"))
    followup = picker.get("followup")
    if followup and _complete_followup(ctx, int(followup), new, area):
        return "details_done"
    return _submit(ctx, "address", new, old_value=places.address_view(session, details.get("address", {})),
                   area=area)


def _pending_followup(ctx: Context, spid: str) -> Any:
    """The citizen's pending USSD address request still waiting for the district and below."""
    from sqlalchemy import select

    from portal.models.cases import ChangeRequest

    since = ctx.now - FOLLOWUP_WINDOW
    rows = ctx.services.session.scalars(
        select(ChangeRequest).where(ChangeRequest.person_spid == spid, ChangeRequest.change_type == "address",
                                    ChangeRequest.status == "pending", ChangeRequest.source == "citizen",
                                    ChangeRequest.created_at >= since)
        .order_by(ChangeRequest.created_at.desc(), ChangeRequest.id.desc()))
    return next((r for r in rows if isinstance(r.new_value, dict) and r.new_value.get("rest")
                 and r.new_value.get("province_code") and r.decided_by is None), None)


def _complete_followup(ctx: Context, request_id: int, new: dict[str, str],
                       area: tuple[str | None, str | None]) -> bool:
    from portal.models.cases import ChangeRequest
    from portal.services import audit

    session = ctx.services.session
    request = session.get(ChangeRequest, request_id)
    if request is None or request.status != "pending" or request.decided_by is not None:
        return False
    request.new_value = dict(new)  # a new object: the JSON column sees the change
    request.province_code, request.commune_code = area
    audit.record(session, actor=f"citizen:{ctx.channel}", action="complete_change_request",
                 subject_type="change_request", subject_id=str(request.id),
                 detail={"change_type": "address"}, now=ctx.now)
    session.commit()
    return True


def _enter_address(ctx: Context) -> str:
    return start_picker(ctx, "details")


def _load_followup(ctx: Context) -> str:
    """SMS `ADDRESS`: verified, then resume a pending USSD address at the district (or start over)."""
    _load(ctx)
    request = _pending_followup(ctx, ctx.conv.data["details"]["spid"])
    if request is None:
        return start_picker(ctx, "details")
    return start_picker(ctx, "details", province=request.new_value["province_code"], followup=str(request.id))


def _member_what(ctx: Context) -> Prompt:
    return Prompt(ctx.t(MSG_MEMBER_WHAT), (Option("birth", ctx.t(MSG_BIRTH)),
                                           Option("death", ctx.t(MSG_DEATH)),
                                           Option("moved", ctx.t(MSG_MOVED))))


def _member_choice(ctx: Context, value: str) -> str:
    if value == "birth":
        return "details_baby"
    ctx.conv.data["details"]["member_change"] = "member_death" if value == "death" else "member_moved_out"
    return "details_who" if ctx.conv.data["details"]["members"] else "details_nobody"


def _who(ctx: Context) -> Prompt:
    members = ctx.conv.data["details"]["members"]
    return Prompt(ctx.t(MSG_WHO), tuple(Option(m["spid"], m["name"]) for m in members))


def _who_chosen(ctx: Context, spid: str) -> str:
    return _submit(ctx, ctx.conv.data["details"]["member_change"], None, spid=spid)


def _baby(ctx: Context, text: str) -> str:
    return _submit(ctx, "member_birth", {"description": text.strip()})


def _correct(ctx: Context) -> Prompt:
    return Prompt(ctx.t(MSG_NAME_OR_DOB), (Option("details_name", ctx.t(MSG_NAME)),
                                           Option("details_dob", ctx.t(MSG_DOB))))


def _new_name(ctx: Context, text: str) -> str:
    return _submit(ctx, "name", text.strip())


def _new_dob(ctx: Context, text: str) -> str | None:
    from portal.services.identity import parse_date_of_birth

    born = parse_date_of_birth(text, ctx.channel)
    if born is None:
        from portal.services.identity import MSG_INVALID_DOB

        ctx.say(MSG_INVALID_DOB)
        return None
    return _submit(ctx, "birth_date", born.isoformat())


def _done(ctx: Context) -> Prompt:
    from portal.services.case_messages import CHANGE_RECEIVED

    details = ctx.conv.data.get("details", {})
    parts = [ctx.t(CHANGE_RECEIVED)]
    if ctx.channel == "ussd" and details.get("province"):
        parts = [ctx.t(MSG_USSD_ADDRESS_DONE), *parts]
    elif details.get("new_address"):
        parts = [ctx.t(MSG_NEW_ADDRESS, address=details["new_address"]), *parts]
    return Prompt(longest_fitting(ctx, parts), end=True)


def register(journeys: Journeys) -> None:
    journeys.add(Node("details", _menu, handle=lambda _c, v: v, on_enter=require_level2("details", _load)))
    journeys.add(Node("details_phone", _free(MSG_NEW_PHONE), handle=_new_phone))
    journeys.add(Node("details_address", _level_prompt("province"), on_enter=_enter_address))
    journeys.add(Node("address_followup", _level_prompt("province"),
                      on_enter=require_level2("address_followup", _load_followup)))
    for level in LEVELS:
        journeys.add(Node(PICK_NODES[level], _level_prompt(level), handle=_level_handle(level)))
    journeys.add(Node(PICK_SHORT, _short_prompt, handle=_short_handle))
    journeys.add(Node("details_member", _member_what, handle=_member_choice))
    journeys.add(Node("details_who", _who, handle=_who_chosen))
    journeys.add(Node("details_nobody", lambda ctx: Prompt(ctx.t(MSG_NONE), end=True)))
    journeys.add(Node("details_baby", _free(MSG_BABY), handle=_baby))
    journeys.add(Node("details_correct", _correct, handle=lambda _c, v: v))
    journeys.add(Node("details_name", _free(MSG_NEW_NAME), handle=_new_name))
    journeys.add(Node("details_dob", _free(MSG_NEW_DOB), handle=_new_dob))
    journeys.add(Node("details_done", _done))


MSGIDS = (MSG_WHAT, MSG_PHONE, MSG_ADDRESS, MSG_MEMBERS, MSG_CORRECT, MSG_NEW_PHONE, MSG_BAD_PHONE,
          MSG_PROVINCE, MSG_MEMBER_WHAT, MSG_BIRTH, MSG_DEATH, MSG_MOVED, MSG_WHO, MSG_BABY,
          MSG_NAME_OR_DOB, MSG_NAME, MSG_DOB, MSG_NEW_NAME, MSG_NEW_DOB, MSG_NONE, MSG_HOLDS)
