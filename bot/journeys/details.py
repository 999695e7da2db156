"""Update my details (level 2): what the registry holds is shown, never asked again (Once-Only);
the citizen says what changed and E1's change-request service stores it for an officer.

Phone number, address (province from a paged list; the rest typed on SMS, or an officer calls back
after USSD), household members (birth, death, moved out) and name / date-of-birth corrections.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path
from typing import Any

from bot.engine import Context, Journeys, Node
from bot.journeys.personal import longest_fitting, require_level2
from bot.prompt import Option, Prompt
from chumnuoy.digits import to_ascii_digits
from chumnuoy.i18n import format_date

PROVINCES_CSV = Path(__file__).resolve().parents[2] / "registry_sandbox" / "data" / "provinces.csv"
"""The 25 provinces with their official codes (public reference data, not registry records)."""

MSG_WHAT = "What changed?"
MSG_PHONE = "Phone number"
MSG_ADDRESS = "Address"
MSG_MEMBERS = "Household members"
MSG_CORRECT = "Name or birth date"
MSG_NEW_PHONE = "Type the new phone number."
MSG_BAD_PHONE = "This phone number is not right."
MSG_PROVINCE = "New province?"
MSG_ADDRESS_REST = "Write the district, commune and village."
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
MSG_CALLBACK = "An officer will call you for the rest."
MSG_NONE = "No one else is in your household."
MSG_HOLDS = "{name}, born {born}."


@cache
def provinces() -> tuple[tuple[str, str, str], ...]:
    with PROVINCES_CSV.open(encoding="utf-8") as handle:
        return tuple((row["code"], row["name_km"], row["name_en"]) for row in csv.DictReader(handle))


def _load(ctx: Context) -> str | None:
    person = ctx.services.verified_person()
    born = format_date(person.birth_date, ctx.locale) if person.birth_date else ""
    name = person.full_name if ctx.locale == "km" else (
        f"{person.surname_latin or ''} {person.given_name_latin or ''}".strip() or person.full_name)
    household = ctx.services.household()
    ctx.conv.data["details"] = {
        "holds": ctx.t(MSG_HOLDS, name=name, born=born), "phones": list(person.phones),
        "spid": person.spid, "household": person.household_id,
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
                      (MSG_PHONE, "details_phone"), (MSG_ADDRESS, "details_province"),
                      (MSG_MEMBERS, "details_member"), (MSG_CORRECT, "details_correct"))))


def _free(msgid: str):  # type: ignore[no-untyped-def]
    return lambda ctx: Prompt(ctx.t(msgid), free_input=True)


def _submit(ctx: Context, change_type: str, new_value: Any, *, spid: str | None = None,
            old_value: Any = None) -> str:
    details = ctx.conv.data["details"]
    ctx.services.create_change_request(change_type=change_type, new_value=new_value, old_value=old_value,
                                       person_spid=spid or details["spid"], household_id=details["household"],
                                       locale=ctx.locale)
    return "details_done"


def _new_phone(ctx: Context, text: str) -> str | None:
    from portal.services.identity import normalise_phone

    digits = "".join(ch for ch in to_ascii_digits(text) if ch.isdigit())
    if not 8 <= len(digits) <= 12:
        ctx.say(MSG_BAD_PHONE)
        return None
    old = ctx.conv.data["details"]["phones"]
    return _submit(ctx, "phone", normalise_phone(text), old_value=old[0] if old else None)


def _province_prompt(ctx: Context) -> Prompt:
    index = 1 if ctx.locale == "km" else 2
    return Prompt(ctx.t(MSG_PROVINCE), tuple(Option(row[0], row[index]) for row in provinces()))


def _province(ctx: Context, code: str) -> str:
    ctx.conv.data["details"]["province"] = code
    if ctx.channel == "ussd":
        return _submit(ctx, "address", {"province_code": code, "rest": "officer_callback"})
    return "details_address_rest"


def _address_rest(ctx: Context, text: str) -> str:
    code = ctx.conv.data["details"]["province"]
    return _submit(ctx, "address", {"province_code": code, "rest": text.strip()})


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

    parts = [ctx.t(CHANGE_RECEIVED)]
    if ctx.channel == "ussd" and ctx.conv.data.get("details", {}).get("province"):
        parts = [ctx.t(MSG_CALLBACK), *parts]
    return Prompt(longest_fitting(ctx, parts), end=True)


def register(journeys: Journeys) -> None:
    journeys.add(Node("details", _menu, handle=lambda _c, v: v, on_enter=require_level2("details", _load)))
    journeys.add(Node("details_phone", _free(MSG_NEW_PHONE), handle=_new_phone))
    journeys.add(Node("details_province", _province_prompt, handle=_province))
    journeys.add(Node("details_address_rest", _free(MSG_ADDRESS_REST), handle=_address_rest))
    journeys.add(Node("details_member", _member_what, handle=_member_choice))
    journeys.add(Node("details_who", _who, handle=_who_chosen))
    journeys.add(Node("details_nobody", lambda ctx: Prompt(ctx.t(MSG_NONE), end=True)))
    journeys.add(Node("details_baby", _free(MSG_BABY), handle=_baby))
    journeys.add(Node("details_correct", _correct, handle=lambda _c, v: v))
    journeys.add(Node("details_name", _free(MSG_NEW_NAME), handle=_new_name))
    journeys.add(Node("details_dob", _free(MSG_NEW_DOB), handle=_new_dob))
    journeys.add(Node("details_done", _done))


MSGIDS = (MSG_WHAT, MSG_PHONE, MSG_ADDRESS, MSG_MEMBERS, MSG_CORRECT, MSG_NEW_PHONE, MSG_BAD_PHONE,
          MSG_PROVINCE, MSG_ADDRESS_REST, MSG_MEMBER_WHAT, MSG_BIRTH, MSG_DEATH, MSG_MOVED, MSG_WHO, MSG_BABY,
          MSG_NAME_OR_DOB, MSG_NAME, MSG_DOB, MSG_NEW_NAME, MSG_NEW_DOB, MSG_CALLBACK, MSG_NONE, MSG_HOLDS)
