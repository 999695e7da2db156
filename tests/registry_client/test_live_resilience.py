"""Real failures between the client and the live sandbox: a closed port, a proxy that answers 503,
drops or hangs, tokens that expire or get revoked, and the circuit breaker around them."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from registry_client.resilience import CircuitOpen, ResilienceConfig
from registry_client.types import RegistryRejected, RegistryResponseInvalid, RegistryUnavailable
from tests.registry_client.loopback import Loopback, Reply, Seen, forward, hang, unavailable
from tests.registry_client.personas import BY_KEY

P1 = BY_KEY["P1"]
SEARCH = "/registry/sync/search"
TOKEN = "/oauth2/client/token"


class FaultyProxy:
    """Forwards to the sandbox; `fail` decides per request whether to inject a failure instead."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.fail = lambda seen: None  # returns a Reply / "drop" / None (forward)
        self.rewrite_token = None  # optional function(dict) -> dict for token answers
        self._lock = threading.Lock()
        self.server = Loopback(self._handle)
        self.url = self.server.url

    def _handle(self, seen: Seen) -> Reply | None:
        with self._lock:
            injected = self.fail(seen)
        if injected == "drop":
            return None
        if injected is not None:
            return injected
        reply = forward(self.target, seen)
        if seen.path == TOKEN and self.rewrite_token and reply.status == 200:
            reply.body = json.dumps(self.rewrite_token(json.loads(reply.body))).encode()
        return reply

    def count(self, path: str) -> int:
        return sum(1 for s in self.server.seen if s.path == path)


@pytest.fixture
def proxy(live_registry):
    p = FaultyProxy(live_registry.url)
    yield p
    p.server.close()


def _fail_first(path: str, times: int, reply):
    state = {"left": times}

    def fail(seen: Seen):
        if seen.path == path and state["left"] > 0:
            state["left"] -= 1
            return reply() if callable(reply) else reply
        return None

    return fail


def test_closed_port_is_unavailable_after_the_retries(live_registry, make_client) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client, sent = make_client(live_registry.settings, registry_url=f"http://127.0.0.1:{port}")
    started = time.perf_counter()
    with pytest.raises(RegistryUnavailable):
        client.find_people("UIN", P1.uin)
    assert time.perf_counter() - started < 2
    assert sent.paths() == [TOKEN] * 3  # three attempts, then give up
    assert client.ping() is False


def test_503_twice_then_success(proxy, live_registry, make_client) -> None:
    proxy.fail = _fail_first(SEARCH, 2, unavailable)
    client, sent = make_client(live_registry.settings, registry_url=proxy.url)
    people = client.find_people("UIN", P1.uin)
    assert [p.uin for p in people] == [P1.uin]
    assert proxy.count(SEARCH) == 3
    message_ids = {json.loads(r.content)["header"]["message_id"] for r in sent if r.url.path == SEARCH}
    assert len(message_ids) == 3  # each attempt is a new, freshly signed message
    assert client.circuit_state == "closed"


def test_dropped_connection_is_retried(proxy, live_registry, make_client) -> None:
    proxy.fail = _fail_first(SEARCH, 1, "drop")
    client, _ = make_client(live_registry.settings, registry_url=proxy.url)
    assert [p.uin for p in client.find_people("UIN", P1.uin)] == [P1.uin]
    assert proxy.count(SEARCH) == 2


def test_changes_are_not_retried(proxy, live_registry, make_client) -> None:
    client, _ = make_client(live_registry.settings, registry_url=proxy.url)
    person = client.find_people("UIN", P1.uin)[0]
    proxy.fail = lambda seen: unavailable() if seen.path == "/ext/registry/sync/changes" else None
    with pytest.raises(RegistryUnavailable):
        client.apply_change("phone", person, person.phones[0], person.phones[0], "officer:test")
    assert proxy.count("/ext/registry/sync/changes") == 1


def test_hanging_registry_times_out(proxy, live_registry, make_client) -> None:
    proxy.fail = lambda seen: hang(3) if seen.path == SEARCH else None
    client, _ = make_client(live_registry.settings, registry_url=proxy.url, registry_timeout=0.3,
                            resilience=ResilienceConfig(attempts=1))
    started = time.perf_counter()
    with pytest.raises(RegistryUnavailable, match="timeout"):
        client.find_people("UIN", P1.uin)
    assert time.perf_counter() - started < 1.5


def test_circuit_opens_fails_fast_half_opens_and_closes(proxy, live_registry, make_client) -> None:
    config = ResilienceConfig(attempts=1, breaker_failures=3, breaker_cooldown=0.4)
    client, _ = make_client(live_registry.settings, registry_url=proxy.url, resilience=config)
    assert client.find_people("UIN", P1.uin)  # healthy, token cached
    proxy.fail = lambda seen: unavailable()
    for _ in range(3):
        with pytest.raises(RegistryUnavailable):
            client.find_people("UIN", P1.uin)
    assert client.circuit_state == "open"
    reached = len(proxy.server.seen)
    started = time.perf_counter()
    with pytest.raises(CircuitOpen):
        client.find_people("UIN", P1.uin)
    assert time.perf_counter() - started < 0.2
    assert len(proxy.server.seen) == reached  # failed fast: nothing sent
    assert client.ping() is False
    proxy.fail = lambda seen: None  # the registry is back
    time.sleep(0.45)
    assert client.circuit_state == "half-open"
    assert [p.uin for p in client.find_people("UIN", P1.uin)] == [P1.uin]
    assert client.circuit_state == "closed"


