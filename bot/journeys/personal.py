"""Personal features (level 2): verification on the way in, my benefits and payments, my details.

Verification is E2's identity service: `begin_verification` (the first registry call, made only
when a personal feature is chosen), which person on a shared phone, then the date of birth.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.budget import sms_segments, ussd_fits
from bot.engine import Context, Journeys, Node
from bot.prompt import Option, Prompt
from chumnuoy.i18n import format_date, format_riel, translate
from registry_client.types import RegistryError

MSG_BUSY = "Sorry, the service is busy. Try again later."
MSG_NO_BENEFITS = "We found no benefits for you now."
MSG_BENEFITS = "Your benefits:"
MSG_PAYMENT = "{date} {amount} {status}"
MSG_NEXT = "Next: {date}"
MSG_NEXT_VISIT = "Next: after your health visit"
MSG_COLLECT = "Collect at: {place}"
MSG_PAYMENTS = "Payments:"
RECENT = 3
"""Payments shown per benefit (newest first) on USSD and SMS; Telegram shows them all."""
TELEGRAM_PAYMENTS = 24
"""Payments kept per benefit for Telegram's full list (the newest; the rest are history)."""
TELEGRAM_MAX_TEXT = 4096

VERIFY_FAILED_STAY = frozenset({"not_matched", "invalid_input"})


def fits_screen(ctx: Context, text: str) -> bool:
    """One USSD screen, one Telegram message (4,096 characters), or two SMS segments."""
    if ctx.channel == "ussd":
        return ussd_fits(text)
    if ctx.channel == "telegram":
        return len(text) <= TELEGRAM_MAX_TEXT
    return sms_segments(text) <= 2


def longest_fitting(ctx: Context, parts: list[str]) -> str:
    """As many of `parts` (in order, one per line) as fit one screen (`fits_screen`)."""
    text = ""
    for part in parts:
        candidate = f"{text}\n{part}" if text else part
        if fits_screen(ctx, candidate):
            text = candidate
    return text or parts[0]


def require_level2(target: str, load: Callable[[Context], str | None]) -> Callable[[Context], str | None]:
    """An `on_enter` hook: verify first (remembering `target`), then `load` the data."""

    def on_enter(ctx: Context) -> str | None:
        if ctx.services.level() != 2:
            ctx.conv.data["after_verify"] = target
            try:
                step = ctx.services.begin_verification()
            except RegistryError:
                return "service_busy"
            if step.kind != "verified":
                ctx.conv.data["verify"] = {"kind": step.kind, "message": step.message}
                return "verify_choose" if step.kind == "choose_person" else "verify_dob"
        try:
            return load(ctx)
        except RegistryError:
            return "service_busy"

    return on_enter


def _verify_prompt(ctx: Context) -> Prompt:
    from portal.services.identity import MSG_ASK_DOB, MSG_CHOOSE

    default = MSG_CHOOSE if ctx.conv.node == "verify_choose" else MSG_ASK_DOB
    message = ctx.conv.data.get("verify", {}).get("message", default)
    notice = ""
    if message not in (MSG_ASK_DOB, MSG_CHOOSE):  # an error: shown as notice, the question stays
        notice, message = ctx.t(message), default
    return Prompt(ctx.t(message), free_input=True, notice=notice)


def _after(ctx: Context, step_kind: str, message: str) -> str | None:
    ctx.conv.data["verify"] = {"kind": step_kind, "message": message}
    if step_kind == "verified":
        ctx.conv.data.pop("verify", None)
        return ctx.conv.data.pop("after_verify", "menu")
    if step_kind == "locked":
        return "verify_locked"
    if step_kind == "choose_person":
        return "verify_choose" if ctx.conv.node != "verify_choose" else None
    if step_kind in ("ask_dob", "linked"):
        return "verify_dob" if ctx.conv.node != "verify_dob" else None
    return None  # not matched / invalid input: ask again with the message shown


def _choose(ctx: Context, text: str) -> str | None:
    try:
        step = ctx.services.choose_person(text)
    except RegistryError:
        return "service_busy"
    return _after(ctx, step.kind, step.message)


def _dob(ctx: Context, text: str) -> str | None:
    try:
        step = ctx.services.check_date_of_birth(text)
    except RegistryError:
        return "service_busy"
    return _after(ctx, step.kind, step.message)


def _locked(ctx: Context) -> Prompt:
    from portal.services.identity import MSG_LOCKED

    return Prompt(ctx.t(MSG_LOCKED), end=True)


def _busy(ctx: Context) -> Prompt:
    return Prompt(ctx.t(MSG_BUSY), end=True)


# ------------------------------------------------------------------ benefits and payments

