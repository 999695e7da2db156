"""`chumnuoy bench faults`: the full form of the fault tests (tests/reliability/ runs the short one).

For each configuration — embedded (SQLite, 2 gunicorn workers, 2 worker processes) and production (a
private PostgreSQL + Redis from scripts/services.sh, 4 gunicorn workers, 2 worker processes) — on real
processes on 127.0.0.1 with a Twilio stand-in:
1. `kill -9` of web and of every worker, several times, under a write load of API grievances, change
   requests and USSD complaints; counts acknowledged vs stored writes, duplicates and deliveries;
2. the registry killed and restarted (circuit breaker, Khmer "busy" answer, grievances still accepted);
3. production only: PostgreSQL restarted under the running processes.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from chumnuoy import ROOT
from chumnuoy.faults import database_restart, kill_under_load, registry_outage
from chumnuoy.localservices import LocalServices
from chumnuoy.stack import Stack, StackSpec, free_port
from chumnuoy.standins import TwilioStandIn

FAST_RECOVERY = {"CHUMNUOY_OUTBOX_RATE_SMS": "200", "CHUMNUOY_OUTBOX_LEASE_SECONDS": "5",
                 "CHUMNUOY_REGISTRY_BREAKER_COOLDOWN": "3"}


def _plan(seconds: float, workers: list[str]) -> list[tuple[float, str]]:
    """web at 15% and 55% of the run; each worker at 35% and 75% (staggered)."""
    plan = [(seconds * 0.15, "web"), (seconds * 0.55, "web")]
    for index, name in enumerate(workers):
        plan += [(seconds * 0.35 + index, name), (seconds * 0.75 + index, name)]
    return sorted(plan)


def run(*, configs: tuple[str, ...] = ("embedded", "production"), seconds: float = 30.0, writers: int = 12,
        ussd_users: int = 6, keep: bool = False) -> bool:
    """Prints every figure; returns False when an acknowledged write was lost or duplicated."""
    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    base = ROOT / "var" / "bench"
    base.mkdir(parents=True, exist_ok=True)
    sound = True
    for config in configs:
        workdir = Path(tempfile.mkdtemp(prefix=f"faults-{config}-", dir=base))
        services: LocalServices | None = None
        try:
            with TwilioStandIn() as twilio:
                if config == "production":
                    services = LocalServices(free_port(), free_port(), workdir / "services")
                    services.start()
                    spec = StackSpec(database_url=services.database("chumnuoy"),
                                     registry_database_url=services.database("registry"),
                                     redis_url=services.redis_url(), web_workers=4, worker_processes=2,
                                     persons=2_000, twilio_url=twilio.url, extra_env=dict(FAST_RECOVERY))
                else:
                    spec = StackSpec(database_url=f"sqlite:///{workdir / 'chumnuoy.db'}",
                                     registry_database_url=f"sqlite:///{workdir / 'registry.db'}",
                                     web_workers=2, worker_processes=2, persons=2_000, twilio_url=twilio.url,
                                     extra_env=dict(FAST_RECOVERY))
                with Stack(spec, workdir) as stack:
                    stack.prepare()
                    stack.start_all()
                    print(f"== {config}: {spec.web_workers} web workers, {spec.worker_processes} worker "
                          f"processes, {seconds:.0f} s of writes by {writers} API clients and {ussd_users} "
                          "USSD phones", flush=True)
                    report = kill_under_load(stack, twilio, seconds=seconds, writers=writers,
                                             ussd_users=ussd_users, plan=_plan(seconds, stack.worker_names))
                    for line in report.lines():
                        print("  " + line, flush=True)
                    sound = sound and not report.missing and not report.duplicated
                    outage = registry_outage(stack)
                    for line in outage.lines():
                        print("  " + line, flush=True)
                    if services is not None:
                        restart = database_restart(stack, services.restart_postgres)
                        for line in restart.lines():
                            print("  " + line, flush=True)
        finally:
            if services is not None:
                services.stop()
            if keep:
                print(f"kept {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    return sound
