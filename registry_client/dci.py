"""Low-level DCI transport: envelopes, signatures, bearer token, retries, circuit breaker, parsing.

Every request is `{signature, header, message}`, signed with REGISTRY_SIGNING_KEY. Answers are
checked against the registry's JWKS (`/.well-known/jwks.json`, cached; fetched again once for an
unknown key id):
- `REGISTRY_SIGNATURES=required`: an envelope answer must carry a verifying signature;
- `dev`: a signature that is present (not empty, not `unsigned-stub`) must verify; absent passes.
Acks (`{"message": {"ack_status": …}}`) and HTTP errors have no header in the DCI spec and so carry
no signature; they are accepted unsigned in both modes.

Only idempotent calls are retried (searches, status, enrolments, payments, JWKS, token). A change
is sent once: a retry after a lost answer could apply it twice.

Logs carry paths, HTTP status, durations, message and correlation ids, never bodies.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import httpx

from chumnuoy.logs import mask
from chumnuoy.settings import Settings
from registry_client import signatures
from registry_client.auth import TokenCache
from registry_client.endpoints import Endpoints
from registry_client.resilience import CircuitBreaker, CircuitState, ResilienceConfig, backoff_delay
from registry_client.types import (
    RegistryError,
    RegistryRejected,
    RegistryResponseInvalid,
    RegistryUnavailable,
)

log = logging.getLogger("registry_client")

CAMBODIA = timezone(timedelta(hours=7))
DCI_VERSION = "1.0.0"
REG_TYPE_SOCIAL = "ns:org:RegistryType:Social"
LOCALE = "khm"

SR_SYNC_SEARCH = "/registry/sync/search"
SR_SEARCH = "/registry/search"
SR_SUBSCRIBE = "/registry/subscribe"
SR_UNSUBSCRIBE = "/registry/unsubscribe"
SR_TXN_STATUS = "/registry/txn/status"
SR_SYNC_TXN_STATUS = "/registry/sync/txn/status"
IBR_SYNC_ENROLLED = "/ibr/registry/sync/enrolled"
EXT_ENROLMENTS = "/ext/registry/sync/enrolments"
EXT_PAYMENTS = "/ext/registry/sync/payments"
EXT_CHANGES = "/ext/registry/sync/changes"
TOKEN_PATH = "/oauth2/client/token"  # noqa: S105 (a path, not a secret)
JWKS_PATH = "/.well-known/jwks.json"

TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
JWKS_REFETCH_INTERVAL = 30.0
"""At most one JWKS fetch per this many seconds for unknown key ids (a forged kid can't make us
hammer the registry)."""

QueryType = Literal["idtype-value", "expression", "predicate"]
Entity = Literal["Group", "Member"]


def now_ts() -> str:
    """ISO 8601 with the Cambodian offset, e.g. 2026-11-25T21:00:00+07:00."""
    return datetime.now(CAMBODIA).isoformat(timespec="seconds")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


# --- typed requests and results ---------------------------------------------------------------

def _no_bare_int(value: object) -> object:
    # The spec's value schema is oneOf[string, integer, number, boolean, object]: an integer matches
    # both integer and number, so no integer can be valid. Send integers as strings, as the spec's
    # own examples do ("1980"); registries compare them numerically anyway.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _spec_safe_values(query_type: str, query: object) -> object:
    if query_type == "idtype-value" and isinstance(query, dict) and "value" in query:
        return {**query, "value": _no_bare_int(query["value"])}
    if query_type == "predicate" and isinstance(query, list):
        safe = []
        for entry in query:
            entry = dict(entry)
            for key in ("expression1", "expression2"):
                part = entry.get(key)
                if isinstance(part, dict) and "attribute_value" in part:
                    entry[key] = {**part, "attribute_value": _no_bare_int(part["attribute_value"])}
            safe.append(entry)
        return safe
    return query


@dataclass(frozen=True)
class SearchCriteria:
    """One search item: what to ask, which record shape, which page."""

    query_type: QueryType
    query: object
    response_entity: Entity = "Group"
    page_size: int = 10
    page_number: int = 1
    sort: tuple[tuple[str, Literal["asc", "desc"]], ...] = ()
    locale: str = LOCALE
    consent_purpose: str | None = None
    """Consent purpose code sent with the search (e.g. "self-service"); None = no consent object."""

    @classmethod
    def by_identifier(cls, id_type: str, value: str, entity: Entity = "Group", page_size: int = 10,
                      page_number: int = 1) -> SearchCriteria:
        return cls("idtype-value", {"type": id_type, "value": value}, entity, page_size, page_number)

    def page(self, number: int) -> SearchCriteria:
        return SearchCriteria(self.query_type, self.query, self.response_entity, self.page_size, number,
                              self.sort, self.locale, self.consent_purpose)

    def to_item(self, reference_id: str, timestamp: str) -> dict[str, Any]:
        criteria: dict[str, Any] = {
            "version": DCI_VERSION,
            "reg_type": REG_TYPE_SOCIAL,
            "query_type": self.query_type,
            "response_entity": self.response_entity,
            "query": _spec_safe_values(self.query_type, self.query),
            "pagination": {"page_size": self.page_size, "page_number": self.page_number},
        }
        if self.sort:
            criteria["sort"] = [{"attribute_name": name, "sort_order": order} for name, order in self.sort]
        if self.consent_purpose:
            criteria["consent"] = {"@type": "Consent", "ts": timestamp,
                                   "purpose": {"code": self.consent_purpose}}
        return {"reference_id": reference_id, "timestamp": timestamp, "search_criteria": criteria,
                "locale": self.locale}


@dataclass(frozen=True)
class SearchItem:
    reference_id: str
    status: str
    """succ | rjct | pdng | rcvd."""
    reason_code: str | None
    reason_message: str | None
    record_type: str | None
    records: tuple[dict[str, Any], ...]
    page_size: int | None
    page_number: int | None
    total_count: int | None

    @property
    def has_more(self) -> bool:
        if not (self.page_size and self.page_number and self.total_count is not None):
            return False
        return self.page_size * self.page_number < self.total_count


@dataclass(frozen=True)
class SearchResult:
    transaction_id: str
    correlation_id: str | None
    status: str | None
    """Header status of the answer."""
    items: tuple[SearchItem, ...]


@dataclass(frozen=True)
class Ack:
    ack_status: Literal["ACK", "NACK"]
    correlation_id: str | None
    timestamp: str | None
    transaction_id: str
    """Ours, echoed for callers that match callbacks."""


@dataclass(frozen=True)
class TxnStatus:
    transaction_id: str
    correlation_id: str | None
    txn_type: str | None
    txn_status: dict[str, Any]
    search: SearchResult | None = None
    """The parsed search answer when `txn_type` is search."""


@dataclass(frozen=True)
class UnsubscribeResult:
    status: str | None
    reason_code: str | None
    codes: dict[str, str] = field(default_factory=dict)
    """subscription code → subscribe | unsubscribe."""


@dataclass(frozen=True)
class ExtItem:
    """One item of an `/ext` answer: the raw dict with its status fields pulled out."""

    reference_id: str
    status: str
    reason_code: str | None
    body: dict[str, Any]


class _Transient(Exception):
    """An attempt that failed in a way worth retrying (connection, timeout, 5xx, 429)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _error_of(body: object) -> tuple[str | None, str]:
    """(code, message) from an HTTP error `{"errors": [...]}` or an ack ERR body."""
    if isinstance(body, Mapping):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
            return errors[0].get("code"), str(errors[0].get("message") or "")
        message = body.get("message")
        if isinstance(message, Mapping) and isinstance(message.get("error"), Mapping):
            error = message["error"]
            return error.get("code"), str(error.get("message") or "")
        if "type" in body and "message" in body:  # X-Road's own error body
            return str(body["type"]), str(body.get("message") or "")
    return None, ""