def test_half_open_trial_failure_reopens(proxy, live_registry, make_client) -> None:
    config = ResilienceConfig(attempts=1, breaker_failures=2, breaker_cooldown=0.3)
    client, _ = make_client(live_registry.settings, registry_url=proxy.url, resilience=config)
    proxy.fail = lambda seen: unavailable()
    for _ in range(2):
        with pytest.raises(RegistryUnavailable):
            client.find_people("UIN", P1.uin)
    time.sleep(0.35)
    assert client.circuit_state == "half-open"
    with pytest.raises(RegistryUnavailable):
        client.find_people("UIN", P1.uin)
    assert client.circuit_state == "open"


def test_token_is_cached_across_calls(live_registry, make_client) -> None:
    client, sent = make_client(live_registry.settings)
    person = client.find_people("UIN", P1.uin)[0]
    client.household_of(person)
    client.payments(person)
    client.enrolments(person)
    assert sent.paths().count(TOKEN) == 1
    assert client.transport.tokens.fetch_count == 1
    bearer = {r.headers["authorization"] for r in sent if r.url.path != TOKEN and r.method == "POST"}
    assert len(bearer) == 1 and next(iter(bearer)).startswith("Bearer ")


def test_token_refreshed_before_it_expires(proxy, live_registry, make_client) -> None:
    proxy.rewrite_token = lambda answer: {**answer, "expires_in": 4}
    client, sent = make_client(live_registry.settings, registry_url=proxy.url)
    client.find_people("UIN", P1.uin)
    client.find_people("UIN", P1.uin)
    assert sent.paths().count(TOKEN) == 1
    time.sleep(2.05)  # refresh margin: half of a 4 s lifetime
    client.find_people("UIN", P1.uin)
    assert sent.paths().count(TOKEN) == 2


def test_revoked_token_gets_one_refresh(proxy, live_registry, make_client) -> None:
    revoked = Reply(401, b'{"errors":[{"code":"err.request.unauthorized","message":"expired bearer token"}]}')
    proxy.fail = _fail_first(SEARCH, 1, revoked)
    client, sent = make_client(live_registry.settings, registry_url=proxy.url)
    assert [p.uin for p in client.find_people("UIN", P1.uin)] == [P1.uin]
    assert [r.url.path for r in sent if r.method == "POST"] == [TOKEN, SEARCH, TOKEN, SEARCH]


def test_persistent_401_is_rejected_not_looped(proxy, live_registry, make_client) -> None:
    proxy.fail = lambda seen: Reply(401, b'{"errors":[{"code":"err.request.unauthorized","message":"no"}]}') \
        if seen.path == SEARCH else None
    client, sent = make_client(live_registry.settings, registry_url=proxy.url)
    with pytest.raises(RegistryRejected) as caught:
        client.find_people("UIN", P1.uin)
    assert caught.value.code == "err.request.unauthorized" and caught.value.http_status == 401
    assert sent.paths().count(SEARCH) == 2
    assert client.circuit_state == "closed"  # the registry answered: not a transient failure


def test_wrong_credentials_are_rejected(live_registry, make_client) -> None:
    client, sent = make_client(live_registry.settings, registry_client_secret="not-the-secret")
    with pytest.raises(RegistryRejected) as caught:
        client.find_people("UIN", P1.uin)
    assert caught.value.code.startswith("err.request.unauthorized") or caught.value.http_status in (400, 401)
    assert sent.paths() == [TOKEN]


def test_one_client_shared_by_threads(live_registry, make_client) -> None:
    client, sent = make_client(live_registry.settings)
    uins = [p.uin for p in (BY_KEY[k] for k in ("P1", "P2", "P3", "P4", "P5", "P7"))]
    results: dict[str, list[str]] = {}

    def look_up(uin: str) -> None:
        results[uin] = [p.uin for p in client.find_people("UIN", uin)]

    threads = [threading.Thread(target=look_up, args=(uin,)) for uin in uins * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == {uin: [uin] for uin in uins}
    assert sent.paths().count(TOKEN) == 1  # no token stampede


def test_gateway_html_answers_are_typed_errors(proxy, live_registry, make_client) -> None:
    client, _ = make_client(live_registry.settings, registry_url=proxy.url)
    html = {"Content-Type": "text/html"}
    proxy.fail = lambda seen: Reply(404, b"<html>Not Found</html>", html) if seen.path == SEARCH else None
    with pytest.raises(RegistryRejected) as caught:
        client.find_people("UIN", P1.uin)
    assert caught.value.code == "http.404"
    proxy.fail = lambda seen: Reply(200, b"<html>portal</html>", html) if seen.path == SEARCH else None
    with pytest.raises(RegistryResponseInvalid) as invalid:
        client.find_people("UIN", P1.uin)
    assert invalid.value.code == "err.response.malformed"
    assert client.circuit_state == "closed"
