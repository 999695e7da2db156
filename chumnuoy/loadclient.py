"""The load generator's pieces: a small keep-alive HTTP/1.1 client that talks only to 127.0.0.1, and
the citizen and API journeys shared by `chumnuoy bench load` and the fault tests:
- ussd: sessions of 8 hops through the menus (every 4th also lodges a complaint: 11 hops);
- sms: conversations through the signed Twilio webhook (even users) or the keyed gateway (odd users):
  menu, More, menu (every 4th: Complaint, a category, a description → the acknowledgement);
- api: /api/v1 with a bearer token, the portal's own work (eligibility by questionnaire, a grievance's
  status; every 4th round lodges a grievance);
- registry: /api/v1 calls answered from the registry (eligibility and entitlements of a person: DCI
  searches through the sandbox, signed and verified both ways).

One asyncio process drives every simulated user; each user holds one connection and sends its next
request as soon as the previous answer arrived (a closed loop, no think time), so "users" is the
number of requests in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from twilio.request_validator import RequestValidator

LOOPBACK_HOSTS = frozenset({"127.0.0.1"})
KHMER_DIGITS = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")
REFERENCE = re.compile(r"(?<!\d)(\d{8})(?!\d)")


class NotLoopback(ValueError):
    """The load generator refuses any target but 127.0.0.1."""


def loopback_port(url: str) -> int:
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS or not parts.port:
        raise NotLoopback(f"load is only ever aimed at http://127.0.0.1:PORT, not {url!r}")
    return parts.port


def reference_in(text: str) -> str | None:
    match = REFERENCE.search(text.translate(KHMER_DIGITS))
    return match.group(1) if match else None


class Connection:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1 (reconnects when the server closed it)."""

    def __init__(self, base_url: str) -> None:
        self.port = loopback_port(base_url)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, *, body: bytes = b"", content_type: str = "",
                      headers: dict[str, str] | None = None, timeout: float = 30.0) -> tuple[int, str]:
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", f"Content-Length: {len(body)}"]
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        closed = self.writer is None or self.writer.is_closing()
        if self.reader is not None and (self.reader.at_eof() or closed):
            await self.close()  # the server closed the idle connection: open a new one before sending
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            self.writer.write(raw)
            await self.writer.drain()
            return await asyncio.wait_for(self._response(), timeout)
        except BaseException:
            # never re-sent: a write may have been committed before the connection broke, and the
            # fault tests count exactly what the clients were told
            await self.close()
            raise

    async def _response(self) -> tuple[int, str]:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        pairs = (line.partition(":") for line in lines[1:] if line)
        headers = {name.strip().lower(): value.strip() for name, _, value in pairs}
        payload = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, payload.decode("utf-8", "replace")

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


# ---------------------------------------------------------------------------------------- tallies

@dataclass
class Tally:
    requests: int = 0
    errors: int = 0
    first_error: str = ""
    latencies_ms: list[float] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    """Grievance references / change-request ids the clients saw in a reply."""

    def record(self, started: float, ok: bool, what: str = "") -> None:
        self.requests += 1
        self.latencies_ms.append((time.perf_counter() - started) * 1000)
        if not ok:
            self.errors += 1
            self.first_error = self.first_error or what[:160]