# --- the transport ---------------------------------------------------------------------------

class DciTransport:
    """DCI over HTTP for one registry. Thread-safe; share one per process."""

    def __init__(
        self,
        settings: Settings,
        *,
        resilience: ResilienceConfig | None = None,
        xroad_service: str | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.config = resilience or ResilienceConfig.from_env()
        self.endpoints = Endpoints.from_settings(settings.registry_url, settings.xroad_client, xroad_service)
        self.require_signatures = settings.registry_signatures.strip().lower() == "required"
        self._signing_key = (signatures.private_key_from_b64(settings.registry_signing_key)
                             if settings.registry_signing_key else None)
        if self._signing_key is None and self.require_signatures:
            raise ValueError("REGISTRY_SIGNATURES=required needs REGISTRY_SIGNING_KEY")
        self._http = httpx.Client(timeout=httpx.Timeout(settings.registry_timeout),
                                  event_hooks=dict(event_hooks or {}))
        self.breaker = CircuitBreaker(self.config.breaker_failures, self.config.breaker_cooldown)
        self.tokens = TokenCache(settings.registry_client_id, settings.registry_client_secret,
                                 self._fetch_token)
        self._sleep = sleep
        self._jwks: dict[str, signatures.Ed25519PublicKey] = {}
        self._jwks_fetched_at = float("-inf")
        self._jwks_lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    @property
    def circuit_state(self) -> CircuitState:
        return self.breaker.state

    # envelope -------------------------------------------------------------------------------

    def build_header(self, action: str, total_count: int, sender_uri: str | None = None) -> dict[str, Any]:
        header: dict[str, Any] = {
            "version": DCI_VERSION,
            "message_id": str(uuid.uuid4()),
            "message_ts": now_ts(),
            "action": action,
            "sender_id": self.settings.registry_sender_id,
            "receiver_id": self.settings.registry_receiver_id,
            "total_count": int(total_count),
            "is_msg_encrypted": False,
        }
        if sender_uri:
            header["sender_uri"] = sender_uri
        return header

    def build_envelope(self, action: str, message: dict[str, Any], total_count: int,
                       sender_uri: str | None = None) -> dict[str, Any]:
        header = self.build_header(action, total_count, sender_uri)
        if self._signing_key is None:
            # Only reachable in dev mode without a key (make run always writes one).
            signature = signatures.DEV_STUB
        else:
            signature = signatures.sign(header, message, self._signing_key, self.settings.registry_sender_id)
        return {"signature": signature, "header": header, "message": message}

    # HTTP -----------------------------------------------------------------------------------

    def _exchange(self, method: str, path: str, message_id: str | None = None,
                  **kwargs: Any) -> httpx.Response:
        url = self.endpoints.url(path)
        headers = {**self.endpoints.headers(), **kwargs.pop("headers", {})}
        if self.endpoints.via_xroad:
            headers["X-Road-Id"] = message_id or str(uuid.uuid4())
        started = time.perf_counter()
        try:
            response = self._http.request(method, url, headers=headers, **kwargs)
        except httpx.TimeoutException as error:
            log.warning("registry %s %s timed out after %.0f ms (message %s)", method, path,
                        (time.perf_counter() - started) * 1000, message_id)
            raise _Transient("timeout") from error
        except httpx.TransportError as error:
            log.warning("registry %s %s unreachable: %s (message %s)", method, path,
                        type(error).__name__, message_id)
            raise _Transient("unreachable") from error
        log.info("registry %s %s -> %d in %.0f ms (message %s)", method, path, response.status_code,
                 (time.perf_counter() - started) * 1000, message_id)
        if response.status_code in TRANSIENT_STATUS:
            raise _Transient(f"http {response.status_code}")
        return response

    def _fetch_token(self, form: dict[str, str]) -> dict[str, Any]:
        response = self._exchange("POST", TOKEN_PATH, data=form)
        if response.status_code != 200:
            code, message = _error_of(self._json_or_none(response))
            if response.headers.get("X-Road-Error"):
                code = code or response.headers["X-Road-Error"]
            raise RegistryRejected(code or "err.request.unauthorized", mask(message), response.status_code)
        return self._json(response)

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as error:
            raise RegistryResponseInvalid("err.response.malformed",
                                          f"HTTP {response.status_code} answer is not JSON") from error

    def _authorised_post(self, path: str, build: Callable[[], dict[str, Any]]) -> httpx.Response:
        """POST with the bearer token; on a 401 that is not a signature error, one new token and retry."""
        for round_ in range(2):
            token = self.tokens.get()
            body = build()
            message_id = body.get("header", {}).get("message_id")
            response = self._exchange("POST", path, message_id, json=body,
                                      headers={"Authorization": f"Bearer {token}"})
            if response.status_code != 401 or round_ == 1:
                return response
            code, _ = _error_of(self._json_or_none(response))
            if code and code.startswith("err.signature"):
                return response
            log.info("registry %s: 401, fetching a new token", path)
            self.tokens.invalidate(token)
        raise AssertionError("unreachable")

    @staticmethod
    def _json_or_none(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return None

    def _attempt(self, run: Callable[[], httpx.Response]) -> httpx.Response:
        """One attempt through the circuit breaker."""
        self.breaker.before_call()
        try:
            response = run()
        except _Transient:
            self.breaker.record_failure()
            raise
        except RegistryError:
            self.breaker.record_success()  # it answered
            raise
        except BaseException:
            self.breaker.record_neutral()
            raise
        self.breaker.record_success()
        return response

    def _with_retries(self, path: str, run: Callable[[], httpx.Response], idempotent: bool) -> httpx.Response:
        attempts = self.config.attempts if idempotent else 1
        last: _Transient | None = None
        for attempt in range(attempts):
            if attempt:
                self._sleep(backoff_delay(attempt - 1, self.config.backoff_base, self.config.backoff_max))
            try:
                return self._attempt(run)
            except _Transient as error:
                last = error
                log.info("registry %s attempt %d/%d failed: %s", path, attempt + 1, attempts, error.reason)
        raise RegistryUnavailable(f"registry unavailable ({last.reason if last else 'unknown'})") from last

    def post(self, path: str, action: str, message: dict[str, Any], *, total_count: int = 1,
             idempotent: bool, sender_uri: str | None = None, raise_on_reject: bool = True
             ) -> dict[str, Any]:
        """Send one envelope and return the checked answer body (envelope or ack).

        Raises RegistryUnavailable (transient, after retries), RegistryRejected (HTTP 4xx, ack ERR, a
        rejected header unless `raise_on_reject` is False) or RegistryResponseInvalid (bad signature,
        not JSON).
        """
        response = self._with_retries(
            path,
            lambda: self._authorised_post(
                path, lambda: self.build_envelope(action, message, total_count, sender_uri)),
            idempotent,
        )
        if response.status_code != 200:
            code, text = _error_of(self._json_or_none(response))
            if response.headers.get("X-Road-Error"):
                code = code or response.headers["X-Road-Error"]
            raise RegistryRejected(code or f"http.{response.status_code}", mask(text), response.status_code)
        body = self._json(response)
        if not isinstance(body, dict) or not isinstance(body.get("message"), dict):
            raise RegistryResponseInvalid("err.response.malformed", "answer without a message")
        ack = body["message"].get("ack_status")
        if ack is not None and "header" not in body:
            if ack == "ERR":
                code, text = _error_of(body)
                raise RegistryRejected(code or "err.request.bad", mask(text), 200)
            return body
        self._check_signature(body)
        header = body.get("header") or {}
        if header.get("status") == "rjct" and raise_on_reject:
            code, text = _first_item_reason(body["message"])
            raise RegistryRejected(code or header.get("status_reason_code") or "rjct",
                                   mask(text or str(header.get("status_reason_message") or "")), 200)
        log.info("registry %s answered (message %s, correlation %s)", path, header.get("message_id"),
                 body["message"].get("correlation_id"))
        return body

    # signatures of answers --------------------------------------------------------------------

    def _check_signature(self, body: dict[str, Any]) -> None:
        try:
            signatures.verify(body.get("signature"), body.get("header"), body.get("message"),
                              self._registry_key, allow_unsigned=not self.require_signatures)
        except signatures.SignatureError as error:
            log.warning("registry answer signature rejected: %s", error.code)
            raise RegistryResponseInvalid(error.code, str(error)) from error

    def _registry_key(self, sender_id: str, key_id: str) -> signatures.Ed25519PublicKey | None:
        if sender_id != self.settings.registry_receiver_id:
            return None
        with self._jwks_lock:
            key = self._jwks.get(key_id)
            if key is None and time.monotonic() - self._jwks_fetched_at >= JWKS_REFETCH_INTERVAL:
                self._jwks = self.fetch_jwks()
                self._jwks_fetched_at = time.monotonic()
                key = self._jwks.get(key_id)
            return key

    def fetch_jwks(self) -> dict[str, signatures.Ed25519PublicKey]:
        """The registry's published signing keys by key id."""
        response = self._with_retries(JWKS_PATH, lambda: self._exchange("GET", JWKS_PATH), idempotent=True)
        body = self._json(response)
        if response.status_code != 200 or not isinstance(body, dict):
            raise RegistryResponseInvalid("err.jwks.unavailable",
                                          f"JWKS answered HTTP {response.status_code}")
        keys: dict[str, signatures.Ed25519PublicKey] = {}
        for entry in body.get("keys") or []:
            if isinstance(entry, dict) and entry.get("use", "sig") == "sig" and entry.get("kid"):
                try:
                    keys[entry["kid"]] = signatures.public_key_from_jwk(entry)
                except (signatures.SignatureError, KeyError, ValueError):
                    continue
        return keys

    def ping(self) -> bool:
        """One unretried GET of the JWKS through the breaker: does the registry answer?"""
        try:
            response = self._attempt(lambda: self._exchange("GET", JWKS_PATH))
        except (_Transient, RegistryError):
            return False
        return response.status_code == 200

    def verify_callback(self, body: object) -> dict[str, Any]:
        """Check a callback the registry POSTed to our `sender_uri` (on-search, on-subscribe, notify,
        …): its signature by the same rule as answers. Returns the body; raises RegistryResponseInvalid."""
        if not isinstance(body, dict) or not isinstance(body.get("header"), dict) \
                or not isinstance(body.get("message"), dict):
            raise RegistryResponseInvalid("err.request.bad", "a callback needs header and message")
        self._check_signature(body)
        return body

    # DCI operations -------------------------------------------------------------------------

    def sync_search(self, criteria: Sequence[SearchCriteria],
                    transaction_id: str | None = None) -> SearchResult:
        """`/registry/sync/search` with one item per criteria (reference ids ref-1, ref-2, …)."""
        if not criteria:
            raise ValueError("at least one search criteria")
        transaction_id = transaction_id or new_id("txn")
        timestamp = now_ts()
        message = {"transaction_id": transaction_id,
                   "search_request": [c.to_item(f"ref-{i + 1}", timestamp) for i, c in enumerate(criteria)]}
        body = self.post(SR_SYNC_SEARCH, "search", message, total_count=len(criteria), idempotent=True)
        return parse_search_response(body)

    def search_async(self, criteria: Sequence[SearchCriteria], sender_uri: str,
                     transaction_id: str | None = None) -> Ack:
        """`/registry/search`: the results come later as `on-search` to `sender_uri`."""
        self._refuse_async_via_xroad("search")
        transaction_id = transaction_id or new_id("txn")
        timestamp = now_ts()
        message = {"transaction_id": transaction_id,
                   "search_request": [c.to_item(f"ref-{i + 1}", timestamp) for i, c in enumerate(criteria)]}
        body = self.post(SR_SEARCH, "search", message, total_count=len(criteria), idempotent=True,
                         sender_uri=sender_uri)
        return _ack(body, transaction_id)

    def txn_status_sync(self, attribute_value: str | list[str], *,
                        attribute_type: Literal["transaction_id", "reference_id_list", "correlation_id"]
                        = "transaction_id",
                        txn_type: Literal["search", "subscribe", "receipt"] = "search") -> TxnStatus:
        message = {"transaction_id": new_id("txn"), "txnstatus_request": {
            "reference_id": "ref-1", "txn_type": txn_type, "attribute_type": attribute_type,
            "attribute_value": attribute_value, "locale": LOCALE}}
        body = self.post(SR_SYNC_TXN_STATUS, "txn-status", message, idempotent=True)
        answer = body["message"]
        response = answer.get("txnstatus_response") or {}
        status = response.get("txn_status") or {}
        search = None
        if response.get("txn_type") == "search" and isinstance(status, dict) and "search_response" in status:
            search = parse_search_message(status, None)
        return TxnStatus(answer.get("transaction_id", ""), answer.get("correlation_id"),
                         response.get("txn_type"), status if isinstance(status, dict) else {}, search)

    def txn_status_async(self, attribute_value: str, sender_uri: str, *,
                         attribute_type: Literal["transaction_id", "reference_id_list", "correlation_id"]
                         = "transaction_id",
                         txn_type: Literal["search", "subscribe", "receipt"] = "search") -> Ack:
        self._refuse_async_via_xroad("txn status")
        transaction_id = new_id("txn")
        message = {"transaction_id": transaction_id, "txnstatus_request": {
            "reference_id": "ref-1", "txn_type": txn_type, "attribute_type": attribute_type,
            "attribute_value": attribute_value, "locale": LOCALE}}
        body = self.post(SR_TXN_STATUS, "txn-status", message, idempotent=True, sender_uri=sender_uri)
        return _ack(body, transaction_id)

    def subscribe(self, filter_type: QueryType, filter_: object, sender_uri: str, *,
                  notify_record_type: Entity = "Group", reg_event_type: str = "UPDATE",
                  frequency: Mapping[str, str] | None = None, transaction_id: str | None = None) -> Ack:
        """`/registry/subscribe`; the subscription code comes in the `on-subscribe` callback."""
        self._refuse_async_via_xroad("subscribe")
        transaction_id = transaction_id or new_id("txn")
        criteria: dict[str, Any] = {"version": DCI_VERSION, "reg_type": REG_TYPE_SOCIAL,
                                    "reg_event_type": reg_event_type, "filter_type": filter_type,
                                    "filter": filter_, "notify_record_type": notify_record_type}
        if frequency:
            criteria["frequency"] = dict(frequency)
        message = {"transaction_id": transaction_id, "subscribe_request": [
            {"reference_id": "ref-1", "timestamp": now_ts(), "subscribe_criteria": criteria,
             "locale": LOCALE}]}
        # The registry answers a repeated subscription with the existing code, so a retry is safe.
        body = self.post(SR_SUBSCRIBE, "subscribe", message, idempotent=True, sender_uri=sender_uri)
        return _ack(body, transaction_id)

    def unsubscribe(self, codes: Sequence[str], sender_uri: str, transaction_id: str | None = None) -> Ack:
        """`/registry/unsubscribe`; the outcome comes in the `on-unsubscribe` callback."""
        self._refuse_async_via_xroad("unsubscribe")
        transaction_id = transaction_id or new_id("txn")
        message = {"transaction_id": transaction_id, "timestamp": now_ts(), "subscription_codes": list(codes)}
        body = self.post(SR_UNSUBSCRIBE, "unsubscribe", message, idempotent=True, sender_uri=sender_uri)
        return _ack(body, transaction_id)

    def ibr_enrolled(self, person_identifier: str, programme: str) -> bool:
        """IBR `/registry/sync/enrolled` (mounted under /ibr): is this person enrolled in the programme?"""
        message = {"transaction_id": new_id("txn"), "enrolled_criteria": {
            "query_type": "idtype-value", "response_entity": "Member",
            "query": {"person_identifier": {"eq": person_identifier},
                      "programme_identifier.program.programme_identifier": {"eq": programme}}}}
        body = self.post(IBR_SYNC_ENROLLED, "search", message, idempotent=True)
        items = body["message"].get("enrolled_response") or []
        if not items:
            raise RegistryResponseInvalid("err.response.malformed", "enrolled answer without items")
        item = items[0]
        if item.get("status") == "rjct":
            raise RegistryRejected(item.get("status_reason_code") or "rjct",
                                   mask(str(item.get("status_reason_message") or "")), 200)
        return item.get("enrolled_status") == "yes"

    def ext_enrolments(self, person_identifier: Mapping[str, str]) -> ExtItem:
        message = {"transaction_id": new_id("txn"), "enrolment_request": [
            {"reference_id": "ref-1", "timestamp": now_ts(), "person_identifier": dict(person_identifier)}]}
        body = self.post(EXT_ENROLMENTS, "enrolments", message, idempotent=True, raise_on_reject=False)
        return _single_ext_item(body, "enrolment_response")

    def ext_payments(self, person_identifier: Mapping[str, str], programme: str | None = None,
                     since: str | None = None) -> ExtItem:
        request: dict[str, Any] = {"reference_id": "ref-1", "timestamp": now_ts(),
                                   "person_identifier": dict(person_identifier)}
        if programme:
            request["programme_identifier"] = programme
        if since:
            request["since"] = since
        body = self.post(EXT_PAYMENTS, "payments", {"transaction_id": new_id("txn"),
                                                    "payment_request": [request]},
                         idempotent=True, raise_on_reject=False)
        return _single_ext_item(body, "payment_response")

    def ext_change(self, change: Mapping[str, Any], reference_id: str | None = None) -> ExtItem:
        """Apply one change. Sent once (not idempotent); `reference_id` lets the caller give a stable id."""
        reference_id = reference_id or new_id("chg")
        request = {"reference_id": reference_id, "timestamp": now_ts(), **change}
        body = self.post(EXT_CHANGES, "changes", {"transaction_id": new_id("txn"),
                                                  "change_request": [request]},
                         idempotent=False, raise_on_reject=False)
        return _single_ext_item(body, "change_response")

    def _refuse_async_via_xroad(self, what: str) -> None:
        if self.endpoints.via_xroad:
            raise RegistryError(f"async {what} is not available through CamDX/X-Road (synchronous only); "
                                "use the sync endpoints")


# --- parsing ---------------------------------------------------------------------------------

def _ack(body: dict[str, Any], transaction_id: str) -> Ack:
    message = body["message"]
    status = message.get("ack_status")
    if status not in ("ACK", "NACK"):
        raise RegistryResponseInvalid("err.response.malformed", "expected an ack")
    return Ack(status, message.get("correlation_id"), message.get("timestamp"), transaction_id)


def _first_item_reason(message: Mapping[str, Any]) -> tuple[str | None, str]:
    """The reason of the first rejected item of a rejected answer (more precise than the header's)."""
    for value in message.values():
        for item in value if isinstance(value, list) else []:
            if isinstance(item, Mapping) and item.get("status") == "rjct" and item.get("status_reason_code"):
                return item["status_reason_code"], str(item.get("status_reason_message") or "")
    return None, ""


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def parse_search_message(message: Mapping[str, Any], header_status: str | None) -> SearchResult:
    items = []
    for raw in message.get("search_response") or []:
        data = raw.get("data") or {}
        records = data.get("reg_records") or []
        if isinstance(records, dict):
            records = [records]
        pagination = raw.get("pagination") or {}
        items.append(SearchItem(
            reference_id=str(raw.get("reference_id", "")),
            status=str(raw.get("status", "")),
            reason_code=raw.get("status_reason_code"),
            reason_message=mask(str(raw.get("status_reason_message") or "")) or None,
            record_type=data.get("reg_record_type"),
            records=tuple(r for r in records if isinstance(r, dict)),
            page_size=_int_or_none(pagination.get("page_size")),
            page_number=_int_or_none(pagination.get("page_number")),
            total_count=_int_or_none(pagination.get("total_count")),
        ))
    return SearchResult(str(message.get("transaction_id", "")), message.get("correlation_id"),
                        header_status, tuple(items))


def parse_search_response(body: Mapping[str, Any]) -> SearchResult:
    return parse_search_message(body["message"], (body.get("header") or {}).get("status"))


def _single_ext_item(body: Mapping[str, Any], key: str) -> ExtItem:
    items = body["message"].get(key)
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        raise RegistryResponseInvalid("err.response.malformed", f"answer without {key}")
    item = items[0]
    return ExtItem(str(item.get("reference_id", "")), str(item.get("status", "")),
                   item.get("status_reason_code"), item)
