"""Fault scenarios on a real process set (chumnuoy.stack): the short form runs in `make test`
(tests/reliability/), the full form in `make bench` (`chumnuoy bench faults`).

- `kill_under_load`: citizens and API clients lodge grievances and change requests while `web` and
  `worker` are killed with SIGKILL and started again. Afterwards every grievance and change request a
  client was told about (reference / id in the reply) exists exactly once, no client-made write exists
  twice, the outbox drains, and the Twilio stand-in's copies of each message are counted.
- `registry_outage`: the registry is killed mid-load: personal features answer the Khmer "service
  busy" message (fast, once the circuit breaker is open), grievances are still accepted, and
  service resumes when the registry is back.
- `database_restart`: PostgreSQL restarts under the running processes (a private cluster); they
  recover without being restarted.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select

from chumnuoy.loadbench import outbox_counts
from chumnuoy.loadclient import (
    Api,
    Connection,
    PhonePool,
    Tally,
    Target,
    Ussd,
    api_phone,
    drive,
    journey,
    onboard,
    percentile,
    reference_in,
    ussd_phone,
)
from chumnuoy.stack import Stack
from chumnuoy.standins import TwilioStandIn

BUSY_KM = "សូមអភ័យទោស សេវាកំពុងរវល់។ សូមព្យាយាមពេលក្រោយ។"
"""bot.journeys.personal.MSG_BUSY in Khmer (translations/km/LC_MESSAGES/bot.po)."""
P1_PHONE = "+85512000101"
P1_SPID = "KH0000001010"


def target_of(stack: Stack) -> Target:
    return Target(stack.web_url, stack.ussd_key, stack.sms_key, stack.twilio_token, stack.api_token)


# ----------------------------------------------------------------------------------- kill -9

@dataclass
class WriteLog:
    """What the clients were told (acknowledged) and what they tried."""

    grievance_tokens: dict[str, str] = field(default_factory=dict)
    """client token → reference the client saw (acknowledged API grievances)."""
    change_tokens: dict[str, int] = field(default_factory=dict)
    """client token (the new phone number) → change-request id the client saw."""
    ussd_references: list[str] = field(default_factory=list)
    attempted: int = 0
    failed: int = 0


async def _writer(target: Target, log: WriteLog, index: int, stop: dict[str, float]) -> None:
    connection = Connection(target.web_url)
    api = Api(target, connection)
    round_number = 0
    while time.perf_counter() < stop["at"]:
        round_number += 1
        token = secrets.token_hex(6)
        log.attempted += 1
        try:
            if round_number % 2:
                status, answer = await api.call("POST", "/grievances", {
                    "category": "non_payment", "description": f"fault {token}",
                    "reply": {"channel": "sms", "address": api_phone(index)}})
                if status == 201 and isinstance(answer, dict):
                    log.grievance_tokens[token] = str(answer["reference"])
                else:
                    log.failed += 1
            else:
                new_phone = f"+8551{secrets.randbelow(10**8):08d}"
                status, answer = await api.call("POST", "/change-requests", {
                    "change_type": "phone", "person_spid": P1_SPID, "new_value": new_phone,
                    "reply": {"channel": "sms", "address": new_phone}, "notify": True})
                if status == 201 and isinstance(answer, dict):
                    log.change_tokens[new_phone] = int(answer["id"])
                else:
                    log.failed += 1
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            log.failed += 1
            await asyncio.sleep(0.2)  # the web process is down: try again shortly
    await connection.close()


async def _ussd_complainer(target: Target, log: WriteLog, phones: PhonePool, onboarded: set[int],
                           stop: dict[str, float]) -> None:
    """USSD complaints, each from the next phone of the pool (a phone opens few sessions: bot/abuse.py)."""
    connection = Connection(target.web_url)
    while time.perf_counter() < stop["at"]:
        async with phones.borrow() as index:
            ussd = Ussd(target, connection, ussd_phone(index))
            log.attempted += 1
            try:
                if index not in onboarded:
                    await ussd.onboard()
                    onboarded.add(index)
                session_id = "k" + secrets.token_hex(8)
                typed: list[str] = []
                body = ""
                for key in ("", "3", "1"):
                    if key:
                        typed.append(key)
                    _status, body = await ussd.hop(session_id, typed)
                if body.startswith("END ") and (reference := reference_in(body)):
                    log.ussd_references.append(reference)
                else:
                    log.failed += 1
            except (TimeoutError, OSError, asyncio.IncompleteReadError, RuntimeError):
                log.failed += 1
                await asyncio.sleep(0.2)
    await connection.close()


@dataclass
class KillReport:
    acknowledged_grievances: int
    acknowledged_changes: int
    acknowledged_ussd: int
    stored_acknowledged_once: int
    missing: list[str]
    duplicated: list[str]
    attempted: int
    failed_or_unanswered: int
    outbox: dict[str, int]
    delivered: int
    duplicate_deliveries: int
    kills: list[str]

    @property
    def acknowledged(self) -> int:
        return self.acknowledged_grievances + self.acknowledged_changes + self.acknowledged_ussd

    def lines(self) -> list[str]:
        return [
            f"kills: {', '.join(self.kills)}",
            f"writes attempted {self.attempted:,}; acknowledged {self.acknowledged:,} (API grievances "
            f"{self.acknowledged_grievances:,}, change requests {self.acknowledged_changes:,}, "
            f"USSD complaints {self.acknowledged_ussd:,}); "
            f"failed or unanswered {self.failed_or_unanswered:,}",
            f"acknowledged and stored exactly once: {self.stored_acknowledged_once:,}; missing "
            f"{len(self.missing)}; duplicated {len(self.duplicated)}",
            f"outbox {self.outbox}; stand-in received {self.delivered:,}; duplicate deliveries "
            f"{self.duplicate_deliveries}",
        ]


def _stored(database_url: str) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """(grievance tokens, change-request tokens, grievance references) → how many rows hold each."""
    from chumnuoy.db import make_engine
    from portal.models.cases import ChangeRequest, Grievance

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            grievances = connection.execute(select(Grievance.reference, Grievance.description)).all()
            changes = connection.execute(select(ChangeRequest.id, ChangeRequest.new_value)).all()
    finally:
        engine.dispose()
    tokens = Counter(d.removeprefix("fault ") for _r, d in grievances if d and d.startswith("fault "))
    references = Counter(r for r, _d in grievances)
    change_tokens = Counter(str(v).strip('"') for _i, v in changes)
    return tokens, change_tokens, references


def _restart(stack: Stack, name: str) -> None:
    stack.start(name, wait=True)


async def _kill_and_restart(stack: Stack, kills: list[str], at: float, name: str, began: float,
                            lock: asyncio.Lock) -> None:
    """At `at` seconds (or once an earlier restart of the same process is complete), kill -9 and restart."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, began + at - time.perf_counter()))
    async with lock:
        await loop.run_in_executor(None, stack.kill, name)
        kills.append(f"kill -9 {name} at {time.perf_counter() - began:.1f} s")
        await asyncio.sleep(0.5)
        await loop.run_in_executor(None, _restart, stack, name)


