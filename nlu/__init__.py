"""Khmer NLU: normalisation, segmentation, and an interpreter with two backends (SPEC §9).

    from nlu import load_interpreter
    load_interpreter().parse("ខ្ញុំមិនទាន់បានលុយទេ")

`NLU_BACKEND=embedded` (default) parses in process; `NLU_BACKEND=rasa` asks the Rasa server at
`RASA_URL` with `RASA_TOKEN`. Either way the result has the shape of Rasa's `/model/parse`.
`is_limon(text)` tells the dialogue that a message was typed with a legacy Limon font keyboard;
`normalize(text)` is the SPEC §9 normalisation (also for keyword and menu matching).
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from nlu.data import INTENTS
from nlu.limon import is_limon
from nlu.normalize import normalize

__all__ = ["INTENTS", "Interpreter", "is_limon", "load_interpreter", "normalize"]
log = logging.getLogger("nlu")


class Interpreter(Protocol):
    def parse(self, text: str) -> dict[str, object]: ...


_lock = threading.Lock()
_cache: dict[tuple[str, str, str], Interpreter] = {}


def load_interpreter(backend: str | None = None) -> Interpreter:
    """The interpreter for `backend` (default: NLU_BACKEND), created once per process.

    The embedded model is trained first when it is missing (nlu/models/embedded.npz).
    """
    from chumnuoy.settings import get_settings

    settings = get_settings()
    name = (backend or settings.nlu_backend or "embedded").strip().lower()
    key = (name, settings.rasa_url, settings.rasa_token)
    with _lock:
        if key not in _cache:
            if name == "rasa":
                from nlu.rasa_backend import RasaInterpreter

                _cache[key] = RasaInterpreter(settings.rasa_url, settings.rasa_token)
            elif name == "embedded":
                from nlu.embedded import MODEL_FILE, EmbeddedInterpreter, train

                if not MODEL_FILE.exists():
                    log.info("no embedded NLU model yet: training it")
                    train()
                _cache[key] = EmbeddedInterpreter()
            else:
                raise ValueError(f"unknown NLU_BACKEND {name!r} (embedded or rasa)")
        return _cache[key]