def _load_benefits(ctx: Context) -> str | None:
    telegram = ctx.channel == "telegram"
    items = ctx.services.entitlements(TELEGRAM_PAYMENTS) if telegram else ctx.services.entitlements()
    locale = ctx.locale
    views = []
    for item in items:
        lines = []
        for payment in item.payments[:TELEGRAM_PAYMENTS if telegram else RECENT]:
            day = payment.paid_date or payment.due_date or payment.date
            lines.append(translate(locale, MSG_PAYMENT, date=format_date(day, locale) if day else "",
                                   amount=format_riel(payment.amount_riel, locale),
                                   status=translate(locale, _status_msgid(payment.status))).strip())
        nxt = item.next_payment
        if nxt is not None and nxt.expected_date is not None:
            next_line = translate(locale, MSG_NEXT, date=format_date(nxt.expected_date, locale))
        elif nxt is not None:
            next_line = translate(locale, MSG_NEXT_VISIT)
        else:
            next_line = ""
        amount = format_riel(item.amount_riel, locale) if item.amount_riel else ""
        name = translate(locale, item.name)
        if not item.for_self:
            name = f"{item.beneficiary_name}: {name}"
        frequency = translate(locale, _frequency_msgid(item.frequency)) if item.frequency else ""
        views.append({
            "label": f"{name} {amount}".strip(),
            "summary": f"{name}: {translate(locale, 'enrolled')} {amount} {frequency}".strip(),
            "next": next_line, "payments": lines,
            "collect": (translate(locale, MSG_COLLECT, place=item.collection_point)
                        if item.collection_point else ""),
        })
    ctx.conv.data["benefits"] = views
    return "benefits_none" if not views else None


def _frequency_msgid(frequency: str) -> str:
    from portal.services.entitlements import FREQUENCY_MSGIDS

    return FREQUENCY_MSGIDS.get(frequency, frequency)


def _status_msgid(status: str) -> str:
    from portal.services.entitlements import STATUS_MSGIDS

    return STATUS_MSGIDS.get(status, status)


def _benefits(ctx: Context) -> Prompt:
    """A menu of the benefits (USSD, SMS); on Telegram every benefit with all its payments at once."""
    if ctx.channel == "telegram":
        return Prompt(_full_list(ctx, ctx.conv.data.get("benefits", [])), end=True)
    return Prompt(ctx.t(MSG_BENEFITS), tuple(Option(str(i), v["label"])
                                            for i, v in enumerate(ctx.conv.data.get("benefits", []))))


def _full_list(ctx: Context, views: list[dict]) -> str:
    """Every benefit (summary, payments newest first, next payment, where to collect) in one message;
    when that is over Telegram's 4,096 characters the oldest payments are left out first."""
    most = max((len(view["payments"]) for view in views), default=0)
    for shown in range(most, -1, -1):
        blocks = [ctx.t(MSG_BENEFITS)]
        for view in views:
            lines = [view["summary"], *view["payments"][:shown], view["next"], view["collect"]]
            blocks.append("\n".join(line for line in lines if line))
        text = "\n\n".join(blocks)
        if fits_screen(ctx, text):
            return text
    return text[:TELEGRAM_MAX_TEXT]


def _recent(view: dict) -> list[str]:
    """The payment lines shown on USSD and SMS (and the next payment)."""
    return [p for p in [*view["payments"][:RECENT], view["next"]] if p]


def _pick_benefit(ctx: Context, value: str) -> str:
    ctx.conv.data["benefit"] = int(value)
    return "benefit_show"


def _benefit_show(ctx: Context) -> Prompt:
    """The recent payments (and the next one) as a paged list; choosing one adds where to collect.
    When everything fits one screen / two SMS segments it is shown at once."""
    view = ctx.conv.data["benefits"][ctx.conv.data.get("benefit", 0)]
    lines = _recent(view)
    everything = "\n".join([view["summary"], *lines, *([view["collect"]] if view["collect"] else [])])
    if fits_screen(ctx, everything):
        return Prompt(everything, end=True)
    return Prompt(ctx.t(MSG_PAYMENTS), tuple(Option(str(i), line) for i, line in enumerate(lines)))


def _pick_payment(ctx: Context, value: str) -> str:
    ctx.conv.data["payment"] = int(value)
    return "payment_show"


def _payment_show(ctx: Context) -> Prompt:
    view = ctx.conv.data["benefits"][ctx.conv.data.get("benefit", 0)]
    lines = _recent(view)
    chosen = lines[min(ctx.conv.data.get("payment", 0), len(lines) - 1)]
    return Prompt(longest_fitting(ctx, [chosen, view["collect"], view["summary"]] if view["collect"]
                                  else [chosen, view["summary"]]), end=True)


def _no_benefits(ctx: Context) -> Prompt:
    return Prompt(ctx.t(MSG_NO_BENEFITS), end=True)


def register(journeys: Journeys) -> None:
    journeys.add(Node("verify_choose", _verify_prompt, handle=_choose))
    journeys.add(Node("verify_dob", _verify_prompt, handle=_dob))
    journeys.add(Node("verify_locked", _locked))
    journeys.add(Node("service_busy", _busy))
    journeys.add(Node("benefits", _benefits, handle=_pick_benefit,
                      on_enter=require_level2("benefits", _load_benefits)))
    journeys.add(Node("benefits_none", _no_benefits))
    journeys.add(Node("benefit_show", _benefit_show, handle=_pick_payment))
    journeys.add(Node("payment_show", _payment_show))


MSGIDS = (MSG_BUSY, MSG_NO_BENEFITS, MSG_BENEFITS, MSG_PAYMENT, MSG_NEXT, MSG_NEXT_VISIT, MSG_COLLECT,
          MSG_PAYMENTS)