def kill_under_load(stack: Stack, twilio: TwilioStandIn, *, seconds: float = 12.0, writers: int = 8,
                    ussd_users: int = 4, plan: list[tuple[float, str]] | None = None,
                    drain_timeout: float = 60.0) -> KillReport:
    """`plan`: (seconds after the start, process name) to kill -9 and start again; default: web at 25%
    of the run, every worker process from half-way. The load goes on until every killed process is back
    and `seconds` have passed."""
    target = target_of(stack)
    log = WriteLog()
    kills: list[str] = []
    if plan is None:
        plan = [(seconds * 0.25, "web")]
        plan += [(seconds * (0.5 + 0.15 * i), name) for i, name in enumerate(stack.worker_names)]

    complainers = PhonePool(range(1000, 1000 + 40 * ussd_users))
    onboarded: set[int] = set()

    async def main() -> None:
        began = time.perf_counter()
        locks = {name: asyncio.Lock() for _at, name in plan}
        restarts = asyncio.gather(*(_kill_and_restart(stack, kills, at, name, began, locks[name])
                                    for at, name in plan))
        stop = {"at": began + seconds + 3600}

        async def until_restarted() -> None:
            await restarts
            stop["at"] = max(began + seconds, time.perf_counter() + 2.0)

        await asyncio.gather(
            until_restarted(),
            *(_writer(target, log, index, stop) for index in range(writers)),
            *(_ussd_complainer(target, log, complainers, onboarded, stop) for _ in range(ussd_users)),
        )

    asyncio.run(main())
    deadline = time.monotonic() + drain_timeout
    counts = outbox_counts(stack.spec.database_url)
    while time.monotonic() < deadline and (counts["pending"] or counts["sending"]):
        time.sleep(0.5)
        counts = outbox_counts(stack.spec.database_url)
    time.sleep(0.5)
    tokens, change_tokens, references = _stored(stack.spec.database_url)
    missing: list[str] = []
    once = 0
    for token, reference in log.grievance_tokens.items():
        if tokens[token] == 1 and references[reference] == 1:
            once += 1
        elif tokens[token] == 0:
            missing.append(f"grievance {reference}")
    for token, request_id in log.change_tokens.items():
        if change_tokens[token] == 1:
            once += 1
        elif change_tokens[token] == 0:
            missing.append(f"change request {request_id}")
    for reference in log.ussd_references:
        if references[reference] == 1:
            once += 1
        else:
            missing.append(f"USSD grievance {reference}")
    duplicated = [t for t, n in tokens.items() if n > 1] + [t for t, n in change_tokens.items() if n > 1]
    duplicated += [r for r, n in references.items() if n > 1]
    return KillReport(
        acknowledged_grievances=len(log.grievance_tokens), acknowledged_changes=len(log.change_tokens),
        acknowledged_ussd=len(log.ussd_references), stored_acknowledged_once=once, missing=missing,
        duplicated=duplicated, attempted=log.attempted, failed_or_unanswered=log.failed,
        outbox=dict(counts), delivered=len(twilio.messages()), duplicate_deliveries=twilio.duplicates(),
        kills=kills)


