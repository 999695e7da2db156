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


JOB_MODULES = ("portal.jobs", "bot.telegram.jobs")
"""Modules whose import registers jobs (each later issue adds its module here)."""


def load_jobs() -> list[Job]:
    """Import the modules that define jobs (once; re-importing does not register twice)."""
    import importlib

    for module in JOB_MODULES:
        importlib.import_module(module)
    return JOBS


def run_forever(idle_sleep: float = 0.5) -> None:
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    jobs = load_jobs()
    log.info("worker started with %d job(s): %s", len(jobs), ", ".join(j.name for j in jobs) or "none")
    while not stopping:
        now = time.monotonic()
        busy = False
        for item in jobs:
            if now < item.next_at:
                continue
            try:
                handled = item.run()
            except Exception:
                log.exception("job %s failed", item.name)
                handled = 0
            busy = busy or handled > 0
            item.next_at = now if handled else now + item.every_seconds
        if not busy:
            time.sleep(idle_sleep)
    log.info("worker stopped")
