"""The Rasa backend: HTTP client for a Rasa 3.6.21 server, and the tools to train and serve it.

Rasa runs in its own Python 3.10 venv (`.venv-rasa`, built by scripts/rasa-venv.sh from the hashed
nlu/rasa/requirements-rasa.txt). The app normalises every message before sending it, trains Rasa on
the normalised training data, and extracts entities itself (nlu.entities) so both backends return
the same canonical values and raw-text offsets; Rasa supplies the intent and its ranking.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from nlu.data import INTENTS, data_files, training_examples
from nlu.entities import extract
from nlu.normalize import normalize, normalize_with_offsets

log = logging.getLogger("nlu.rasa")
ROOT = Path(__file__).resolve().parent.parent
RASA_PROJECT = Path(__file__).resolve().parent / "rasa"
RASA_VENV = Path(os.environ.get("CHUMNUOY_RASA_VENV", ROOT / ".venv-rasa"))
WORK_DIR = Path(__file__).resolve().parent / "models" / "rasa"
DEFAULT_EPOCHS = 100


def rasa_executable() -> Path:
    return RASA_VENV / "bin" / "rasa"


def rasa_available() -> bool:
    """True when the Rasa venv exists (scripts/rasa-venv.sh has run)."""
    return rasa_executable().exists()


def rasa_env() -> dict[str, str]:
    """Environment for every Rasa process: telemetry off, quiet, our tokenizer importable."""
    env = dict(os.environ)
    env.update({
        "RASA_TELEMETRY_ENABLED": "false",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONWARNINGS": "ignore",
        "PYTHONPATH": str(RASA_PROJECT),
    })
    return env


def _config_text(epochs: int) -> str:
    config = yaml.safe_load((RASA_PROJECT / "config.yml").read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if component["name"] == "DIETClassifier":
            component["epochs"] = epochs
    return yaml.safe_dump(config, allow_unicode=True, sort_keys=False)


def _training_yaml() -> str:
    """Normalised intent examples, the regexes and the lookup tables of nlu/data/train/."""
    by_intent: dict[str, list[str]] = {}
    for example in training_examples():
        text = normalize(example.text)
        if text and text not in by_intent.setdefault(example.intent, []):
            by_intent[example.intent].append(text)
    nlu: list[dict[str, object]] = [
        {"intent": intent, "examples": "".join(f"- {t}\n" for t in texts)}
        for intent, texts in by_intent.items()
    ]
    for path in data_files():
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []) or []:
            if "regex" in item:
                nlu.append({"regex": item["regex"], "examples": item["examples"]})
            elif "lookup" in item:
                forms = dict.fromkeys(normalize(line[2:]) for line in item["examples"].splitlines()
                                      if line.startswith("- "))
                nlu.append({"lookup": item["lookup"], "examples": "".join(f"- {f}\n" for f in forms)})
    return yaml.safe_dump({"version": "3.1", "nlu": nlu}, allow_unicode=True, sort_keys=False, width=10_000)


@dataclass(frozen=True)
class RasaModel:
    path: Path
    train_seconds: float | None  # None when an up-to-date model was reused


def train_model(epochs: int = DEFAULT_EPOCHS, work_dir: Path = WORK_DIR) -> RasaModel:
    """Train the Rasa NLU model (reused when data, config, tokenizer and epochs are unchanged)."""
    if not rasa_available():
        raise RuntimeError(f"the Rasa venv is missing ({RASA_VENV}); run scripts/rasa-venv.sh")
    config, data = _config_text(epochs), _training_yaml()
    digest = hashlib.sha256((config + data).encode() + (RASA_PROJECT / "khmer_tokenizer.py").read_bytes())
    name = f"nlu-{digest.hexdigest()[:16]}"
    model = work_dir / "models" / f"{name}.tar.gz"
    if model.exists():
        return RasaModel(model, None)
    project = work_dir / "project"
    shutil.rmtree(project, ignore_errors=True)  # a clean .rasa cache: Rasa would reuse stale parts
    (project / "data").mkdir(parents=True)
    (project / "config.yml").write_text(config, encoding="utf-8")
    (project / "data" / "nlu.yml").write_text(data, encoding="utf-8")
    shutil.copy(RASA_PROJECT / "domain.yml", project / "domain.yml")
    started = time.monotonic()
    subprocess.run(
        [str(rasa_executable()), "train", "nlu", "-c", "config.yml", "--nlu", "data",
         "--out", str(model.parent), "--fixed-model-name", name],
        cwd=project, env=rasa_env(), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    return RasaModel(model, time.monotonic() - started)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RasaServer:
    """A `rasa run` process on 127.0.0.1 with an auth token, telemetry off; a context manager."""

    def __init__(self, model: Path, token: str, port: int | None = None) -> None:
        self.model, self.token = model, token
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 180.0) -> RasaServer:
        self.process = subprocess.Popen(
            [str(rasa_executable()), "run", "--enable-api", "-i", "127.0.0.1", "-p", str(self.port),
             "-m", str(self.model), "--auth-token", self.token],
            cwd=self.model.parent, env=rasa_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rasa run exited with {self.process.returncode}")
            try:
                status = httpx.get(f"{self.url}/status", params={"token": self.token}, timeout=2.0)
                if status.status_code == 200 and status.json().get("model_file"):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError("rasa run did not become ready in time")

    def rss_bytes(self) -> int:
        """Resident memory of the server process (Linux)."""
        if self.process is None:
            return 0
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def __enter__(self) -> RasaServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class RasaInterpreter:
    """`NLU_BACKEND=rasa`: normalise here, ask the Rasa server for the intent, extract entities here."""

    def __init__(self, url: str, token: str, timeout: float = 10.0) -> None:
        self._client = httpx.Client(base_url=url.rstrip("/"), timeout=timeout)
        self._token = token

    def parse(self, text: str) -> dict[str, object]:
        norm = normalize_with_offsets(text)
        entities = extract(norm)
        if not norm.text:
            ranking = [{"name": "out_of_scope", "confidence": 1.0}]
        else:
            response = self._client.post("/model/parse", params={"token": self._token},
                                         content=json.dumps({"text": norm.text}),
                                         headers={"Content-Type": "application/json"})
            response.raise_for_status()
            answer = response.json()
            ranking = [{"name": r["name"], "confidence": float(r["confidence"])}
                       for r in answer.get("intent_ranking") or [] if r.get("name") in INTENTS]
            if not ranking:
                ranking = [{"name": "out_of_scope", "confidence": 0.0}]
        return {"text": text, "intent": dict(ranking[0]), "intent_ranking": ranking, "entities": entities}

    def close(self) -> None:
        self._client.close()