# ----------------------------------------------------------------------------------- registry outage

@dataclass
class OutageReport:
    before: str
    busy_answers: list[str]
    busy_latencies_ms: list[float]
    api_status_during: int
    grievance_references_during: list[str]
    after: str
    recovered_after_s: float
    background: Tally
    """The menu load (USSD browsing, no registry) that ran through the whole outage."""

    def lines(self) -> list[str]:
        lat = self.busy_latencies_ms
        return [
            f"background USSD menu load during the whole scenario: {self.background.requests:,} requests, "
            f"{self.background.errors} errors",
            f"registry down: {len(self.busy_answers)} personal requests, all answered "
            f"{'the Khmer busy message' if all(BUSY_KM in b for b in self.busy_answers) else 'OTHERWISE'}; "
            f"first {lat[0]:.0f} ms, last five p50 {percentile(lat[-5:], .5):.0f} ms (circuit open)",
            f"API eligibility by person during the outage: HTTP {self.api_status_during}; "
            f"grievances accepted during the outage: {len(self.grievance_references_during)}",
            f"registry back: personal features answered again after {self.recovered_after_s:.1f} s",
        ]


def _ussd_session(target: Target, index: int, keys: list[str], *, onboard: bool) -> tuple[str, float]:
    """One USSD session of phone `index` (after language and consent when `onboard`): the last screen
    and the session's duration (onboarding excluded)."""

    async def go() -> tuple[str, float]:
        ussd = Ussd(target, Connection(target.web_url), ussd_phone(index))
        try:
            if onboard:
                await ussd.onboard()
            started = time.perf_counter()
            session_id = "r" + secrets.token_hex(8)
            typed: list[str] = []
            body = ""
            for key in ["", *keys]:
                if key:
                    typed.append(key)
                _status, body = await ussd.hop(session_id, typed)
            return body, (time.perf_counter() - started) * 1000
        finally:
            await ussd.connection.close()

    return asyncio.run(go())


def _personal(target: Target, index: int) -> tuple[str, float]:
    """A phone not yet identified asks for its benefits: the first registry call (SPEC §5, lazy)."""
    return _ussd_session(target, index, ["2"], onboard=True)


class BackgroundLoad:
    """USSD menu sessions (no registry calls) by `users` concurrent users, each session from the next of
    `phones` phones with a short pause between sessions, in a thread until stopped."""

    PHONES = range(2000, 2060)

    def __init__(self, target: Target, users: int = 4, pause: float = 0.2) -> None:
        self.target, self.users, self.pause = target, users, pause
        self.tally = Tally()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        await onboard("ussd", self.target, self.PHONES)
        browse = journey("ussd", self.target, self.tally, write_every=10**9, phones=PhonePool(self.PHONES))

        async def paced(index: int, connection: Connection, round_number: int) -> None:
            await browse(index, connection, round_number)
            await asyncio.sleep(self.pause)

        while not self.stopping.is_set():
            await drive(self.target, paced, self.users, 0.5, 10**9, self.tally)

    def __enter__(self) -> BackgroundLoad:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=30)


def registry_outage(stack: Stack, *, requests: int = 12, recover_timeout: float = 60.0) -> OutageReport:
    with BackgroundLoad(target_of(stack)) as background:
        time.sleep(1.0)
        report = _registry_outage(stack, requests, recover_timeout)
    report.background = background.tally
    return report


