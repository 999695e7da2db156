"""The training data and the fixed held-out split meet SPEC §9 and never overlap."""

from __future__ import annotations

from collections import Counter

from nlu.data import INTENTS, SCRIPTS, heldout_examples, synonyms, training_examples
from nlu.entities import PROGRAMMES
from nlu.normalize import normalize


def test_every_intent_has_at_least_80_varied_training_examples() -> None:
    examples = training_examples()
    assert {e.intent for e in examples} == set(INTENTS)
    per_intent = Counter(e.intent for e in examples)
    assert min(per_intent.values()) >= 80, per_intent
    for intent in INTENTS:
        scripts = Counter(e.script for e in examples if e.intent == intent)
        assert all(scripts[s] >= 8 for s in SCRIPTS), (intent, scripts)
        distinct = {normalize(e.text).lower() for e in examples if e.intent == intent}
        assert len(distinct) >= 78, intent


def test_training_data_has_zero_width_spaces_khmer_digits_and_short_messages() -> None:
    texts = [e.text for e in training_examples()]
    assert sum("\u200b" in t for t in texts) >= 60
    assert sum(any("០" <= c <= "៩" for c in t) for t in texts) >= 15
    assert "លុយ?" in texts


def test_heldout_split_covers_every_intent_in_every_script() -> None:
    examples = heldout_examples()
    assert len(examples) >= 300
    cells = Counter((e.intent, e.script) for e in examples)
    assert all(cells[(i, s)] >= 4 for i in INTENTS for s in SCRIPTS), cells


def test_heldout_is_never_in_training() -> None:
    seen = {normalize(e.text).lower() for e in training_examples()}
    leaked = [e.text for e in heldout_examples() if normalize(e.text).lower() in seen]
    assert leaked == []


def test_synonyms_cover_every_programme_and_province() -> None:
    values = set(synonyms())
    assert set(PROGRAMMES) <= values
    assert {f"{code:02d}" for code in range(1, 26)} <= values


def test_lookup_tables_list_exactly_the_synonym_forms() -> None:
    import yaml

    from nlu.data import TRAIN_DIR

    document = yaml.safe_load((TRAIN_DIR / "lookups.yml").read_text(encoding="utf-8"))
    lookups = {item["lookup"]: {line[2:] for line in item["examples"].splitlines()}
               for item in document["nlu"]}
    expected: dict[str, set[str]] = {"programme": set(), "province": set()}
    for value, forms in synonyms().items():
        expected["province" if value.isdigit() else "programme"].update(forms)
    assert lookups == expected


def test_regexes_match_their_kind() -> None:
    import re

    import yaml

    from nlu.data import TRAIN_DIR

    document = yaml.safe_load((TRAIN_DIR / "entities.yml").read_text(encoding="utf-8"))
    regexes = {item["regex"]: [re.compile(line[2:]) for line in item["examples"].splitlines()]
               for item in document["nlu"] if "regex" in item}
    samples = {"phone": "+855 12 345 678", "ticket_id": "1234 5674", "id_number": "100000101",
               "date": "12/04/1996"}
    assert set(regexes) == set(samples)
    for name, sample in samples.items():
        assert any(p.search(sample) for p in regexes[name]), name
