"""Free text on SMS/Telegram: commands (help, menu, stop …) and the NLU's intent → journey.

The interpreter is D's `nlu.load_interpreter()` when it is importable; until then (or when it
fails to load) a small keyword matcher with the same `parse()` shape stands in. USSD never comes
here (SPEC §9).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import cache
from typing import Any, Literal, Protocol

from chumnuoy.digits import to_ascii_digits

log = logging.getLogger("chumnuoy.bot")

CONFIDENCE_THRESHOLD = 0.5
INTENT_JOURNEY = {
    "check_eligibility": "eligibility", "view_entitlements": "benefits", "lodge_grievance": "complaint",
    "grievance_status": "status", "update_details": "details", "apply_programme": "how_to_apply",
    "human_handoff": "handoff", "change_language": "language", "help": "help", "greet": "menu",
}

Command = Literal["help", "menu", "stop_app", "start", "carrier_stop", "language"]
CARRIER_STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE",
                                "OPTOUT"})
CARRIER_START_WORDS = frozenset({"START", "YES", "UNSTOP"})
COMMANDS: dict[str, Command] = {
    "ជំនួយ": "help", "HELP": "help", "INFO": "help",
    "ម៉ឺនុយ": "menu", "MENU": "menu",
    "ឈប់": "stop_app", "STOPNEWS": "stop_app",
    "ចាប់ផ្តើម": "start", "ចាប់ផ្ដើម": "start",
    "ភាសា": "language", "LANGUAGE": "language",
}


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\u200b", "").strip()
    return re.sub(r"[\s.!?។]+$", "", text)


def command_of(text: str, *, carrier: bool) -> Command | None:
    """A whole-message keyword. `carrier` = Twilio, whose single-word STOP/START are carrier opt-outs."""
    word = _clean(text)
    upper = word.upper()
    if upper in CARRIER_STOP_WORDS:
        return "carrier_stop" if carrier else "stop_app"
    if upper in CARRIER_START_WORDS:
        return "start"
    return COMMANDS.get(word) or COMMANDS.get(upper)


class Interpreter(Protocol):
    def parse(self, text: str) -> dict[str, Any]: ...


class KeywordInterpreter:
    """Stand-in with the Rasa `/model/parse` shape, for when D's NLU is not installed."""

    KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("grievance_status", ("ស្ថានភាព", "status", "tracking")),
        ("lodge_grievance", ("បណ្តឹង", "បណ្ដឹង", "complain", "complaint", "tva", "bondoeng")),
        ("view_entitlements", ("ប្រាក់", "payment", "benefit", "luy", "prak")),
        ("check_eligibility", ("សិទ្ធិ", "eligib", "qualify", "setthi")),
        ("update_details", ("កែ", "update", "change my", "correct")),
        ("apply_programme", ("ដាក់ពាក្យ", "apply", "register")),
        ("human_handoff", ("មន្ត្រី", "officer", "human", "person")),
        ("change_language", ("ភាសា", "language", "english")),
        ("help", ("ជំនួយ", "help")),
        ("greet", ("សួស្តី", "hello", "hi", "suosdei")),
    )

    def parse(self, text: str) -> dict[str, Any]:
        lowered = to_ascii_digits(text).casefold()
        for intent, words in self.KEYWORDS:
            if any(word in lowered for word in words):
                ranking = [{"name": intent, "confidence": 0.9}]
                return {"text": text, "intent": ranking[0], "intent_ranking": ranking, "entities": []}
        intent = {"name": "out_of_scope", "confidence": 0.5}
        return {"text": text, "intent": intent, "intent_ranking": [intent], "entities": []}


@cache
def interpreter() -> Interpreter:
    try:
        from nlu import load_interpreter  # type: ignore[attr-defined]
    except ImportError:
        return KeywordInterpreter()
    try:
        return load_interpreter()
    except Exception:  # a missing model must not take the SMS channel down
        log.exception("NLU interpreter failed to load; using the keyword matcher")
        return KeywordInterpreter()


def journey_for(text: str) -> str | None:
    """The journey a free-text message asks for, or None when not understood."""
    try:
        result = interpreter().parse(text)
    except Exception:
        log.exception("NLU parse failed")
        result = KeywordInterpreter().parse(text)
    intent = result.get("intent") or {}
    journey = INTENT_JOURNEY.get(str(intent.get("name")))
    if float(intent.get("confidence") or 0) < CONFIDENCE_THRESHOLD or journey is None:
        __import__("chumnuoy.metrics").metrics.nlu_fallback("sms", "unsure" if journey else "no_journey")
        return None
    return journey


def is_legacy_font(text: str) -> bool:
    try:
        from nlu.limon import is_limon
    except ImportError:
        return False
    return is_limon(text)
