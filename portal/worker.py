"""The `worker` process: runs the registered background jobs in a loop.

Jobs (outbox delivery, stored Telegram updates, SLA timers, reminders) register themselves with
`job(...)`; each run works on rows in the database, so any number of workers may run and a killed
worker loses nothing. A job that raises is logged and retried on its next turn.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("chumnuoy.worker")


@dataclass
class Job:
    name: str
    every_seconds: float
    run: Callable[[], int]
    """Does one batch of work; returns how many items it handled (0 = idle)."""
    next_at: float = 0.0


JOBS: list[Job] = []


def job(name: str, every_seconds: float) -> Callable[[Callable[[], int]], Callable[[], int]]:
    """Register a function as a worker job."""

    def register(function: Callable[[], int]) -> Callable[[], int]:
        JOBS.append(Job(name, every_seconds, function))
        return function

    return register


JOB_MODULES = ("portal.jobs", "bot.telegram.jobs", "portal.retention_jobs")
"""Modules whose import registers jobs (each later issue adds its module here)."""


def load_jobs() -> list[Job]:
    """Import the modules that define jobs (once; re-importing does not register twice)."""
    import importlib

    for module in JOB_MODULES:
        importlib.import_module(module)
    return JOBS


def _heartbeat_job() -> Job:
    """Beats first in every round it is due; a job stuck for a minute makes the worker look stale."""
    import os
    import socket

    from sqlalchemy.orm import sessionmaker

    from chumnuoy.db import make_engine
    from chumnuoy.settings import get_settings
    from portal.observability import heartbeat

    worker_id = f"{socket.gethostname()}-{os.getpid()}"
    sessions = sessionmaker(make_engine(get_settings().database_url))

    def beat() -> int:
        with sessions() as session:
            heartbeat.beat(session, worker_id)
        return 0

    return Job("heartbeat", heartbeat.BEAT_SECONDS, beat)


def _forget_live_gauges() -> None:
    import os

    from chumnuoy.metrics import forget_process, multiprocess

    if multiprocess():
        forget_process(os.getpid())


def run_forever(idle_sleep: float = 0.5) -> None:
    import secrets

    from chumnuoy.logs import request_context

    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    jobs = [_heartbeat_job(), *load_jobs()]
    from portal import wakeup

    waiter = wakeup.waiter()  # REDIS_URL set: idle waits end as soon as a web process commits work
    log.info("worker started with %d job(s): %s", len(jobs), ", ".join(j.name for j in jobs) or "none")
    while not stopping:
        now = time.monotonic()
        busy = False
        for item in jobs:
            if now < item.next_at:
                continue
            try:
                with request_context(f"{item.name}-{secrets.token_hex(4)}"):  # log lines of one run
                    handled = item.run()
            except Exception:
                log.exception("job %s failed", item.name)
                handled = 0
            busy = busy or handled > 0
            idle = wakeup.idle_interval(item.name, item.every_seconds, waiter)
            item.next_at = now if handled else now + idle
        if not busy and waiter is None:
            time.sleep(idle_sleep)
        elif not busy:
            woken = waiter.wait(idle_sleep)
            for item in jobs:
                item.next_at = 0.0 if item.name in woken else item.next_at
    _forget_live_gauges()
    log.info("worker stopped")
