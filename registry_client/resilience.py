"""Retries with exponential backoff and jitter, and a circuit breaker, for calls to the registry.

Only *transient* failures count: a refused or dropped connection, a timeout, HTTP 5xx and 429.
A registry that answers (even 4xx) is up, so it closes the breaker. The breaker is per process.

Tuning comes from constructor arguments, or from the environment through `ResilienceConfig.from_env`:
`CHUMNUOY_REGISTRY_ATTEMPTS` (3), `CHUMNUOY_REGISTRY_BACKOFF` (0.2 s base), `CHUMNUOY_REGISTRY_BACKOFF_MAX`
(2 s), `CHUMNUOY_REGISTRY_BREAKER_FAILURES` (5), `CHUMNUOY_REGISTRY_BREAKER_COOLDOWN` (30 s).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from chumnuoy import metrics
from registry_client.types import RegistryUnavailable

CircuitState = Literal["closed", "open", "half-open"]
T = TypeVar("T")


@dataclass(frozen=True)
class ResilienceConfig:
    attempts: int = 3
    """Tries per idempotent call (1 = no retry). Non-idempotent calls always get one try."""
    backoff_base: float = 0.2
    backoff_max: float = 2.0
    breaker_failures: int = 5
    """Consecutive transient failures (attempts, not calls) that open the circuit."""
    breaker_cooldown: float = 30.0
    """Seconds an open circuit waits before letting one trial call through (half-open)."""

    @classmethod
    def from_env(cls) -> ResilienceConfig:
        env = os.environ.get
        return cls(
            attempts=max(1, int(env("CHUMNUOY_REGISTRY_ATTEMPTS", "3"))),
            backoff_base=float(env("CHUMNUOY_REGISTRY_BACKOFF", "0.2")),
            backoff_max=float(env("CHUMNUOY_REGISTRY_BACKOFF_MAX", "2")),
            breaker_failures=max(1, int(env("CHUMNUOY_REGISTRY_BREAKER_FAILURES", "5"))),
            breaker_cooldown=float(env("CHUMNUOY_REGISTRY_BREAKER_COOLDOWN", "30")),
        )


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """"Full jitter" backoff: uniform in [0, min(cap, base * 2**attempt)] for attempt = 0, 1, …"""
    ceiling = min(cap, base * (2**attempt))
    return (rng or random).uniform(0, ceiling)


class CircuitOpen(RegistryUnavailable):
    """Raised without any network traffic while the circuit is open."""


class CircuitBreaker:
    """closed → (N consecutive transient failures) → open → (cool-down) → half-open → one trial call:
    success closes it, failure opens it again for another cool-down. Thread-safe."""

    def __init__(self, failures: int = 5, cooldown: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.failure_threshold = failures
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._state: CircuitState = "closed"
        self._consecutive = 0
        self._opened_at = 0.0
        self._trial_running = False
        self.opened_count = 0
        """How many times the circuit opened (for metrics)."""

    @property
    def state(self) -> CircuitState:
        with self._lock:
            return self._current_state()

    def _current_state(self) -> CircuitState:
        if self._state == "open" and self._clock() - self._opened_at >= self.cooldown:
            self._state = "half-open"
            self._trial_running = False
            metrics.circuit_changed("half-open")
        return self._state

    def before_call(self) -> None:
        """Raise `CircuitOpen` unless a call may go out now."""
        with self._lock:
            state = self._current_state()
            if state == "open":
                metrics.registry_error("circuit_open")
                raise CircuitOpen("registry circuit open")
            if state == "half-open":
                if self._trial_running:
                    metrics.registry_error("circuit_open")
                    raise CircuitOpen("registry circuit half-open: trial call in progress")
                self._trial_running = True

    def record_success(self) -> None:
        with self._lock:
            if self._state != "closed":
                metrics.circuit_changed("closed")
            self._state = "closed"
            self._consecutive = 0
            self._trial_running = False

    def record_failure(self) -> None:
        """A transient failure."""
        metrics.registry_error("transient")
        with self._lock:
            state = self._current_state()
            self._consecutive += 1
            if state == "half-open" or self._consecutive >= self.failure_threshold:
                if self._state != "open":
                    self.opened_count += 1
                    metrics.CIRCUIT_OPENED.inc()
                    metrics.circuit_changed("open")
                self._state = "open"
                self._opened_at = self._clock()
                self._trial_running = False

    def record_neutral(self) -> None:
        """The call ended without telling us about the registry's health (e.g. a local error)."""
        with self._lock:
            self._trial_running = False
