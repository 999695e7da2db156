"""`RegistryClient`: the `RegistryPort` the portal services call, over DCI.

People and households come from SR sync search (`idtype-value`, `Member` / `Group` records);
enrolments, payments and changes from the `/ext` proposals (programmes.py). Everything returned is
typed (registry_client.types); every failure is a `RegistryError` subclass.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import httpx

from chumnuoy import metrics
from chumnuoy.digits import to_ascii_digits
from chumnuoy.logs import current_request_id
from chumnuoy.settings import Settings, get_settings
from registry_client import programmes
from registry_client.dci import DciTransport, Entity, SearchCriteria, SearchItem
from registry_client.records import household_from_group, normalise_mobile, person_from_member
from registry_client.resilience import CircuitState, ResilienceConfig
from registry_client.types import (
    ChangeResult,
    Enrolment,
    Household,
    IdentifierType,
    Payment,
    Person,
    RegistryRejected,
)

log = logging.getLogger("registry_client")

PAGE_SIZE = 50
MAX_PAGES = 20
"""A person lookup never needs more; a runaway answer is cut rather than followed forever."""
CONSENT_PURPOSE = "self-service"


def normalise_identifier(id_type: str, value: str) -> str:
    """What the registry expects: E.164 phones, ASCII digits, no spaces, upper-case prefixes."""
    if id_type == "MOBILE":
        return normalise_mobile(value)
    text = to_ascii_digits(value).strip()
    if id_type == "UIN":
        return "".join(text.split())
    return "".join(text.split()).upper()


REQUEST_ID_HEADER = "X-Request-Id"


def _stamp_request(request: httpx.Request) -> None:
    """Carry the citizen hop's request id to the registry (tracing) and note when the call started."""
    request_id = current_request_id()
    if request_id:
        request.headers[REQUEST_ID_HEADER] = request_id
    request.extensions["chumnuoy_started"] = time.perf_counter()


def _time_response(response: httpx.Response) -> None:
    started = response.request.extensions.get("chumnuoy_started")
    if started is not None:
        metrics.REGISTRY_SECONDS.labels(f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started)


class RegistryClient:
    """Implements `registry_client.types.RegistryPort`. One per process; thread-safe."""

    def __init__(self, settings: Settings | None = None, *, resilience: ResilienceConfig | None = None,
                 xroad_service: str | None = None, **transport_options: Any) -> None:
        self.settings = settings or get_settings()
        hooks = dict(transport_options.pop("event_hooks", None) or {})
        hooks["request"] = [_stamp_request, *hooks.get("request", [])]
        hooks["response"] = [*hooks.get("response", []), _time_response]
        self.transport = DciTransport(self.settings, resilience=resilience, xroad_service=xroad_service,
                                      event_hooks=hooks, **transport_options)

    def close(self) -> None:
        self.transport.close()

    @property
    def circuit_state(self) -> CircuitState:
        """closed | open | half-open (for metrics and health pages)."""
        return self.transport.circuit_state

    # SR ---------------------------------------------------------------------------------------

    def _all_records(self, criteria: SearchCriteria) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        page = 1
        while True:
            result = self.transport.sync_search([criteria.page(page)])
            item: SearchItem = result.items[0] if result.items else None  # type: ignore[assignment]
            if item is None:
                break
            if item.status == "rjct":
                raise RegistryRejected(item.reason_code or "rjct", item.reason_message or "", 200)
            records.extend(item.records)
            if not item.has_more or not item.records or page >= MAX_PAGES:
                break
            page += 1
        return records

    def _search(self, id_type: str, value: str, entity: Entity) -> list[dict[str, Any]]:
        criteria = SearchCriteria(
            "idtype-value", {"type": id_type, "value": value}, entity, page_size=PAGE_SIZE,
            consent_purpose=CONSENT_PURPOSE)
        return self._all_records(criteria)

    def find_people(self, id_type: IdentifierType, value: str) -> list[Person]:
        records = self._search(id_type, normalise_identifier(id_type, value), "Member")
        people: list[Person] = []
        seen: set[str] = set()
        for record in records:
            person = person_from_member(record)
            key = person.spid or person.uin or str(len(seen))
            if key not in seen:
                seen.add(key)
                people.append(person)
        log.info("registry find_people %s: %d found", id_type, len(people))
        return people

    def get_household(self, household_id: str) -> Household | None:
        records = self._search("HOUSEHOLD_ID", normalise_identifier("HOUSEHOLD_ID", household_id), "Group")
        return household_from_group(records[0]) if records else None

    def household_of(self, person: Person) -> Household | None:
        if person.household_id:
            return self.get_household(person.household_id)
        id_type, value = ("SPID", person.spid) if person.spid else ("UIN", person.uin or "")
        if not value:
            return None
        records = self._search(id_type, value, "Group")
        return household_from_group(records[0]) if records else None

    # IBR / ext ----------------------------------------------------------------------------------

    def enrolments(self, person: Person) -> list[Enrolment]:
        return programmes.enrolments(self.transport, person)

    def payments(self, person: Person, programme: str | None = None) -> list[Payment]:
        return programmes.payments(self.transport, person, programme)

    def is_enrolled(self, person: Person, programme: str) -> bool:
        """IBR `enrolled` (standard DCI) for one programme."""
        return self.transport.ibr_enrolled(programmes.person_identifier(person)["value"], programme)

    def apply_change(self, change_type: str, target: Person | Household, old_value: object,
                     new_value: object, requested_by: str, *, reference_id: str | None = None
                     ) -> ChangeResult:
        """Sent once, never retried. Give `reference_id` (e.g. the change request's id) to make a
        repeat by the caller recognisable by the registry."""
        result = programmes.apply_change(self.transport, change_type, target, old_value, new_value,
                                         requested_by, reference_id)
        log.info("registry change %s: applied=%s reason=%s", change_type, result.applied, result.reason_code)
        return result

    def ping(self) -> bool:
        return self.transport.ping()


_shared: RegistryClient | None = None
_shared_lock = threading.Lock()


def shared_client() -> RegistryClient:
    """The process-wide client built from `get_settings()`: one token cache and one circuit breaker
    per process, as they should be (create it after a gunicorn fork, i.e. lazily, not at import)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = RegistryClient(get_settings())
        return _shared