def _registry_outage(stack: Stack, requests: int, recover_timeout: float) -> OutageReport:
    target = target_of(stack)
    phones = iter(range(600, 10_000))
    before, _ms = _personal(target, next(phones))
    stack.kill("registry")
    busy: list[str] = []
    latencies: list[float] = []
    for _ in range(requests):
        screen, elapsed_ms = _personal(target, next(phones))
        busy.append(screen)
        latencies.append(elapsed_ms)

    async def during() -> tuple[int, list[str]]:
        api = Api(target, Connection(target.web_url))
        status, _answer = await api.call("POST", "/eligibility", {"person": {"uin": "100000101"}})
        references: list[str] = []
        for index in range(3):
            code, answer = await api.call("POST", "/grievances", {
                "category": "non_payment", "description": "registry outage",
                "reply": {"channel": "sms", "address": api_phone(900 + index)}})
            if code == 201 and isinstance(answer, dict):
                references.append(str(answer["reference"]))
        await api.connection.close()
        return status, references

    api_status, references = asyncio.run(during())
    complaint, _ms = _ussd_session(target, 590, ["3", "1"], onboard=True)
    references.append(reference_in(complaint) or "")
    stack.start("registry")
    back = time.monotonic()
    after = ""
    while time.monotonic() - back < recover_timeout:
        after, _ms = _personal(target, next(phones))
        if BUSY_KM not in after:
            break
        time.sleep(0.5)
    return OutageReport(before=before, busy_answers=busy, busy_latencies_ms=latencies,
                        api_status_during=api_status,
                        grievance_references_during=[r for r in references if r], after=after,
                        recovered_after_s=time.monotonic() - back, background=Tally())


# ----------------------------------------------------------------------------------- database restart

@dataclass
class RestartReport:
    pids_before: dict[str, int]
    pids_after: dict[str, int]
    ok_before: bool
    errors_during: int
    failed_after_recovery: int
    recovered_after_s: float
    grievance_after: str
    outbox_after: dict[str, int]

    def lines(self) -> list[str]:
        return [
            f"PostgreSQL restarted: answers again after {self.recovered_after_s:.1f} s; "
            f"failed requests while it was down {self.errors_during}; "
            f"same processes: {self.pids_before == self.pids_after}",
            f"grievance lodged after the restart: {self.grievance_after or 'NONE'}; of 12 more, failed "
            f"{self.failed_after_recovery}; outbox {self.outbox_after}",
        ]


def database_restart(stack: Stack, restart: callable, *, recover_timeout: float = 60.0) -> RestartReport:  # type: ignore[valid-type]
    """`restart()` restarts the database server (blocking)."""
    target = target_of(stack)
    pids = {name: process.pid for name, process in stack.processes.items()}

    async def lodge(tag: str) -> str:
        api = Api(target, Connection(target.web_url))
        try:
            status, answer = await api.call("POST", "/grievances", {
                "category": "non_payment", "description": tag,
                "reply": {"channel": "sms", "address": P1_PHONE}})
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            return ""
        finally:
            await api.connection.close()
        return str(answer["reference"]) if status == 201 and isinstance(answer, dict) else ""

    ok_before = bool(asyncio.run(lodge("before restart")))
    restart()
    began = time.monotonic()
    errors = 0
    reference = ""
    while time.monotonic() - began < recover_timeout:
        reference = asyncio.run(lodge("after restart"))
        if reference:
            break
        errors += 1
        time.sleep(0.2)
    recovered = time.monotonic() - began
    # every pooled connection of every web worker died with the server: many requests, none may fail
    async def many() -> list[str]:  # concurrent, so several pooled connections of each worker are used
        return list(await asyncio.gather(*(lodge(f"after restart {index}") for index in range(12))))

    failed_after = sum(1 for reference in asyncio.run(many()) if not reference)
    deadline = time.monotonic() + 30
    counts = outbox_counts(stack.spec.database_url)
    while time.monotonic() < deadline and (counts["pending"] or counts["sending"]):
        time.sleep(0.5)
        counts = outbox_counts(stack.spec.database_url)
    alive = {name: process.pid for name, process in stack.processes.items() if process.poll() is None}
    return RestartReport(pids_before=pids, pids_after=alive, ok_before=ok_before, errors_during=errors,
                         failed_after_recovery=failed_after, recovered_after_s=recovered,
                         grievance_after=reference, outbox_after=dict(counts))
