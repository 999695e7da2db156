"""`chumnuoy bench load`: USSD sessions, SMS conversations and /api/v1 calls (chumnuoy.loadclient) at
50, 100 and 200 concurrent users, in the embedded configuration (SQLite, as `make run`) and the production one
(PostgreSQL + Redis, more gunicorn workers, several `worker` processes).

Each configuration runs as real processes on free 127.0.0.1 ports (chumnuoy.stack) in a fresh
var/bench/load-* directory, with a Twilio stand-in receiving the outbox's SMS; the production one on a
private PostgreSQL + Redis started by scripts/services.sh (own ports and data, deleted afterwards).
Every cell is bounded in time (`seconds`) and in requests (`max_requests`). Prints, per configuration,
channel and concurrency: requests, throughput, p50/p99 latency of a request and the error rate; then
the outbox's state after the run (sent, duplicates received by the stand-in).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from chumnuoy import ROOT
from chumnuoy.loadclient import PhonePool, Tally, Target, drive, journey, onboard, percentile
from chumnuoy.localservices import LocalServices
from chumnuoy.stack import Stack, StackSpec, free_port
from chumnuoy.standins import TwilioStandIn

CHANNELS = ("ussd", "sms", "api", "registry")
"""api = the portal's own /api/v1 work; registry = /api/v1 calls answered from the DCI registry."""
CONFIGS = ("embedded", "production")
PHONES_PER_USER = 3
"""Phone pool per channel = 3 x the most users (one phone is never used by two users at once)."""


@dataclass(frozen=True)
class Row:
    config: str
    channel: str
    users: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    first_error: str

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def line(self) -> str:
        return (f"| {self.config} | {self.channel} | {self.users} | {self.requests:,} | "
                f"{self.throughput:,.0f} | {self.p50_ms:.1f} | {self.p99_ms:.1f} | {self.error_rate:.2%} |")


def outbox_counts(database_url: str) -> Counter[str]:
    from sqlalchemy import func, select

    from chumnuoy.db import make_engine
    from portal.models.cases import OutboxMessage

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            rows = connection.execute(query)
            return Counter({status: count for status, count in rows})
    finally:
        engine.dispose()


def wait_outbox_drained(database_url: str, timeout: float) -> Counter[str]:
    deadline = time.monotonic() + timeout
    counts = outbox_counts(database_url)
    while time.monotonic() < deadline and (counts["pending"] or counts["sending"]):
        time.sleep(1.0)
        counts = outbox_counts(database_url)
    return counts


async def _measure(config: str, stack: Stack, users_levels: tuple[int, ...], seconds: float,
                   max_requests: int) -> list[Row]:
    target = Target(stack.web_url, stack.ussd_key, stack.sms_key, stack.twilio_token, stack.api_token)
    pool_size = PHONES_PER_USER * max(users_levels)
    pools = {channel: PhonePool(range(pool_size)) for channel in ("ussd", "sms")}
    for channel in CHANNELS:
        await onboard(channel, target, pool_size)
    rows: list[Row] = []
    warm = Tally()
    await drive(target, journey("ussd", target, warm, phones=pools["ussd"]), 10, 1.0, max_requests, warm)
    for users in users_levels:
        for channel in CHANNELS:
            tally = Tally()
            run_journey = journey(channel, target, tally, phones=pools.get(channel))
            elapsed = await drive(target, run_journey, users, seconds, max_requests, tally)
            row = Row(config, channel, users, tally.requests, elapsed, percentile(tally.latencies_ms, .5),
                      percentile(tally.latencies_ms, .99), tally.errors, tally.first_error)
            rows.append(row)
            print(row.line() + (f" first error: {row.first_error}" if row.errors else ""), flush=True)
    for channel, pool in pools.items():
        what = "sessions" if channel == "ussd" else "conversations"
        print(f"  {config}: {channel} over {pool_size} phones, at most {max(pool.lent.values())} {what} per "
              "phone (bot/abuse.py allows 20 USSD sessions / 30 SMS per phone in 10 minutes)", flush=True)
    return rows


def run(*, configs: tuple[str, ...] = CONFIGS, users_levels: tuple[int, ...] = (50, 100, 200),
        seconds: float = 8.0, max_requests: int = 40_000, persons: int = 10_000, web_workers: int = 4,
        worker_processes: int = 2, keep: bool = False) -> list[Row]:
    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    base = ROOT / "var" / "bench"
    base.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    print(f"load bench: users {', '.join(map(str, users_levels))}; {seconds:.0f} s (or {max_requests:,} "
          "requests) per cell; one asyncio client on the same machine; all on 127.0.0.1", flush=True)
    print("| config | channel | users | requests | req/s | p50 ms | p99 ms | errors |\n"
          "|---|---|---|---|---|---|---|---|", flush=True)
    for config in configs:
        workdir = Path(tempfile.mkdtemp(prefix=f"load-{config}-", dir=base))
        services: LocalServices | None = None
        try:
            with TwilioStandIn() as twilio:
                extra = {"CHUMNUOY_OUTBOX_RATE_SMS": "200"}
                if config == "production":
                    services = LocalServices(free_port(), free_port(), workdir / "services")
                    services.start()
                    spec = StackSpec(database_url=services.database("chumnuoy"),
                                     registry_database_url=services.database("registry"),
                                     redis_url=services.redis_url(), web_workers=web_workers,
                                     worker_processes=worker_processes, persons=persons,
                                     twilio_url=twilio.url, extra_env=extra)
                else:
                    spec = StackSpec(database_url=f"sqlite:///{workdir / 'chumnuoy.db'}",
                                     registry_database_url=f"sqlite:///{workdir / 'registry.db'}",
                                     web_workers=2, worker_processes=1, persons=persons,
                                     twilio_url=twilio.url, extra_env=extra)
                with Stack(spec, workdir) as stack:
                    stack.prepare()
                    stack.start_all()
                    rows += asyncio.run(_measure(config, stack, users_levels, seconds, max_requests))
                    counts = wait_outbox_drained(spec.database_url, timeout=60)
                    received = twilio.messages()
                    print(f"  {config} ({spec.web_workers} web workers x 4 threads, {spec.worker_processes} "
                          f"worker process(es)): outbox {dict(counts)}; stand-in received {len(received):,} "
                          f"SMS, duplicates {twilio.duplicates()}", flush=True)
        finally:
            if services is not None:
                services.stop()
            if keep:
                print(f"kept {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    return rows
