"""`chumnuoy bench registry`: seed N persons into a fresh database, then time sync search by identifier.

Prints the seeding wall time and rate, then p50/p95/p99 of lookups (a mix of UIN and MOBILE of
random existing persons, Group entity, page size 10) measured twice: the Store call in process,
and the full HTTP path (gunicorn serving the sandbox on 127.0.0.1, bearer token, POST
/registry/sync/search, one keep-alive client, unsigned requests as `dev` mode allows).
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from chumnuoy import ROOT
from chumnuoy.db import make_engine
from registry_sandbox.models import CAMBODIA, Person
from registry_sandbox.seed import seed_database, seeded_counts
from registry_sandbox.store import Store

BENCH_SEED = 20261125


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)

    def pick(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    return (f"p50 {pick(0.50):.2f} ms  p95 {pick(0.95):.2f} ms  p99 {pick(0.99):.2f} ms  "
            f"max {ordered[-1]:.2f} ms  mean {statistics.fmean(ordered):.2f} ms  (n={len(ordered)})")


def _fresh_sqlite() -> str:
    path = ROOT / "var" / "bench" / "registry-bench.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _sample(database_url: str, lookups: int) -> list[tuple[str, str]]:
    """`lookups` (type, value) pairs of random existing persons, alternately UIN and MOBILE."""
    engine = make_engine(database_url)
    rng = random.Random(7)
    try:
        with engine.connect() as connection:
            top = connection.execute(select(func.max(Person.id))).scalar_one()
            pairs: list[tuple[str, str]] = []
            while len(pairs) < lookups:
                ids = [rng.randint(1, top) for _ in range(500)]
                rows = connection.execute(select(Person.uin, Person.phone).where(Person.id.in_(ids))).all()
                for uin, phone in rows:
                    want_uin = len(pairs) % 2 == 0
                    if want_uin and uin:
                        pairs.append(("UIN", uin))
                    elif not want_uin and phone:
                        pairs.append(("MOBILE", phone))
            return pairs[:lookups]
    finally:
        engine.dispose()


def _time(call: Callable[[str, str], object], pairs: list[tuple[str, str]]) -> list[float]:
    for id_type, value in pairs[:50]:  # warm-up
        call(id_type, value)
    samples = []
    for id_type, value in pairs:
        started = time.perf_counter()
        call(id_type, value)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _search_body(id_type: str, value: str) -> dict:
    now = datetime.now(CAMBODIA).isoformat(timespec="seconds")
    return {
        "header": {"version": "1.0.0", "message_id": str(uuid.uuid4()), "message_ts": now,
                   "action": "search", "sender_id": "chumnuoy-bench", "receiver_id": "spr-sandbox",
                   "total_count": 1, "is_msg_encrypted": False},
        "message": {"transaction_id": uuid.uuid4().hex, "search_request": [{
            "reference_id": uuid.uuid4().hex, "timestamp": now,
            "search_criteria": {"version": "1.0.0", "reg_type": "social", "query_type": "idtype-value",
                                "query": {"type": id_type, "value": value}, "response_entity": "Group",
                                "pagination": {"page_size": 10, "page_number": 1}},
            "locale": "khm"}]},
    }


def _http(database_url: str, pairs: list[tuple[str, str]]) -> list[float] | None:
    try:
        import httpx

        import registry_sandbox.api  # noqa: F401
        from chumnuoy.envfile import new_ed25519_key
    except ImportError as error:
        print(f"HTTP path: skipped ({error})")
        return None
    port = _free_port()
    secret = secrets.token_urlsafe(24)
    env = dict(os.environ, REGISTRY_DATABASE_URL=database_url, REGISTRY_CLIENT_ID="chumnuoy-bench",
               REGISTRY_CLIENT_SECRET=secret, REGISTRY_SIGNATURES="dev",
               REGISTRY_SIGNING_KEY=new_ed25519_key(), CHUMNUOY_ENV_FILE="/nonexistent")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "registry_sandbox.wsgi:app", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "4", "--log-level", "warning"],
        env=env, cwd=str(ROOT),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    print("HTTP path: the sandbox did not start")
                    return None
                time.sleep(0.2)
            token = client.post("/oauth2/client/token", data={
                "grant_type": "client_credentials", "client_id": "chumnuoy-bench", "client_secret": secret,
            }).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            failures = 0

            def call(id_type: str, value: str) -> None:
                nonlocal failures
                body = _search_body(id_type, value)
                response = client.post("/registry/sync/search", json=body, headers=headers)
                body = response.json()
                items = body.get("message", {}).get("search_response", [])
                if response.status_code != 200 or not items or items[0].get("status") != "succ":
                    failures += 1
                    if failures == 1:
                        print(f"HTTP path: unexpected answer {response.status_code} {response.text[:300]}")

            samples = _time(call, pairs)
            if failures:
                print(f"HTTP path: {failures} lookups did not answer succ")
            return samples
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def run(persons: int, lookups: int, database_url: str | None) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    url = database_url or _fresh_sqlite()
    backend = url.split(":", 1)[0]
    print(f"registry bench: {persons:,} synthetic persons, {lookups:,} lookups, backend {backend}")
    started = time.perf_counter()
    report = seed_database(url, persons=persons, random_seed=BENCH_SEED, if_needed=False)
    seconds = time.perf_counter() - started
    engine = make_engine(url)
    counts = seeded_counts(engine)
    rows = sum(counts.values())
    print(report)
    print(f"seeding: {seconds:.1f} s wall, {counts['persons'] / seconds:,.0f} persons/s, "
          f"{rows / seconds:,.0f} rows/s ({rows:,} rows: {counts})")
    pairs = _sample(url, max(lookups, 1))
    store = Store(engine)
    samples = _time(lambda t, v: store.search_identifier(t, v, "Group", 1, 10, []), pairs)
    print(f"sync search by identifier, Store in process: {_percentiles(samples)}")
    http = _http(url, pairs)
    if http:
        print(f"sync search by identifier, HTTP POST /registry/sync/search: {_percentiles(http)}")
    engine.dispose()
