"""The embedded interpreter: SPEC §9 parse shape, raw offsets, and the held-out targets of §13."""

from __future__ import annotations

import statistics
import time

import pytest

from nlu import INTENTS, load_interpreter
from nlu.data import heldout_examples
from nlu.evaluate import score


def test_parse_shape(embedded) -> None:
    raw = "ខ្ញុំ\u200bចង់ប្ដូរលេខទូរស័ព្ទទៅ ០៩៧ ០០០ ០១០៣"
    result = embedded.parse(raw)
    assert set(result) == {"text", "intent", "intent_ranking", "entities"}
    assert result["text"] == raw
    assert result["intent"]["name"] == "update_details"
    assert 0.0 <= result["intent"]["confidence"] <= 1.0
    ranking = result["intent_ranking"]
    assert ranking[0] == result["intent"]
    assert [r["confidence"] for r in ranking] == sorted((r["confidence"] for r in ranking), reverse=True)
    assert all(r["name"] in INTENTS for r in ranking)
    (phone,) = result["entities"]
    assert phone == {"entity": "phone", "value": "0970000103", "start": phone["start"], "end": phone["end"]}
    assert raw[phone["start"]:phone["end"]] == "០៩៧ ០០០ ០១០៣"


@pytest.mark.parametrize(("text", "intent"), [
    ("ot ban luy te", "lodge_grievance"),
    ("លុយ?", "view_entitlements"),
    ("kh'nhom chong dak peak ban kro", "apply_programme"),
    ("សួស្តី", "greet"),
    ("bandoeng knhom dol na hoy", "grievance_status"),
])
def test_everyday_messages(embedded, text: str, intent: str) -> None:
    assert embedded.parse(text)["intent"]["name"] == intent


def test_blank_input_is_out_of_scope(embedded) -> None:
    for text in ("", "   ", "\u200b"):
        result = embedded.parse(text)
        assert result["intent"]["name"] == "out_of_scope"
        assert result["entities"] == []


def test_load_interpreter_is_cached_and_embedded_by_default(monkeypatch, embedded) -> None:
    from chumnuoy.settings import get_settings

    monkeypatch.delenv("NLU_BACKEND", raising=False)
    get_settings.cache_clear()
    first = load_interpreter()
    assert first is load_interpreter()
    assert type(first).__name__ == "EmbeddedInterpreter"
    assert first.parse("អរគុណច្រើន")["intent"]["name"] == "thanks"
    get_settings.cache_clear()


def test_confidence_is_calibrated_on_heldout(embedded) -> None:
    """Expected calibration error below 0.1: confidence means about what it says."""
    examples = heldout_examples()
    bins: dict[int, list[tuple[float, bool]]] = {}
    for example in examples:
        intent = embedded.parse(example.text)["intent"]
        bins.setdefault(min(int(intent["confidence"] * 10), 9), []).append(
            (intent["confidence"], intent["name"] == example.intent))
    ece = sum(abs(statistics.fmean(c for c, _ in b) - statistics.fmean(ok for _, ok in b)) * len(b)
              for b in bins.values()) / len(examples)
    assert ece < 0.1, ece


def test_heldout_targets(embedded) -> None:
    """SPEC §13: accuracy ≥ 0.92, macro-F1 ≥ 0.90, every script ≥ 0.85, median parse ≤ 2 ms."""
    examples = heldout_examples()
    for example in examples[:20]:
        embedded.parse(example.text)
    result = score("embedded", embedded.parse, examples)
    assert result.accuracy >= 0.92, result.accuracy
    assert result.macro_f1 >= 0.90, result.macro_f1
    assert all(value >= 0.85 for value in result.per_script.values()), result.per_script
    assert result.entity_prf[2] >= 0.9, result.entity_prf
    started = time.perf_counter()
    timings = []
    for example in examples:
        begin = time.perf_counter()
        embedded.parse(example.text)
        timings.append(time.perf_counter() - begin)
    assert statistics.median(timings) <= 0.002, statistics.median(timings)
    assert time.perf_counter() - started < 5


def test_model_file_loads_fast(embedded) -> None:
    from nlu.embedded import MODEL_FILE, EmbeddedInterpreter

    started = time.perf_counter()
    EmbeddedInterpreter(MODEL_FILE)
    assert time.perf_counter() - started < 0.5
