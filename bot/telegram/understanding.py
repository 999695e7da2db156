"""Free text on Telegram through the NLU interface (bot.understand.interpreter), with a clarifying
question when it is unsure: the top intent is taken when it is clear (≥ 0.7, or ≥ 0.5 and at least
twice the runner-up); otherwise the likely journeys (≥ 0.1) are offered as buttons."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from bot.understand import INTENT_JOURNEY, interpreter

log = logging.getLogger("chumnuoy.telegram")

SURE, LIKELY, FLOOR = 0.7, 0.5, 0.1
MAX_CHOICES = 3
JOURNEY_LABELS = {
    "eligibility": "Check eligibility", "benefits": "My benefits and payments",
    "complaint": "Make a complaint",
    "status": "Complaint status", "details": "Update my details", "how_to_apply": "How to apply",
    "handoff": "Talk to an officer", "language": "Language", "help": "Help",
}
"""Journey → the label msgid the menus already use (bot.po)."""


@dataclass(frozen=True)
class Understanding:
    journey: str | None = None
    choices: list[tuple[str, str]] = field(default_factory=list)
    """(journey, label msgid) to ask about when unsure."""


def parse(text: str) -> dict[str, Any]:
    try:
        return interpreter().parse(text)
    except Exception:  # the NLU must never take the channel down
        log.exception("NLU parse failed")
        return {"intent": None, "intent_ranking": []}


def decide(result: dict[str, Any]) -> Understanding:
    ranking = result.get("intent_ranking") or ([result["intent"]] if result.get("intent") else [])
    journeys: list[tuple[str, float]] = []
    for item in ranking:
        journey = INTENT_JOURNEY.get(str(item.get("name")))
        if journey and journey not in (j for j, _ in journeys):
            journeys.append((journey, float(item.get("confidence") or 0.0)))
    journeys.sort(key=lambda pair: -pair[1])
    if not journeys:
        __import__("chumnuoy.metrics").metrics.nlu_fallback("telegram", "no_journey")
        return Understanding()
    top, confidence = journeys[0]
    runner_up = journeys[1][1] if len(journeys) > 1 else 0.0
    if confidence >= SURE or (confidence >= LIKELY and confidence >= 2 * runner_up):
        return Understanding(journey=top)
    likely = [(j, JOURNEY_LABELS[j]) for j, c in journeys if c >= FLOOR and j in JOURNEY_LABELS][:MAX_CHOICES]
    __import__("chumnuoy.metrics").metrics.nlu_fallback("telegram", "clarify" if likely else "no_journey")
    return Understanding(choices=likely)


def understand(text: str) -> Understanding:
    return decide(parse(text))
