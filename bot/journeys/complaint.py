"""Make a complaint (category, description on SMS/Telegram, optional anonymity for misconduct and
fraud, acknowledgement with the reference) and complaint status by reference (SPEC §4, §6)."""

from __future__ import annotations

from bot.engine import Context, Journeys, Node
from bot.journeys.personal import require_level2
from bot.prompt import Option, Prompt

MAY_BE_ANONYMOUS = frozenset({"misconduct", "fraud"})

MSG_CATEGORY = "What is the problem?"
MSG_DESCRIBE = "Write your complaint in a few words."
MSG_TOO_SHORT = "Please write a little more."
MSG_ANONYMOUS = "Hide your name and number from officers?"
MSG_HIDE = "Yes, hide them"
MSG_SHOW = "No"
MSG_ACK_USSD = "Complaint {ref} received. To add details, SMS {ref} and your words within 24h."
"""The USSD screen is short; E1 also sends the full acknowledgement by SMS."""
MSG_STATUS_ASK = "Type your complaint number (8 digits)."
MSG_STATUS_REPLY = "Officer: {reply}"
MSG_MINE = "Your complaints:"
MSG_MINE_NONE = "You have no complaints with us."


def _categories(ctx: Context) -> Prompt:
    from portal.services.grievance_catalogue import CATEGORIES, category_label

    options = tuple(Option(code, category_label(code, ctx.locale)) for code in CATEGORIES)
    return Prompt(ctx.t(MSG_CATEGORY), options)


def _choose_category(ctx: Context, code: str) -> str:
    ctx.conv.data["complaint"] = {"category": code}
    if ctx.channel != "ussd":
        return "complaint_describe"
    return "complaint_anonymous" if code in MAY_BE_ANONYMOUS else _submit(ctx)


def _describe_prompt(ctx: Context) -> Prompt:
    return Prompt(ctx.t(MSG_DESCRIBE), free_input=True)


def _describe(ctx: Context, text: str) -> str | None:
    if len(text.strip()) < 3:
        ctx.say(MSG_TOO_SHORT)
        return None
    ctx.conv.data["complaint"]["description"] = text.strip()
    if ctx.conv.data["complaint"]["category"] in MAY_BE_ANONYMOUS:
        return "complaint_anonymous"
    return _submit(ctx)


def _anonymous_prompt(ctx: Context) -> Prompt:
    return Prompt(ctx.t(MSG_ANONYMOUS), (Option("yes", ctx.t(MSG_HIDE)), Option("no", ctx.t(MSG_SHOW))))


def _anonymous(ctx: Context, value: str) -> str:
    ctx.conv.data["complaint"]["anonymous"] = value == "yes"
    return _submit(ctx)


def _submit(ctx: Context) -> str:
    """Store the grievance now (the adapter commits before replying), then acknowledge."""
    details = ctx.conv.data["complaint"]
    reference = ctx.services.lodge_grievance(
        category=details["category"], description=details.get("description"),
        anonymous=bool(details.get("anonymous")), locale=ctx.locale,
    )
    ctx.conv.data["complaint"] = {"reference": reference}
    return "complaint_done"


def _done(ctx: Context) -> Prompt:
    from portal.services.case_messages import ACKNOWLEDGED

    reference = ctx.conv.data.get("complaint", {}).get("reference", "")
    if ctx.channel == "ussd":
        return Prompt(ctx.t(MSG_ACK_USSD, ref=reference), end=True)
    return Prompt(ctx.t(ACKNOWLEDGED, reference=reference), end=True)


def _status_ask(ctx: Context) -> Prompt:
    return Prompt(ctx.t(MSG_STATUS_ASK), free_input=True)


def _status_lookup(ctx: Context, text: str) -> str | None:
    from portal.services import case_messages

    outcome, view = ctx.services.grievance_status(text, ctx.locale)
    if outcome == "rate_limited":
        from bot.abuse import MSG_LOOKUPS

        ctx.say(MSG_LOOKUPS)
        return None
    if outcome != "found" or view is None:
        invalid = outcome == "invalid"
        ctx.say(case_messages.REFERENCE_INVALID if invalid else case_messages.REFERENCE_NOT_FOUND)
        return None
    ctx.conv.data["status"] = {"text": view["text"], "last_reply": view.get("last_reply") or ""}
    return "status_show"


def _status_show(ctx: Context) -> Prompt:
    from bot.journeys.personal import longest_fitting

    view = ctx.conv.data.get("status", {})
    parts = [view.get("text", "")]
    if view.get("last_reply"):
        parts.append(ctx.t(MSG_STATUS_REPLY, reply=view["last_reply"]))
    return Prompt(longest_fitting(ctx, parts), end=True)


def _load_mine(ctx: Context) -> str | None:
    mine = ctx.services.my_grievances(ctx.locale)
    ctx.conv.data["mine"] = [{"text": v["text"], "last_reply": v.get("last_reply") or "",
                              "reference": v["reference"]} for v in mine]
    return None if mine else "my_complaints_none"


def _mine(ctx: Context) -> Prompt:
    """One option per complaint (its reference number); choosing one shows its status view."""
    return Prompt(ctx.t(MSG_MINE), tuple(Option(str(i), _reference_label(ctx, v["reference"]))
                                         for i, v in enumerate(ctx.conv.data.get("mine", []))))


def _reference_label(ctx: Context, reference: str) -> str:
    from chumnuoy.digits import to_khmer_digits

    return to_khmer_digits(reference) if ctx.locale == "km" else reference


def _pick_mine(ctx: Context, value: str) -> str:
    ctx.conv.data["status"] = ctx.conv.data["mine"][int(value)]
    return "status_show"


def register(journeys: Journeys) -> None:
    journeys.add(Node("complaint", _categories, handle=_choose_category))
    journeys.add(Node("complaint_describe", _describe_prompt, handle=_describe))
    journeys.add(Node("complaint_anonymous", _anonymous_prompt, handle=_anonymous))
    journeys.add(Node("complaint_done", _done))
    journeys.add(Node("status", _status_ask, handle=_status_lookup))
    journeys.add(Node("status_show", _status_show))
    journeys.add(Node("my_complaints", _mine, handle=_pick_mine,
                      on_enter=require_level2("my_complaints", _load_mine)))
    journeys.add(Node("my_complaints_none", lambda ctx: Prompt(ctx.t(MSG_MINE_NONE), end=True)))


MSGIDS = (MSG_CATEGORY, MSG_DESCRIBE, MSG_TOO_SHORT, MSG_ANONYMOUS, MSG_HIDE, MSG_SHOW, MSG_ACK_USSD,
          MSG_STATUS_ASK, MSG_STATUS_REPLY, MSG_MINE, MSG_MINE_NONE)
