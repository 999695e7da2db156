"""`chumnuoy bench nlu`: the evaluate comparison plus process-level figures of the parse CLI."""

from __future__ import annotations

import subprocess
import sys
import time

from chumnuoy import ROOT
from nlu.data import heldout_examples


def parse_cli_seconds(lines: int = 1000) -> float:
    """Wall time of one `python -m nlu parse` process answering `lines` held-out lines."""
    texts = [e.text for e in heldout_examples()]
    payload = "\n".join(texts[i % len(texts)] for i in range(lines)) + "\n"
    started = time.monotonic()
    completed = subprocess.run([sys.executable, "-m", "nlu", "parse", "--backend", "embedded"],
                               input=payload, capture_output=True, text=True, cwd=ROOT, check=True)
    elapsed = time.monotonic() - started
    if len(completed.stdout.splitlines()) != lines:
        raise RuntimeError("parse CLI did not answer one line per input line")
    return elapsed


def load_seconds() -> float:
    """Wall time of a fresh process that loads the embedded interpreter and parses one message."""
    code = "from nlu.embedded import EmbeddedInterpreter; EmbeddedInterpreter().parse('សួស្តី')"
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    return time.monotonic() - started


def run(rasa: str = "auto") -> None:
    from nlu.embedded import is_up_to_date, train
    from nlu.evaluate import main

    if not is_up_to_date():
        train()
    main(rasa=rasa)
    print()
    print(f"parse CLI, 1,000 lines, one process: {parse_cli_seconds():.2f} s (includes start-up)")
    print(f"process start + model load + first parse: {load_seconds():.2f} s")
