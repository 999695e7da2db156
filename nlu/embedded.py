"""The embedded interpreter: TF-IDF features + a linear classifier, in process on Python 3.11.

Training uses scikit-learn; the model is saved as plain arrays (`nlu/models/embedded.npz`, no
pickle) and scored with numpy, so parsing imports neither scikit-learn nor anything heavy. The
confidence is a softmax of the decision scores with one temperature fitted on 5-fold out-of-fold
scores of the training data (temperature scaling), so it behaves like a probability.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from pathlib import Path

import numpy as np

from nlu.data import INTENTS, Example, data_files, training_examples
from nlu.entities import extract
from nlu.features import features
from nlu.normalize import normalize, normalize_with_offsets

log = logging.getLogger("nlu.embedded")
MODELS_DIR = Path(__file__).resolve().parent / "models"
MODEL_FILE = MODELS_DIR / "embedded.npz"
RANKING_LENGTH = 10
_CODE_FILES = ("normalize.py", "segment.py", "features.py", "embedded.py")
_C = 0.5


def fingerprint() -> str:
    """Hash of the training data and of the code that turns it into a model."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for path in [*data_files(), *(here / name for name in _CODE_FILES)]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _fit(docs: list[list[str]], labels: list[int]):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    vectorizer = TfidfVectorizer(analyzer=lambda doc: doc, sublinear_tf=True, min_df=1, dtype=np.float32)
    matrix = vectorizer.fit_transform(docs)
    classifier = LinearSVC(C=_C, class_weight="balanced", random_state=0).fit(matrix, labels)
    return vectorizer, classifier


def _fit_temperature(scores: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising the log loss of softmax(scores / T) (grid + refinement)."""
    def nll(temperature: float) -> float:
        z = scores / temperature
        z = z - z.max(axis=1, keepdims=True)
        log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-log_probs[np.arange(len(labels)), labels].mean())

    grid = np.exp(np.linspace(math.log(0.01), math.log(10), 200))
    best = min(grid, key=nll)
    return float(best)


def train(model_file: Path = MODEL_FILE, examples: list[Example] | None = None) -> Path:
    """Train on nlu/data/train/ (or `examples`) and write the model arrays to `model_file`."""
    from sklearn.model_selection import StratifiedKFold

    default_data = examples is None
    examples = examples if examples is not None else training_examples()
    docs = [features(normalize(e.text)) for e in examples]
    labels = np.array([INTENTS.index(e.intent) for e in examples])

    out_of_fold = np.zeros((len(docs), len(INTENTS)), dtype=np.float64)
    for train_index, test_index in StratifiedKFold(5, shuffle=True, random_state=0).split(docs, labels):
        vectorizer, classifier = _fit([docs[i] for i in train_index], list(labels[train_index]))
        held = vectorizer.transform([docs[i] for i in test_index])
        out_of_fold[test_index] = classifier.decision_function(held)
    temperature = _fit_temperature(out_of_fold, labels)

    vectorizer, classifier = _fit(docs, list(labels))
    vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
    model_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = model_file.with_name(f"{model_file.stem}.{os.getpid()}.tmp.npz")  # atomic replace below
    np.savez_compressed(
        temporary,
        vocabulary=np.array(vocabulary, dtype=str),
        idf=vectorizer.idf_.astype(np.float32),
        coef=classifier.coef_.astype(np.float32),
        intercept=classifier.intercept_.astype(np.float32),
        temperature=np.array(temperature),
        intents=np.array(INTENTS, dtype=str),
        fingerprint=np.array(fingerprint() if default_data else ""),
    )
    temporary.replace(model_file)
    log.info("embedded model: %d examples, %d features, temperature %.3f -> %s",
             len(docs), len(vocabulary), temperature, model_file)
    return model_file


def is_up_to_date(model_file: Path = MODEL_FILE) -> bool:
    if not model_file.exists():
        return False
    try:
        with np.load(model_file, allow_pickle=False) as arrays:
            return str(arrays["fingerprint"]) == fingerprint()
    except (OSError, ValueError, KeyError):
        return False


class EmbeddedInterpreter:
    """Parses in process; `parse` returns the shape of Rasa's /model/parse (SPEC §9)."""

    def __init__(self, model_file: Path = MODEL_FILE) -> None:
        with np.load(model_file, allow_pickle=False) as arrays:
            self._index = {feature: i for i, feature in enumerate(arrays["vocabulary"].tolist())}
            self._idf = arrays["idf"]
            self._coef = np.ascontiguousarray(arrays["coef"].T)  # features × intents
            self._intercept = arrays["intercept"]
            self._temperature = float(arrays["temperature"])
            self._intents = [str(i) for i in arrays["intents"]]

    def scores(self, normalised: str) -> np.ndarray:
        """Calibrated probabilities of every intent for a normalised message."""
        counts: dict[int, int] = {}
        for feature in features(normalised):
            index = self._index.get(feature)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        logits = self._intercept.astype(np.float64)
        if counts:
            indices = np.fromiter(counts, dtype=np.int64, count=len(counts))
            values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts))))
            values *= self._idf[indices]
            values /= np.linalg.norm(values) or 1.0
            logits = logits + values @ self._coef[indices]
        z = logits / self._temperature
        z = np.exp(z - z.max())
        return z / z.sum()

    def parse(self, text: str) -> dict[str, object]:
        norm = normalize_with_offsets(text)
        if not norm.text:  # nothing to classify (blank line, only spaces or zero-width characters)
            ranking = [{"name": "out_of_scope", "confidence": 1.0}]
            return {"text": text, "intent": dict(ranking[0]), "intent_ranking": ranking, "entities": []}
        probabilities = self.scores(norm.text)
        order = np.argsort(-probabilities)
        ranking = [{"name": self._intents[i], "confidence": float(probabilities[i])}
                   for i in order[:RANKING_LENGTH]]
        return {
            "text": text,
            "intent": dict(ranking[0]),
            "intent_ranking": ranking,
            "entities": extract(norm),
        }
