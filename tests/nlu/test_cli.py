"""`python -m nlu parse` and `train --if-needed` as SPEC §9 says."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from chumnuoy import ROOT
from nlu.data import heldout_examples


def test_parse_answers_1000_lines_in_one_process(embedded) -> None:
    texts = [e.text for e in heldout_examples()]
    lines = [(texts[i % len(texts)] if i % 50 else "") for i in range(1000)]  # blank lines included
    started = time.monotonic()
    completed = subprocess.run([sys.executable, "-m", "nlu", "parse"], input="\n".join(lines) + "\n",
                               capture_output=True, text=True, cwd=ROOT, timeout=120, check=True)
    elapsed = time.monotonic() - started
    out = completed.stdout.splitlines()
    assert len(out) == 1000
    for line, text in zip(out, lines, strict=True):
        result = json.loads(line)
        assert result["text"] == text
        assert set(result) == {"text", "intent", "intent_ranking", "entities"}
    assert elapsed < 30, elapsed
    print(f"parse CLI: 1000 lines in {elapsed:.2f} s")


def test_parse_keeps_utf8_and_trailing_line_without_newline(embedded) -> None:
    completed = subprocess.run([sys.executable, "-m", "nlu", "parse"], input="លុយ?\nok",
                               capture_output=True, text=True, cwd=ROOT, timeout=60, check=True)
    first, second = (json.loads(line) for line in completed.stdout.splitlines())
    assert first["text"] == "លុយ?" and second["text"] == "ok"


def test_train_if_needed_is_a_no_op_when_up_to_date(embedded) -> None:
    from nlu.embedded import MODEL_FILE

    before = MODEL_FILE.stat().st_mtime_ns
    subprocess.run([sys.executable, "-m", "nlu", "train", "--if-needed"], cwd=ROOT, check=True,
                   capture_output=True, timeout=120)
    assert MODEL_FILE.stat().st_mtime_ns == before
