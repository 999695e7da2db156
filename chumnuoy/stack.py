"""A complete set of Chumnuoy processes on free 127.0.0.1 ports, for the load bench and the fault tests.

`Stack` prepares the databases (migrates the portal, seeds a sandbox registry, makes an API token),
then starts the real processes exactly as `make run` does — `chumnuoy registry serve`, `chumnuoy web`
(gunicorn, `web_workers` workers) and `worker_processes` × `chumnuoy worker` — each in its own process
group so one can be killed with SIGKILL and started again. Outbound SMS go to a Twilio stand-in when
one is given (`twilio_url`), so deliveries can be counted.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from chumnuoy import ROOT

LOOPBACK = "127.0.0.1"


_handed_out: set[int] = set()


def free_port() -> int:
    """A free loopback port never handed out before by this process: two calls in a row may otherwise
    get the same port from the kernel (the first socket is closed), and the second server's health
    check would then be answered by the first (the load bench once sent USSD hops to the registry)."""
    while True:
        with socket.socket() as sock:
            sock.bind((LOOPBACK, 0))
            port = sock.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


@dataclass
class StackSpec:
    database_url: str
    registry_database_url: str
    redis_url: str = ""
    web_workers: int = 2
    worker_processes: int = 1
    persons: int = 200
    twilio_url: str = ""
    """Base URL of a Twilio stand-in (TWILIO_API_BASE_URL); empty = outbound SMS stay pending."""
    extra_env: dict[str, str] = field(default_factory=dict)


class Stack:
    """registry + web + workers of one configuration; `with Stack(...) as stack:` stops them all."""

    def __init__(self, spec: StackSpec, workdir: Path) -> None:
        from chumnuoy.envfile import new_ed25519_key

        self.spec = spec
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.web_port, self.registry_port = free_port(), free_port()
        self.ussd_key = secrets.token_urlsafe(18)
        self.sms_key = secrets.token_urlsafe(18)
        self.twilio_token = secrets.token_urlsafe(18)
        self.api_token = ""
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CHUMNUOY_", "REDIS", "DATABASE", "REGISTRY_", "TWILIO_", "TELEGRAM_"))}
        env.update(
            CHUMNUOY_ENV_FILE=str(workdir / "no.env"), CHUMNUOY_WEB_WORKERS=str(spec.web_workers),
            CHUMNUOY_WEB_BIND=f"{LOOPBACK}:{self.web_port}",
            CHUMNUOY_REGISTRY_BIND=f"{LOOPBACK}:{self.registry_port}",
            CHUMNUOY_LOG_LEVEL="WARNING", DATABASE_URL=spec.database_url,
            REGISTRY_DATABASE_URL=spec.registry_database_url, REDIS_URL=spec.redis_url,
            SECRET_KEY=secrets.token_urlsafe(32), PUBLIC_BASE_URL=self.web_url,
            REGISTRY_URL=self.registry_url, REGISTRY_CLIENT_ID="chumnuoy-stack",
            REGISTRY_CLIENT_SECRET=secrets.token_urlsafe(24), REGISTRY_SIGNATURES="dev",
            REGISTRY_SIGNING_KEY=new_ed25519_key(), USSD_GATEWAY_KEY=self.ussd_key,
            SMS_GATEWAY_KEY=self.sms_key, TWILIO_AUTH_TOKEN=self.twilio_token, SIMULATOR_ENABLED="0",
            TELEGRAM_WEBHOOK_SECRET=secrets.token_urlsafe(18), CHUMNUOY_METRICS_DIR=str(workdir / "metrics"),
        )
        if spec.twilio_url:
            env.update(TWILIO_API_BASE_URL=spec.twilio_url, TWILIO_ACCOUNT_SID="AC" + "0" * 32,
                       TWILIO_FROM="+85500000000")
        env.update(spec.extra_env)
        self.env = env

    # ------------------------------------------------------------------ addresses

    @property
    def web_url(self) -> str:
        return f"http://{LOOPBACK}:{self.web_port}"

    @property
    def registry_url(self) -> str:
        return f"http://{LOOPBACK}:{self.registry_port}"

    @property
    def worker_names(self) -> list[str]:
        return [f"worker-{index}" for index in range(1, self.spec.worker_processes + 1)]

    # ------------------------------------------------------------------ life cycle

    def prepare(self) -> None:
        """Seed the sandbox, migrate the portal database, create the API token (in this process)."""
        from portal.db import upgrade
        from registry_sandbox.seed import seed_database

        seed_database(self.spec.registry_database_url, persons=self.spec.persons, random_seed=20261125,
                      if_needed=True)
        upgrade(self.spec.database_url)
        self.api_token = create_api_token(self.spec.database_url)

    def _argv(self, name: str) -> list[str]:
        cli = [sys.executable, "-m", "chumnuoy"]
        if name == "registry":
            return [*cli, "registry", "serve"]
        if name == "web":
            return [*cli, "web"]
        if name.startswith("worker-"):
            return [*cli, "worker"]
        raise ValueError(f"unknown process {name!r}")

    def start(self, name: str, *, wait: bool = True) -> None:
        with (self.workdir / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(self._argv(name), env=self.env, cwd=ROOT, stdout=log,
                                                    stderr=subprocess.STDOUT, start_new_session=True)
        if wait and name == "registry":
            self.wait_http(self.registry_url + "/healthz", name)
        if wait and name == "web":
            self.wait_http(self.web_url + "/healthz", name, any_status=True)

    def start_all(self) -> None:
        for name in ("registry", "web", *self.worker_names):
            self.start(name, wait=False)
        self.wait_http(self.registry_url + "/healthz", "registry")
        self.wait_http(self.web_url + "/healthz", "web")

    def wait_http(self, url: str, name: str, timeout: float = 120, any_status: bool = False) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.processes.get(name)
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; see {self.workdir / name}.log")
            try:
                if httpx.get(url, timeout=2).status_code == 200 or any_status:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{name} did not answer at {url} within {timeout:.0f} s")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (gunicorn master and its workers alike) and reap it."""
        process = self.processes[name]
        if process.poll() is None:
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if sig == signal.SIGKILL:  # gunicorn workers of a killed master are orphans of the same group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

    def alive(self, name: str) -> bool:
        process = self.processes.get(name)
        return process is not None and process.poll() is None

    def stop_all(self) -> None:
        for name in list(self.processes):
            if self.alive(name):
                os.killpg(self.processes[name].pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            with contextlib.suppress(ProcessLookupError, PermissionError):  # nothing of the group outlives it
                os.killpg(process.pid, signal.SIGKILL)

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop_all()


def create_api_token(database_url: str) -> str:
    from sqlalchemy.orm import Session

    from chumnuoy.db import make_engine
    from portal.services import officers

    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            _row, token = officers.create_token(session, name="load-and-faults")
            session.commit()
    finally:
        engine.dispose()
    return token
