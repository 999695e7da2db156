"""Check eligibility: the short questionnaire (anyone) or the registry rules (level 2).

Rules, amounts and reasons are E2's catalogue (portal/services/eligibility.py); this module only asks
the questions and shows one line per programme, with the reason when a programme is chosen.
"""

from __future__ import annotations

from typing import Any

from bot.engine import Context, Journeys, Node
from bot.journeys.personal import require_level2
from bot.prompt import Option, Prompt

MSG_HOW = "How do we check?"
MSG_ASK = "Answer a few questions"
MSG_REGISTRY = "Use my registry record"
MSG_YES, MSG_NO = "Yes", "No"
MSG_RESULTS = "Choose one to see why:"
MSG_WHAT_TO_DO = "What can I do?"
OUTCOME_WORDS = {"eligible": "can get", "enrolled": "enrolled", "not_eligible": "no", "maybe": "maybe"}

QUESTIONS: tuple[tuple[str, str, tuple[tuple[str, str, dict[str, Any]], ...]], ...] = (
    ("q_card", "Do you have an Equity Card?", (
        ("Yes, level 1", "1", {"equity_card": "valid", "idpoor_level": 1}),
        ("Yes, level 2", "2", {"equity_card": "valid", "idpoor_level": 2}),
        ("Expired", "x", {"equity_card": "expired"}),
        ("No", "n", {"equity_card": "none"}),
    )),
    ("q_mother", "Pregnant, or a child under 2?", ()),
    ("q_old", "Are you 60 or older?", ()),
    ("q_disability", "Do you have a disability card?", ()),
    ("q_school", "Children in school?", ()),
    ("q_hiv", "Do you get HIV support?", ()),
    ("q_nssf", "Are you an NSSF member?", ()),
)
YES_NO_FACT = {"q_mother": "pregnant_or_child_under_2", "q_old": "age_60_plus",
               "q_disability": "disability_card",
               "q_school": "children_in_school", "q_hiv": "hiv_support", "q_nssf": "nssf_member"}


def _question(index: int):  # type: ignore[no-untyped-def]
    name, msgid, choices = QUESTIONS[index]
    following = QUESTIONS[index + 1][0] if index + 1 < len(QUESTIONS) else "elig_results"

    def prompt(ctx: Context) -> Prompt:
        if choices:
            options = tuple(Option(value, ctx.t(label)) for label, value, _ in choices)
        else:
            options = (Option("y", ctx.t(MSG_YES)), Option("n", ctx.t(MSG_NO)))
        return Prompt(ctx.t(msgid), options)

    def handle(ctx: Context, value: str) -> str:
        answers = ctx.conv.data.setdefault("answers", {})
        if choices:
            answers.update(next(facts for _, v, facts in choices if v == value))
        else:
            answers[YES_NO_FACT[name]] = value == "y"
        if following == "elig_results":
            _questionnaire_results(ctx)
        return following

    return Node(name, prompt, handle=handle)


def _outcome_view(outcome: Any, locale: str) -> dict[str, str]:
    from chumnuoy.i18n import translate

    return {"programme": outcome.programme, "name": translate(locale, outcome.name),
            "outcome": outcome.outcome, "reason": outcome.reason_text(locale),
            "guidance": outcome.guidance_text(locale) or ""}


def _questionnaire_results(ctx: Context) -> None:
    ctx.conv.data["results"] = [
        _outcome_view(o, ctx.locale) for o in ctx.services.questionnaire_outcomes(ctx.conv.data["answers"])
    ]


def _registry_results(ctx: Context) -> str | None:
    outcomes = ctx.services.registry_outcomes()
    if outcomes is None:
        return "service_busy"
    ctx.conv.data["results"] = [_outcome_view(o, ctx.locale) for o in outcomes]
    return None


def _results(ctx: Context) -> Prompt:
    results = ctx.conv.data.get("results", [])
    return Prompt(ctx.t(MSG_RESULTS), tuple(
        Option(str(i), f"{r['name']}: {ctx.t(OUTCOME_WORDS[r['outcome']])}") for i, r in enumerate(results)))


def _pick_result(ctx: Context, value: str) -> str:
    ctx.conv.data["result"] = int(value)
    return "elig_reason"


def _reason(ctx: Context) -> Prompt:
    """Why, and what to do (e.g. ask for On-Demand IDPoor); on a small screen "what to do" is the
    next screen."""
    from bot.journeys.personal import fits_screen

    result = ctx.conv.data["results"][ctx.conv.data.get("result", 0)]
    both = "\n".join(p for p in (result["reason"], result["guidance"]) if p)
    if not result["guidance"] or fits_screen(ctx, both):
        return Prompt(both, end=True)
    return Prompt(result["reason"], (Option("elig_guidance", ctx.t(MSG_WHAT_TO_DO)),))


def _guidance(ctx: Context) -> Prompt:
    result = ctx.conv.data["results"][ctx.conv.data.get("result", 0)]
    return Prompt(result["guidance"], end=True)


def register(journeys: Journeys) -> None:
    journeys.menu("eligibility", MSG_HOW, [(MSG_ASK, QUESTIONS[0][0]), (MSG_REGISTRY, "elig_registry")])
    for index in range(len(QUESTIONS)):
        journeys.add(_question(index))
    journeys.add(Node("elig_registry", _results, handle=_pick_result,
                      on_enter=require_level2("elig_registry", _registry_results)))
    journeys.add(Node("elig_results", _results, handle=_pick_result))
    journeys.add(Node("elig_reason", _reason, handle=lambda _ctx, value: value))
    journeys.add(Node("elig_guidance", _guidance))


MSGIDS = (MSG_HOW, MSG_ASK, MSG_REGISTRY, MSG_YES, MSG_NO, MSG_RESULTS, MSG_WHAT_TO_DO,
          *OUTCOME_WORDS.values(),
          *(q[1] for q in QUESTIONS), *(c[0] for q in QUESTIONS for c in q[2]))