def percentile(samples: list[float], fraction: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass(frozen=True)
class Target:
    """Where and with which secrets the journeys talk (the stack's web process)."""

    web_url: str
    ussd_key: str
    sms_key: str
    twilio_token: str
    api_token: str


# ---------------------------------------------------------------------------------------- journeys

def ussd_phone(index: int) -> str:
    return f"+85512{7_000_000 + index:07d}"


def sms_phone(index: int) -> str:
    return f"+85512{8_000_000 + index:07d}"


def api_phone(index: int) -> str:
    return f"+85512{9_000_000 + index:07d}"


class Ussd:
    """A USSD gateway (Africa's Talking form fields) for one phone."""

    def __init__(self, target: Target, connection: Connection, phone: str) -> None:
        self.path = f"/channels/ussd?key={target.ussd_key}"
        self.connection, self.phone = connection, phone

    async def hop(self, session_id: str, typed: list[str]) -> tuple[int, str]:
        form = {"sessionId": session_id, "serviceCode": "*1234#", "phoneNumber": self.phone,
                "networkCode": "45606", "text": "*".join(typed)}
        return await self.connection.request("POST", self.path, body=urlencode(form).encode(),
                                             content_type="application/x-www-form-urlencoded")

    async def onboard(self) -> None:
        """Khmer and consent, once per phone: later sessions open on the main menu."""
        session_id = "o" + secrets.token_hex(8)
        for typed in ([], ["1"], ["1", "1"]):
            status, body = await self.hop(session_id, typed)
            if status != 200:
                raise RuntimeError(f"USSD onboarding failed: {status} {body[:160]}")


USSD_BROWSE = ("4", "0", "1", "0", "3", "98", "0")
"""Menu hops of a USSD session (More, back, Eligibility, back, Complaint, next page, back)."""


async def ussd_session(ussd: Ussd, tally: Tally, *, complain: bool) -> None:
    """One USSD session: dial, browse the menus; with `complain`, lodge a complaint at the end."""
    session_id = "s" + secrets.token_hex(8)
    typed: list[str] = []
    keys = ["", *USSD_BROWSE, *(("0", "3", "1") if complain else ())]
    for key in keys:
        if key:
            typed.append(key)
        started = time.perf_counter()
        try:
            status, body = await ussd.hop(session_id, typed)
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as error:
            tally.record(started, False, f"ussd: {type(error).__name__}")
            return
        last = key == keys[-1] and complain and len(typed) == len(keys) - 1
        ok = status == 200 and body.startswith("END " if last else "CON ")
        tally.record(started, ok, f"ussd {status} {body[:100]!r} after {typed}")
        if last and ok and (reference := reference_in(body)):
            tally.acknowledged.append(reference)
        if not ok:
            return


class Sms:
    """A phone texting through the Twilio webhook (signed) or the generic gateway (keyed)."""

    def __init__(self, target: Target, connection: Connection, phone: str, *, twilio: bool) -> None:
        self.target, self.connection, self.phone, self.twilio = target, connection, phone, twilio
        self.validator = RequestValidator(target.twilio_token)

    async def send(self, text: str) -> tuple[int, str]:
        message_id = "SM" + secrets.token_hex(16)
        if self.twilio:
            path = "/channels/sms/twilio"
            form = {"MessageSid": message_id, "From": self.phone, "To": "+85500000000", "Body": text}
            signature = self.validator.compute_signature(self.target.web_url + path, form)
            status, body = await self.connection.request(
                "POST", path, body=urlencode(form).encode(), content_type="application/x-www-form-urlencoded",
                headers={"X-Twilio-Signature": signature})
            match = re.search(r"<Message>(.*?)</Message>", body, re.S)
            return status, (match.group(1) if match else "")
        payload = json.dumps({"from": self.phone, "to": "1234", "text": text, "id": message_id}).encode()
        path = f"/channels/sms/gateway?key={self.target.sms_key}"
        status, body = await self.connection.request("POST", path, body=payload,
                                                     content_type="application/json")
        try:
            return status, str(json.loads(body).get("text", "")) if status == 200 else body
        except ValueError:
            return status, body

    async def onboard(self) -> None:
        for text in ("សួស្តី", "1", "1"):
            status, body = await self.send(text)
            if status != 200:
                raise RuntimeError(f"SMS onboarding failed: {status} {body[:160]}")


SMS_CONVERSATION = (("ម៉ឺនុយ", "៣ "), ("4", "ស្ថានភាពបណ្តឹង"), ("ម៉ឺនុយ", "៣ "), ("3", "មានបញ្ហាអ្វី"), ("1", "សរសេរ"))
"""(message, a piece of the expected reply): menu, More, menu, Complaint, a category; then a description."""


async def sms_conversation(sms: Sms, tally: Tally, *, complain: bool) -> None:
    steps = list(SMS_CONVERSATION if complain else SMS_CONVERSATION[:3])
    if complain:
        steps.append((f"ខ្ញុំមិនទាន់បានលុយខែនេះទេ {secrets.token_hex(4)}", "បានទទួលបណ្តឹង"))
    for text, expect in steps:
        started = time.perf_counter()
        try:
            status, reply = await sms.send(text)
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as error:
            tally.record(started, False, f"sms: {type(error).__name__}")
            return
        ok = status == 200 and expect in reply
        tally.record(started, ok, f"sms {status} {reply[:100]!r} after {text!r}")
        if not ok:
            return
        if expect == "បានទទួលបណ្តឹង" and (reference := reference_in(reply)):
            tally.acknowledged.append(reference)


class Api:
    """An API client with a bearer token."""

    def __init__(self, target: Target, connection: Connection) -> None:
        self.connection = connection
        self.headers = {"Authorization": f"Bearer {target.api_token}"}

    async def call(self, method: str, path: str, body: object | None = None) -> tuple[int, object]:
        data = json.dumps(body).encode() if body is not None else b""
        status, text = await self.connection.request(method, "/api/v1" + path, body=data,
                                                     content_type="application/json" if data else "",
                                                     headers=self.headers)
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text


QUESTIONNAIRE = {"answers": {"equity_card": "valid", "idpoor_level": 1, "pregnant_or_child_under_2": True,
                             "age_60_plus": False, "sex": "female"}}
PERSONA_UIN = "100000101"  # P1 of SPEC §8, always seeded


def new_grievance(phone: str, token: str) -> dict[str, object]:
    return {"category": "non_payment", "description": f"load {token}",
            "reply": {"channel": "sms", "address": phone}}


async def _api_call(api: Api, tally: Tally, method: str, path: str, body: object | None,
                    expect: int) -> object | None:
    """One timed call; the answer when it had the expected status, else None (an error)."""
    started = time.perf_counter()
    try:
        status, answer = await api.call(method, path, body)
    except (TimeoutError, OSError, asyncio.IncompleteReadError) as error:
        tally.record(started, False, f"api: {type(error).__name__}")
        return None
    ok = status == expect
    tally.record(started, ok, f"api {method} {path} {status} {str(answer)[:100]}")
    return answer if ok else None


async def api_round(api: Api, tally: Tally, phone: str, references: list[str], *, write: bool) -> None:
    """The portal's own API work: eligibility by questionnaire, a grievance's status; with `write` (or
    before this user has one) lodge a grievance first."""
    if await _api_call(api, tally, "POST", "/eligibility", QUESTIONNAIRE, 200) is None:
        return
    if write or not references:
        created = await _api_call(api, tally, "POST", "/grievances",
                                  new_grievance(phone, secrets.token_hex(6)), 201)
        if not isinstance(created, dict) or not created.get("reference"):
            return
        references.append(str(created["reference"]))
        tally.acknowledged.append(references[-1])
    await _api_call(api, tally, "GET", f"/grievances/{references[-1]}", None, 200)


async def registry_round(api: Api, tally: Tally) -> None:
    """API calls answered from the registry (DCI search through the sandbox, signed both ways):
    eligibility and entitlements of a person."""
    for path in ("/eligibility", "/entitlements"):
        if await _api_call(api, tally, "POST", path, {"person": {"uin": PERSONA_UIN}}, 200) is None:
            return


# ---------------------------------------------------------------------------------------- driving

Journey = Callable[[int, Connection, int], Awaitable[None]]
"""(user index, its connection, round number) → one journey."""


class PhonePool:
    """Onboarded phones lent to one user at a time, in turn. Citizens' phones each open only a few
    sessions: bot/abuse.py answers "too many messages" past 20 USSD sessions or 30 SMS per phone in 10
    minutes, so the load rotates over a pool (size it to stay under that) instead of hammering one
    phone per simulated user."""

    def __init__(self, indices: range) -> None:
        self.free: deque[int] = deque(indices)
        self.lent = Counter[int]()

    @asynccontextmanager
    async def borrow(self) -> AsyncIterator[int]:
        while not self.free:
            await asyncio.sleep(0.001)
        index = self.free.popleft()
        self.lent[index] += 1
        try:
            yield index
        finally:
            self.free.append(index)


def journey(channel: str, target: Target, tally: Tally, *, write_every: int = 4,
            phones: PhonePool | None = None) -> Journey:
    """The journey of one channel; every `write_every`-th round of a user lodges a complaint. USSD and
    SMS users borrow a phone from `phones` for each session (else each user keeps phone `index`)."""

    @asynccontextmanager
    async def phone_of(index: int) -> AsyncIterator[int]:
        if phones is None:
            yield index
        else:
            async with phones.borrow() as borrowed:
                yield borrowed

    async def ussd(index: int, connection: Connection, round_number: int) -> None:
        async with phone_of(index) as phone:
            await ussd_session(Ussd(target, connection, ussd_phone(phone)), tally,
                               complain=round_number % write_every == write_every - 1)

    async def sms(index: int, connection: Connection, round_number: int) -> None:
        async with phone_of(index) as phone:
            await sms_conversation(Sms(target, connection, sms_phone(phone), twilio=phone % 2 == 0), tally,
                                   complain=round_number % write_every == write_every - 1)

    references: dict[int, list[str]] = {}

    async def api(index: int, connection: Connection, round_number: int) -> None:
        await api_round(Api(target, connection), tally, api_phone(index), references.setdefault(index, []),
                        write=round_number % write_every == write_every - 1)

    async def registry(_index: int, connection: Connection, _round_number: int) -> None:
        await registry_round(Api(target, connection), tally)

    return {"ussd": ussd, "sms": sms, "api": api, "registry": registry}[channel]


async def onboard(channel: str, target: Target, phones: int | range, parallel: int = 20) -> None:
    """Language and consent for the phones of a channel (the API needs none)."""
    if channel in ("api", "registry"):
        return
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in (range(phones) if isinstance(phones, int) else phones):
        queue.put_nowait(index)

    async def drain() -> None:
        connection = Connection(target.web_url)
        while not queue.empty():
            index = queue.get_nowait()
            if channel == "ussd":
                await Ussd(target, connection, ussd_phone(index)).onboard()
            else:
                await Sms(target, connection, sms_phone(index), twilio=index % 2 == 0).onboard()
        await connection.close()

    await asyncio.gather(*(drain() for _ in range(parallel)))


async def drive(target: Target, run: Journey, users: int, seconds: float, max_requests: int,
                tally: Tally) -> float:
    """`users` concurrent users repeat their journey until `seconds` passed or `max_requests` were made
    (bounded both ways); returns the elapsed time."""
    stop_at = time.perf_counter() + seconds

    async def user(index: int) -> None:
        connection = Connection(target.web_url)
        round_number = index  # users start at different points of the write cycle
        try:
            while time.perf_counter() < stop_at and tally.requests < max_requests:
                await run(index, connection, round_number)
                round_number += 1
        finally:
            await connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(user(index) for index in range(users)))
    return time.perf_counter() - began
