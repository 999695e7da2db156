"""`make run`: prepare everything, start registry, web and worker, stop them all on Ctrl-C.

`chumnuoy run --production` (`make run-prod`) starts the production-shaped set instead: a private
PostgreSQL and Redis from scripts/services.sh (ports 55532/56479, data in var/production, kept between
runs), DATABASE_URL / REGISTRY_DATABASE_URL / REDIS_URL pointing at them (set for the children only;
`.env` keeps the embedded SQLite default), `web` under gunicorn with several workers and several
`worker` processes. Every process is stateless: state lives in PostgreSQL (durable rows, the outbox)
and Redis (conversation state, rate limits).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from chumnuoy import ROOT
from chumnuoy.envfile import ensure_env_file
from chumnuoy.localservices import LocalServices

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


PRODUCTION_PG_PORT = int(os.environ.get("CHUMNUOY_PRODUCTION_PG_PORT", "55532"))
PRODUCTION_REDIS_PORT = int(os.environ.get("CHUMNUOY_PRODUCTION_REDIS_PORT", "56479"))
PRODUCTION_DIR = Path(os.environ.get("CHUMNUOY_PRODUCTION_DIR", str(ROOT / "var" / "production")))
"""Where `--production` keeps its PostgreSQL and Redis (the environment overrides them, e.g. for tests)."""


def production_services() -> LocalServices:
    return LocalServices(PRODUCTION_PG_PORT, PRODUCTION_REDIS_PORT, PRODUCTION_DIR)


def start_production_services(web_workers: int) -> LocalServices:
    """Start the private PostgreSQL + Redis and point this process's environment (inherited by every
    child) at them."""
    print(f"==> start PostgreSQL (127.0.0.1:{PRODUCTION_PG_PORT}) and Redis "
          f"(127.0.0.1:{PRODUCTION_REDIS_PORT}), data in {PRODUCTION_DIR}", flush=True)
    services = production_services()
    services.start()
    os.environ.update(
        DATABASE_URL=services.database("chumnuoy"),
        REGISTRY_DATABASE_URL=services.database("chumnuoy_registry"),
        REDIS_URL=services.redis_url(),
        CHUMNUOY_WEB_WORKERS=str(web_workers),
    )
    return services


def run(persons: int = 10_000, *, production: bool = False, web_workers: int = 4, workers: int = 1) -> int:
    added = ensure_env_file()
    if added:
        print(f"==> wrote .env ({len(added)} settings, fresh secrets)", flush=True)
    from chumnuoy.settings import get_settings, load_env_file

    backing: LocalServices | None = None
    if production:
        load_env_file()  # the secrets of .env; the URLs set below win over its embedded defaults
        backing = start_production_services(web_workers)
    get_settings.cache_clear()
    settings = get_settings()
    try:
        prepare(persons)
    except BaseException:
        if backing is not None:
            backing.halt()
        raise

    services = {"registry": _cli("registry", "serve"), "web": _cli("web")}
    for index in range(1, max(1, workers) + 1):
        services["worker" if workers <= 1 else f"worker-{index}"] = _cli("worker")
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
        worker_count = len(services) - 2
        print(
            "\nChumnuoy is running (Ctrl-C stops everything):\n"
            f"  web        {web_url}/  (health: {web_url}/healthz)\n"
            f"  registry   {settings.registry_url}  (DCI sandbox)\n"
            f"  worker     background jobs ({worker_count} process{'es' if worker_count > 1 else ''})\n"
            + (f"  database   PostgreSQL 127.0.0.1:{PRODUCTION_PG_PORT} (portal: chumnuoy, sandbox: "
               f"chumnuoy_registry)\n"
               f"  redis      127.0.0.1:{PRODUCTION_REDIS_PORT} (conversation state, rate limits)\n"
               f"  gunicorn   {settings.web_workers} web workers x 4 threads\n" if production else ""),
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
        if backing is not None:
            backing.halt()
            print(f"==> PostgreSQL and Redis stopped (data kept in {PRODUCTION_DIR})", flush=True)
