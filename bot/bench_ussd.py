"""`chumnuoy bench ussd`: the USSD webhook as `make run` serves it, beside a bare Flask endpoint.

What it does, all on 127.0.0.1 in a fresh directory under var/bench/ (removed at the end):
1. seeds a sandbox registry database (personas + N synthetic persons) and migrates a portal SQLite
   database, then starts the sandbox (`chumnuoy registry serve`), the app exactly as `make run`
   starts it (`chumnuoy web`: gunicorn `portal.wsgi:app`, CHUMNUOY_WEB_WORKERS workers (default 2),
   4 threads, access log) and a bare Flask app returning `CON hello` under the same gunicorn
   settings, each on a free port;
2. gives 2,200 phones their language and consent (so a first hop shows the main menu, as for a
   returning citizen), then measures the *first hop* (a new `sessionId`, `text` empty) at 50
   concurrent sessions (each taking turns with its share of the phones, so none trips the flood
   limit) against the bare endpoint and the app, alternately, for a few rounds;
3. measures the latency of each hop of 10 concurrent sessions walking through menus
   (dial, More, back, Complaint categories, next page, back, Eligibility, back, …);
4. stops every process it started.

The load generator is one asyncio process speaking HTTP/1.1 over keep-alive connections (one per
session), so its own cost per request is small; it shares the machine's cores with the servers,
which the README figures say.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, Response

from chumnuoy import ROOT
from chumnuoy.loadclient import Connection

BARE_BODY = "CON hello"
THROUGHPUT_SESSIONS = 50
LATENCY_SESSIONS = 10
FIRST_HOP_PHONES = 2_000
WALK_PHONES = 200
"""Citizens (language and consent given) the sessions take turns with: a real gateway's first hops
come from many phones, and one phone opening sessions non-stop is refused by the flood limit
(bot/abuse.py: 20 new USSD sessions per phone per 10 minutes)."""


def bench_phones() -> tuple[list[str], list[str]]:
    """(phones dialling first hops, phones walking the menus): distinct, onboarded by `run`."""
    return ([f"+8551290{index:05d}" for index in range(FIRST_HOP_PHONES)],
            [f"+8551291{index:05d}" for index in range(WALK_PHONES)])
WALK = ("", "4", "0", "3", "98", "0", "1", "0", "4", "00")
"""The keys of one latency session: each hop enters or leaves a menu (none calls the registry)."""
TARGET_RATIO = 0.40
TARGET_P99_MS = 50.0


def create_bare_app() -> Flask:
    """The comparison point: a Flask endpoint doing nothing but answer a USSD screen."""
    app = Flask("bare")

    @app.post("/channels/ussd")
    def ussd() -> Response:
        return Response(BARE_BODY, mimetype="text/plain")

    return app


# ------------------------------------------------------------------------------ HTTP load client

def connect(port: int) -> Connection:
    """A keep-alive connection of the load bench's client (chumnuoy/loadclient.py)."""
    return Connection(f"http://127.0.0.1:{port}")


async def post_form(connection: Connection, path: str, form: dict[str, str]) -> tuple[int, str]:
    return await connection.request("POST", path, body=urlencode(form).encode(),
                                    content_type="application/x-www-form-urlencoded")


@dataclass
class Tally:
    ok: int = 0
    errors: int = 0
    first_error: str = ""
    latencies_ms: list[float] = field(default_factory=list)

    def record(self, status: int, body: str, expect: str, started: float) -> None:
        self.latencies_ms.append((time.perf_counter() - started) * 1000)
        if status == 200 and body.startswith(expect):
            self.ok += 1
        else:
            self.errors += 1
            self.first_error = self.first_error or f"{status} {body[:120]!r}"


def _form(session_id: str, phone: str, text: str) -> dict[str, str]:
    return {"sessionId": session_id, "serviceCode": "*1234#", "phoneNumber": phone, "networkCode": "45606",
            "text": text}


