"""`python -m nlu evaluate`: both backends side by side on the held-out split.

Prints per-intent precision / recall / F1, accuracy per script, the most frequent confusions,
entity scores (entity and canonical value per example) and parse latency. The Rasa part runs when
the Rasa venv exists: it trains the model (or reuses an identical one) and starts its own server.
"""

from __future__ import annotations

import secrets
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from nlu.data import INTENTS, SCRIPTS, Example, heldout_examples


@dataclass
class Scores:
    backend: str
    accuracy: float
    macro_f1: float
    per_intent: dict[str, tuple[float, float, float, int]]  # precision, recall, F1, support
    per_script: dict[str, float]
    confusions: list[tuple[str, str, int]]
    entity_prf: tuple[float, float, float]
    latency_ms: tuple[float, float]  # median, p95
    extra: dict[str, str] = field(default_factory=dict)


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def score(backend: str, parse: Callable[[str], dict], examples: list[Example]) -> Scores:
    """Parse every held-out example once (timed) and compute the figures."""
    predicted: list[str] = []
    latencies: list[float] = []
    entity_tp = entity_fp = entity_fn = 0
    for example in examples:
        started = time.perf_counter()
        result = parse(example.text)
        latencies.append((time.perf_counter() - started) * 1000)
        predicted.append(result["intent"]["name"])
        gold = Counter((e.entity, e.value) for e in example.entities)
        found = Counter((e["entity"], str(e["value"])) for e in result["entities"])
        overlap = sum((gold & found).values())
        entity_tp += overlap
        entity_fp += sum(found.values()) - overlap
        entity_fn += sum(gold.values()) - overlap

    gold_intents = [e.intent for e in examples]
    per_intent: dict[str, tuple[float, float, float, int]] = {}
    for intent in INTENTS:
        tp = sum(1 for g, p in zip(gold_intents, predicted, strict=True) if g == p == intent)
        fp = sum(1 for g, p in zip(gold_intents, predicted, strict=True) if p == intent != g)
        fn = sum(1 for g, p in zip(gold_intents, predicted, strict=True) if g == intent != p)
        per_intent[intent] = (*_prf(tp, fp, fn), tp + fn)
    per_script = {}
    for script in SCRIPTS:
        pairs = [(e.intent, p) for e, p in zip(examples, predicted, strict=True) if e.script == script]
        per_script[script] = sum(g == p for g, p in pairs) / len(pairs) if pairs else 0.0
    confusions = Counter((g, p) for g, p in zip(gold_intents, predicted, strict=True) if g != p)
    ordered = sorted(latencies)
    return Scores(
        backend=backend,
        accuracy=sum(g == p for g, p in zip(gold_intents, predicted, strict=True)) / len(examples),
        macro_f1=statistics.fmean(v[2] for v in per_intent.values()),
        per_intent=per_intent,
        per_script=per_script,
        confusions=[(g, p, n) for (g, p), n in confusions.most_common(10)],
        entity_prf=_prf(entity_tp, entity_fp, entity_fn),
        latency_ms=(statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]),
    )


def evaluate_embedded(examples: list[Example]) -> Scores:
    from nlu.embedded import MODEL_FILE, EmbeddedInterpreter, is_up_to_date, train

    if not is_up_to_date():
        train()
    interpreter = EmbeddedInterpreter(MODEL_FILE)
    for example in examples[:20]:  # warm-up (first khmercut call, numpy caches)
        interpreter.parse(example.text)
    return score("embedded", interpreter.parse, examples)


def evaluate_rasa(examples: list[Example], epochs: int | None = None) -> Scores:
    from nlu.rasa_backend import DEFAULT_EPOCHS, RasaInterpreter, RasaServer, train_model

    model = train_model(epochs or DEFAULT_EPOCHS)
    token = secrets.token_urlsafe(24)
    started = time.monotonic()
    with RasaServer(model.path, token) as server:
        startup = time.monotonic() - started
        interpreter = RasaInterpreter(server.url, token)
        for example in examples[:20]:
            interpreter.parse(example.text)
        scores = score("rasa", interpreter.parse, examples)
        scores.extra["server RSS"] = f"{server.rss_bytes() / 2**20:.0f} MB"
        interpreter.close()
    scores.extra["epochs"] = str(epochs or DEFAULT_EPOCHS)
    scores.extra["train time"] = "reused" if model.train_seconds is None else f"{model.train_seconds:.0f} s"
    scores.extra["server start"] = f"{startup:.0f} s"
    return scores


def render(results: list[Scores], examples: list[Example]) -> str:
    names = [r.backend for r in results]
    lines = [f"held-out split: {len(examples)} examples, "
             + ", ".join(f"{s} {sum(e.script == s for e in examples)}" for s in SCRIPTS), ""]
    header = f"{'':28}" + "".join(f"{n:>22}" for n in names)
    lines += [header, "-" * len(header)]

    def row(label: str, cells: list[str]) -> None:
        lines.append(f"{label:28}" + "".join(f"{c:>22}" for c in cells))

    row("intent accuracy", [f"{r.accuracy:.3f}" for r in results])
    row("macro-F1", [f"{r.macro_f1:.3f}" for r in results])
    for script in SCRIPTS:
        row(f"accuracy {script}", [f"{r.per_script[script]:.3f}" for r in results])
    row("entities P / R / F1", ["{:.2f} / {:.2f} / {:.2f}".format(*r.entity_prf) for r in results])
    row("latency median / p95 (ms)", [f"{r.latency_ms[0]:.2f} / {r.latency_ms[1]:.2f}" for r in results])
    for key in sorted({k for r in results for k in r.extra}):
        row(key, [r.extra.get(key, "-") for r in results])
    lines += ["", "per intent: precision / recall / F1 (support)"]
    for intent in INTENTS:
        cells = ["{:.2f} / {:.2f} / {:.2f}".format(*r.per_intent[intent][:3]) for r in results]
        row(f"  {intent} ({results[0].per_intent[intent][3]})", cells)
    for r in results:
        lines += ["", f"confusions ({r.backend}): gold -> predicted"]
        lines += [f"  {g} -> {p}: {n}" for g, p, n in r.confusions] or ["  none"]
    return "\n".join(lines)


def main(rasa: str = "auto", epochs: int | None = None) -> int:
    from nlu.rasa_backend import rasa_available

    examples = heldout_examples()
    results = [evaluate_embedded(examples)]
    if rasa == "yes" or (rasa == "auto" and rasa_available()):
        results.append(evaluate_rasa(examples, epochs))
    elif rasa == "auto":
        print("(Rasa backend skipped: .venv-rasa not found; build it with scripts/rasa-venv.sh)",
              file=sys.stderr)
    print(render(results, examples))
    return 0
