"""Prometheus metrics of the web app, the worker and the registry client (one place for every name).

Counters and histograms live in the process that observes them. `web` (gunicorn, several worker
processes) and each `worker` process run in prometheus_client's multiprocess mode: every process
writes its values to memory-mapped files under one directory per deployment, and `/metrics` on any
web process adds up the files of all of them (portal/observability/metrics.py); the directories
are described in chumnuoy/metrics_dirs.py. Without PROMETHEUS_MULTIPROC_DIR (tests, scripts) the
metrics are plain in-process ones.

Gauges that are facts of the database (outbox backlog, failed deliveries, grievances past their SLA,
the worker's heartbeat) are not kept here: they are computed at scrape time.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from bisect import bisect_left
from collections import deque
from pathlib import Path

from prometheus_client import Counter, Gauge, Histogram

from chumnuoy.metrics_dirs import MULTIPROC_ENV

CHANNELS = ("ussd", "sms", "telegram")

MESSAGES = Counter(
    "chumnuoy_messages_total",
    "Citizen messages by channel and direction (in: accepted webhook; out: synchronous reply or "
    "delivered outbox message)",
    ["channel", "direction"],
)
HOP_SECONDS = Histogram(
    "chumnuoy_hop_seconds",
    "Time the web app took to answer one channel webhook (a citizen's hop), by channel",
    ["channel"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
NLU_FALLBACKS = Counter(
    "chumnuoy_nlu_fallbacks_total",
    "Free-text messages the NLU was unsure about (help shown or a clarifying question asked)",
    ["channel", "reason"],
)
OUTBOX_DELIVERIES = Counter(
    "chumnuoy_outbox_deliveries_total",
    "Outbox delivery outcomes by channel: sent, retry, failed, opted_out, suppressed",
    ["channel", "outcome"],
)
REGISTRY_ERRORS = Counter(
    "chumnuoy_registry_errors_total",
    "Registry calls that failed: transient (timeout, unreachable, 5xx, 429; per attempt) or "
    "circuit_open (refused locally by the circuit breaker)",
    ["kind"],
)
REGISTRY_SECONDS = Histogram(
    "chumnuoy_registry_request_seconds",
    "HTTP exchanges with the registry by status class (2xx, 4xx, 5xx)",
    ["status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
CIRCUIT_STATE = Gauge(
    "chumnuoy_registry_circuit_state",
    "Registry circuit breaker as last seen: 0 closed, 1 half-open, 2 open (worst live process)",
    multiprocess_mode="livemax",
)
CIRCUIT_OPENED = Counter("chumnuoy_registry_circuit_opened_total", "Times a registry circuit breaker opened")

CIRCUIT_VALUES = {"closed": 0, "half-open": 1, "open": 2}

# Children made once: `.labels()` takes a lock and builds a tuple on every call; the hot path of a
# channel hop only looks these up in a dict.
_messages = {(c, d): MESSAGES.labels(c, d) for c in CHANNELS for d in ("in", "out")}
_hops = {c: HOP_SECONDS.labels(c) for c in CHANNELS}
_registry_errors = {kind: REGISTRY_ERRORS.labels(kind) for kind in ("transient", "circuit_open")}
_OUTCOMES = {"sent": "sent", "pending": "retry", "failed": "failed", "opted_out": "opted_out",
             "suppressed": "suppressed"}


def count_message(channel: str, direction: str, amount: int = 1) -> None:
    child = _messages.get((channel, direction))
    (child or MESSAGES.labels(channel, direction)).inc(amount)


# --- channel hops: recorded on the request path for ~0.1 µs, written by a background thread ----------
#
# A multiprocess counter or histogram write takes a lock and writes a memory-mapped file (several µs
# for a histogram on the reference machine). A hop only appends a tuple to a deque (thread-safe);
# a daemon thread per process adds them up once a second and writes each total once, and `/metrics`
# flushes its own process first. Other processes' hops show up within FLUSH_SECONDS; a process
# killed with -9 loses at most that much.

FLUSH_SECONDS = 1.0
_pending_hops: deque[tuple[str, float, bool]] = deque()
_flusher_pid = 0
_flush_lock = threading.Lock()


def record_hop(channel: str, seconds: float, replied: bool) -> None:
    """One webhook hop of `channel` answered in `seconds` (`replied`: the answer carried a reply)."""
    _pending_hops.append((channel, seconds, replied))
    if _flusher_pid != os.getpid():
        _start_flusher()


def _start_flusher() -> None:
    global _flusher_pid
    with _flush_lock:
        if _flusher_pid == os.getpid():
            return
        _flusher_pid = os.getpid()
        threading.Thread(target=_flush_forever, name="metrics-flush", daemon=True).start()
        atexit.register(flush)


def _flush_forever() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        try:
            flush()
        except Exception:  # never let metrics kill the process; next round retries
            logging.getLogger("chumnuoy.metrics").exception("metrics flush failed")


def flush() -> None:
    """Write the hops recorded so far (aggregated: one write per counter and histogram bucket)."""
    with _flush_lock:
        counts: dict[tuple[str, str], int] = {}
        buckets: dict[str, list[int]] = {}
        sums: dict[str, float] = {}
        bounds = HOP_SECONDS._upper_bounds
        while True:
            try:
                channel, seconds, replied = _pending_hops.popleft()
            except IndexError:
                break
            counts[(channel, "in")] = counts.get((channel, "in"), 0) + 1
            if replied:
                counts[(channel, "out")] = counts.get((channel, "out"), 0) + 1
            per_bucket = buckets.setdefault(channel, [0] * len(bounds))
            per_bucket[bisect_left(bounds, seconds)] += 1
            sums[channel] = sums.get(channel, 0.0) + seconds
        for (channel, direction), amount in counts.items():
            count_message(channel, direction, amount)
        for channel, per_bucket in buckets.items():
            child = _hops.get(channel) or HOP_SECONDS.labels(channel)
            child._sum.inc(sums[channel])  # what Histogram.observe does, once per bucket instead of per hop
            for index, amount in enumerate(per_bucket):
                if amount:
                    child._buckets[index].inc(amount)


def nlu_fallback(channel: str, reason: str) -> None:
    NLU_FALLBACKS.labels(channel, reason).inc()


def outbox_outcome(channel: str, status: str) -> None:
    """After a delivery attempt: the message's new status (pending = will be retried)."""
    OUTBOX_DELIVERIES.labels(channel, _OUTCOMES.get(status, status)).inc()
    if status == "sent":
        count_message(channel, "out")


def registry_error(kind: str) -> None:
    child = _registry_errors.get(kind)
    (child or REGISTRY_ERRORS.labels(kind)).inc()


def circuit_changed(state: str) -> None:
    CIRCUIT_STATE.set(CIRCUIT_VALUES.get(state, 0))


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def multiprocess_files() -> list[str]:
    """The value files `/metrics` adds up: this web's directory and every worker's of the deployment."""
    own = os.environ.get(MULTIPROC_ENV)
    if not own:
        return []
    directory = Path(own)
    files = [str(p) for p in directory.glob("*.db")]
    files += [str(p) for p in directory.parent.glob("worker-*/*.db")]
    return files


def forget_process(pid: int, directory: str | None = None) -> None:
    """A process has ended: drop its live gauges (its counters stay, so totals never go down)."""
    path = Path(directory or os.environ.get(MULTIPROC_ENV, ""))
    if path.is_dir():
        for file in path.glob(f"gauge_live*_{pid}.db"):
            file.unlink(missing_ok=True)