def _shares(phones: list[str], sessions: int | None) -> list[list[str]]:
    """The phones of each concurrent session (session i dials phones i, i + n, i + 2n, … in turn), so
    that no phone dials more often than the flood limit allows (bot/abuse.py: a phone opening
    sessions non-stop is refused, as it should be)."""
    count = sessions or len(phones)
    return [phones[index::count] for index in range(count)]


async def _first_hops(port: int, path: str, phones: list[str], seconds: float,
                      expect: str, sessions: int | None = None) -> tuple[Tally, float]:
    """`sessions` (default: one per phone) concurrent loops dial again and again (a new session each
    time, the next phone of their share) for `seconds`; (tally, elapsed)."""
    tally = Tally()
    shares = _shares(phones, sessions)
    connections = [connect(port) for _ in shares]
    stop_at = time.perf_counter() + seconds

    async def session(connection: Connection, share: list[str]) -> None:
        turn = 0
        while time.perf_counter() < stop_at:
            phone, turn = share[turn % len(share)], turn + 1
            started = time.perf_counter()
            status, body = await post_form(connection, path, _form("b" + secrets.token_hex(8), phone, ""))
            tally.record(status, body, expect, started)

    began = time.perf_counter()
    await asyncio.gather(*(session(c, share) for c, share in zip(connections, shares, strict=True)))
    elapsed = time.perf_counter() - began
    for connection in connections:
        await connection.close()
    return tally, elapsed


async def _walks(port: int, path: str, phones: list[str], seconds: float,
                 sessions: int | None = None) -> Tally:
    """`sessions` (default: one per phone) concurrent sessions walking through menus (`WALK`), each
    walk from the next phone of the session's share; every hop timed."""
    tally = Tally()
    stop_at = time.perf_counter() + seconds

    async def session(share: list[str]) -> None:
        connection = connect(port)
        turn = 0
        while time.perf_counter() < stop_at:
            phone, turn = share[turn % len(share)], turn + 1
            session_id, typed = "w" + secrets.token_hex(8), []
            for key in WALK:
                if key:
                    typed.append(key)
                started = time.perf_counter()
                status, body = await post_form(connection, path, _form(session_id, phone, "*".join(typed)))
                tally.record(status, body, "CON ", started)
        await connection.close()

    await asyncio.gather(*(session(share) for share in _shares(phones, sessions)))
    return tally


async def _onboard(port: int, path: str, phones: list[str]) -> None:
    """Language (Khmer) and consent for each phone, so their first hop shows the main menu."""
    connection = connect(port)
    for phone in phones:
        session_id = "o" + secrets.token_hex(8)
        for text in ("", "1", "1*1"):
            status, body = await post_form(connection, path, _form(session_id, phone, text))
            if status != 200:
                raise RuntimeError(f"onboarding failed: {status} {body[:200]}")
    await connection.close()


def onboard_in_database(database_url: str, phones: list[str]) -> None:
    """Language (Khmer) and consent for each phone, recorded as the first-contact screens record them
    (the portal services, one transaction): many phones without thousands of onboarding hops."""
    from sqlalchemy.orm import Session

    from bot.services import CONSENT_VERSION, MSG_CONSENT
    from chumnuoy.db import make_engine
    from chumnuoy.i18n import translate
    from portal.services import identity

    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            for phone in phones:
                citizen = identity.identity_for(session, "ussd", phone)
                identity.set_language(citizen, "km")
                identity.record_consent(session, citizen, wording_version=CONSENT_VERSION,
                                        text=translate("km", MSG_CONSENT), locale="km")
            session.commit()
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------ processes

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(port: int, path: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"a server exited early ({process.args!r})")
        try:
            httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"no answer on port {port}")


