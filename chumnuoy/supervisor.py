"""`make run`: prepare everything, start registry, web and worker, stop them all on Ctrl-C."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

import httpx

from chumnuoy import ROOT
from chumnuoy.envfile import ensure_env_file

log = logging.getLogger("chumnuoy.run")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "chumnuoy", *args]


def prepare(persons: int) -> None:
    """Migrate the portal database, seed the sandbox, build the NLU model when missing."""
    steps: list[tuple[str, list[str]]] = [
        ("migrate the portal database", _cli("migrate")),
        (f"seed the sandbox registry ({persons:,} synthetic persons)",
         _cli("registry", "seed", "--persons", str(persons), "--if-needed")),
    ]
    if (ROOT / "nlu" / "__main__.py").exists():
        steps.append(("build the NLU model", [sys.executable, "-m", "nlu", "train", "--if-needed"]))
    for title, argv in steps:
        started = time.monotonic()
        print(f"==> {title}", flush=True)
        subprocess.run(argv, check=True, cwd=ROOT)
        print(f"    done in {time.monotonic() - started:.1f} s", flush=True)


def _wait_healthy(url: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    return False


def run(persons: int = 10_000) -> int:
    added = ensure_env_file()
    if added:
        print(f"==> wrote .env ({len(added)} settings, fresh secrets)", flush=True)
    from chumnuoy.settings import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    prepare(persons)

    services = {
        "registry": _cli("registry", "serve"),
        "web": _cli("web"),
        "worker": _cli("worker"),
    }
    processes: dict[str, subprocess.Popen[bytes]] = {}
    for name, argv in services.items():
        processes[name] = subprocess.Popen(argv, cwd=ROOT, start_new_session=True)

    def stop_all(*_args: object) -> None:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        deadline = time.monotonic() + 120
        registry_ok = _wait_healthy(settings.registry_url.rstrip("/") + "/healthz", deadline)
        web_url = settings.public_base_url.rstrip("/")
        web_ok = _wait_healthy(f"http://{settings.web_bind}/healthz", deadline)
        if not (registry_ok and web_ok):
            print("!! a service did not become healthy; stopping", file=sys.stderr)
            return 1
        print(
            "\nChumnuoy is running (Ctrl-C stops everything):\n"
            f"  web        {web_url}/  (health: {web_url}/healthz)\n"
            f"  registry   {settings.registry_url}  (DCI sandbox)\n"
            "  worker     background jobs\n",
            flush=True,
        )
        while True:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(f"!! {name} exited with {process.returncode}; stopping", file=sys.stderr)
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\n==> stopping", flush=True)
        return 0
    finally:
        stop_all()
