"""Read the training data (Rasa YAML under nlu/data/) for the embedded backend, the Rasa project and
the evaluation. `train/` is what both backends learn from; `heldout/` is never trained on."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
TRAIN_DIR = DATA_DIR / "train"
HELDOUT_FILE = DATA_DIR / "heldout" / "test.yml"

INTENTS = (
    "greet", "goodbye", "thanks", "help", "affirm", "deny", "check_eligibility", "view_entitlements",
    "update_details", "lodge_grievance", "grievance_status", "apply_programme", "change_language",
    "human_handoff", "out_of_scope",
)
SCRIPTS = ("khmer", "romanized", "english", "mixed")

# [surface](entity), [surface](entity:value) or [surface]{"entity": ..., "value": ...}
_ANNOTATION = re.compile(r"\[(?P<surface>[^\]]+)\](?:\((?P<short>[^)]+)\)|(?P<json>\{[^}]+\}))")


@dataclass(frozen=True)
class GoldEntity:
    entity: str
    value: str
    start: int
    end: int


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    script: str
    entities: tuple[GoldEntity, ...] = field(default=())


def parse_annotated(line: str) -> tuple[str, tuple[GoldEntity, ...]]:
    """Strip Rasa entity markup from one example; return the plain text and the gold entities."""
    text_parts: list[str] = []
    entities: list[GoldEntity] = []
    position = 0
    length = 0
    for match in _ANNOTATION.finditer(line):
        before = line[position:match.start()]
        text_parts.append(before)
        length += len(before)
        surface = match.group("surface")
        if match.group("json"):
            spec = json.loads(match.group("json"))
            entity, value = spec["entity"], str(spec.get("value", surface))
        else:
            entity, _, value = match.group("short").partition(":")
            value = value or surface
        entities.append(GoldEntity(entity, value, length, length + len(surface)))
        text_parts.append(surface)
        length += len(surface)
        position = match.end()
    text_parts.append(line[position:])
    return "".join(text_parts), tuple(entities)


def _examples_block(block: str) -> list[str]:
    return [line.strip()[2:].strip() for line in block.splitlines() if line.strip().startswith("- ")]


def read_examples(path: Path) -> list[Example]:
    """Intent examples of one Rasa NLU YAML file (the script comes from each block's metadata)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    examples: list[Example] = []
    for item in document.get("nlu", []) or []:
        if "intent" not in item:
            continue
        script = (item.get("metadata") or {}).get("script", "khmer")
        for line in _examples_block(item.get("examples", "")):
            text, entities = parse_annotated(line)
            examples.append(Example(text=text, intent=item["intent"], script=script, entities=entities))
    return examples


def training_examples() -> list[Example]:
    """Every intent example under nlu/data/train/."""
    out: list[Example] = []
    for path in sorted(TRAIN_DIR.glob("*.yml")):
        out.extend(read_examples(path))
    return out


def heldout_examples() -> list[Example]:
    """The fixed held-out split (nlu/data/heldout/test.yml)."""
    return read_examples(HELDOUT_FILE)


def synonyms() -> dict[str, list[str]]:
    """Canonical value → surface forms, from the `synonym:` blocks of nlu/data/train/."""
    table: dict[str, list[str]] = {}
    for path in sorted(TRAIN_DIR.glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in document.get("nlu", []) or []:
            if "synonym" in item:
                table.setdefault(str(item["synonym"]), []).extend(_examples_block(item["examples"]))
    return table


def data_files() -> list[Path]:
    """The files a model depends on (for `train --if-needed`)."""
    return sorted(TRAIN_DIR.glob("*.yml"))