def _start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    try:
        return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
                                start_new_session=True)
    finally:
        handle.close()


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _cpu_seconds(master_pid: int) -> float:
    """User + system CPU time of a gunicorn master's worker processes (Linux /proc; 0 elsewhere):
    the server's cost per request, whatever else the machine is running."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == master_pid:  # fields[1] is the parent pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class Figures:
    bare_rps: float
    app_rps: float
    p50_ms: float
    p99_ms: float
    hops: int
    errors: int

    @property
    def ratio(self) -> float:
        return self.app_rps / self.bare_rps if self.bare_rps else 0.0


def run(*, persons: int = 10_000, seconds: float = 5.0, rounds: int = 2, latency_seconds: float = 8.0,
        keep: bool = False, redis_url: str = "") -> Figures:
    """`redis_url` (not what `make run` serves) puts conversation state in Redis for comparison."""
    from chumnuoy.envfile import new_ed25519_key
    from portal.db import upgrade
    from registry_sandbox.seed import seed_database

    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    workers = os.environ.get("CHUMNUOY_WEB_WORKERS", "2")
    base = ROOT / "var" / "bench"
    base.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="ussd-", dir=base))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        state = "state in Redis" if redis_url else "state in SQLite"
        print(f"ussd bench: {workers} gunicorn workers x 4 threads, SQLite, {state}, "
              f"in {workdir.relative_to(ROOT)}")
        started = time.perf_counter()
        registry_url = f"sqlite:///{workdir / 'registry.db'}"
        seed_database(registry_url, persons=persons, random_seed=20261125, if_needed=False)
        database_url = f"sqlite:///{workdir / 'chumnuoy.db'}"
        upgrade(database_url)
        onboard_in_database(database_url, [phone for group in bench_phones() for phone in group])
        print(f"registry seeded ({persons:,} synthetic persons), portal migrated, "
              f"{FIRST_HOP_PHONES + WALK_PHONES:,} citizens onboarded in "
              f"{time.perf_counter() - started:.1f} s")
        registry_port, web_port, bare_port = _free_port(), _free_port(), _free_port()
        key = secrets.token_urlsafe(24)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CHUMNUOY_", "REDIS", "DATABASE"))}
        env.update(
            CHUMNUOY_ENV_FILE=str(workdir / "no.env"), CHUMNUOY_WEB_WORKERS=workers,
            CHUMNUOY_WEB_BIND=f"127.0.0.1:{web_port}", CHUMNUOY_REGISTRY_BIND=f"127.0.0.1:{registry_port}",
            CHUMNUOY_LOG_LEVEL="WARNING", DATABASE_URL=database_url, REGISTRY_DATABASE_URL=registry_url,
            REDIS_URL=redis_url, SECRET_KEY=secrets.token_urlsafe(32), PUBLIC_BASE_URL=f"http://127.0.0.1:{web_port}",
            REGISTRY_URL=f"http://127.0.0.1:{registry_port}", REGISTRY_CLIENT_ID="chumnuoy-bench",
            REGISTRY_CLIENT_SECRET=secrets.token_urlsafe(24), REGISTRY_SIGNATURES="dev",
            REGISTRY_SIGNING_KEY=new_ed25519_key(), USSD_GATEWAY_KEY=key, SIMULATOR_ENABLED="0",
        )
        cli = [sys.executable, "-m", "chumnuoy"]
        processes.append(_start([*cli, "registry", "serve"], env, workdir / "registry.log"))
        processes.append(_start([*cli, "web"], env, workdir / "web.log"))
        processes.append(_start([sys.executable, "-m", "gunicorn", "bot.bench_ussd:create_bare_app()",
                                 "--bind", f"127.0.0.1:{bare_port}", "--workers", workers, "--threads", "4",
                                 "--access-logfile", "-", "--graceful-timeout", "10"],
                                env, workdir / "bare.log"))
        _wait_http(registry_port, "/healthz", processes[0])
        _wait_http(web_port, "/healthz", processes[1])
        _wait_http(bare_port, "/", processes[2])
        return asyncio.run(_measure(web_port, bare_port, key, seconds, rounds, latency_seconds,
                                    pids=(processes[1].pid, processes[2].pid)))
    finally:
        _stop(processes)
        if keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


async def _measure(web_port: int, bare_port: int, key: str, seconds: float, rounds: int,
                   latency_seconds: float, pids: tuple[int, int] = (0, 0)) -> Figures:
    path = f"/channels/ussd?key={key}"
    phones, walkers = bench_phones()
    await _onboard(web_port, path, ["+85512920000", "+85512920001"])  # first contact over HTTP, once
    menu = "CON ១ "
    await _first_hops(web_port, path, phones, 1.0, menu, THROUGHPUT_SESSIONS)  # warm-up: every thread
    await _first_hops(bare_port, path, phones, 1.0, BARE_BODY, THROUGHPUT_SESSIONS)
    bare_total = app_total = 0
    bare_time = app_time = 0.0
    errors = 0
    print(f"first hop, {THROUGHPUT_SESSIONS} concurrent sessions, {rounds} rounds of {seconds:.0f} s each:")
    for round_number in range(1, rounds + 1):
        cpu = _cpu_seconds(pids[1])
        bare, bare_elapsed = await _first_hops(bare_port, path, phones, seconds, BARE_BODY,
                                               THROUGHPUT_SESSIONS)
        bare_cpu, cpu = _cpu_seconds(pids[1]) - cpu, _cpu_seconds(pids[0])
        app, app_elapsed = await _first_hops(web_port, path, phones, seconds, menu, THROUGHPUT_SESSIONS)
        app_cpu = _cpu_seconds(pids[0]) - cpu
        errors += bare.errors + app.errors
        bare_total, bare_time = bare_total + bare.ok, bare_time + bare_elapsed
        app_total, app_time = app_total + app.ok, app_time + app_elapsed
        print(f"  round {round_number}: bare Flask {bare.ok / bare_elapsed:,.0f} req/s, "
              f"app {app.ok / app_elapsed:,.0f} req/s (p50 {_percentile(app.latencies_ms, .5):.1f} ms, "
              f"p99 {_percentile(app.latencies_ms, .99):.1f} ms), errors {bare.errors + app.errors}; "
              f"server CPU per request: bare {bare_cpu / max(1, bare.ok) * 1000:.2f} ms, "
              f"app {app_cpu / max(1, app.ok) * 1000:.2f} ms"
              + (f" first: {app.first_error or bare.first_error}" if bare.errors + app.errors else ""))
    walk = await _walks(web_port, path, walkers, latency_seconds, LATENCY_SESSIONS)
    errors += walk.errors
    figures = Figures(bare_rps=bare_total / bare_time, app_rps=app_total / app_time,
                      p50_ms=_percentile(walk.latencies_ms, .5), p99_ms=_percentile(walk.latencies_ms, .99),
                      hops=len(walk.latencies_ms), errors=errors)
    verdict = "met" if figures.ratio >= TARGET_RATIO else "NOT met"
    print(f"throughput: bare Flask {figures.bare_rps:,.0f} req/s, "
          f"app first hop {figures.app_rps:,.0f} req/s, ratio {figures.ratio:.0%} "
          f"(target >= {TARGET_RATIO:.0%}: {verdict})")
    verdict = "met" if figures.p99_ms <= TARGET_P99_MS else "NOT met"
    print(f"menu hops, {LATENCY_SESSIONS} concurrent sessions: {figures.hops:,} hops, "
          f"p50 {figures.p50_ms:.1f} ms, p99 {figures.p99_ms:.1f} ms, max {max(walk.latencies_ms):.1f} ms, "
          f"mean {statistics.fmean(walk.latencies_ms):.1f} ms "
          f"(target p99 <= {TARGET_P99_MS:.0f} ms: {verdict})"
          + (f"; errors {walk.errors}, first: {walk.first_error}" if walk.errors else ""))
    if errors:
        print(f"!! {errors} requests failed")
    return figures
