"""What the portal services get from the registry: typed results and the port they call.

Services depend on `RegistryPort` only. `registry_client.client.RegistryClient` implements it over
DCI (SR search) plus IBR and the `/ext` proposals (enrolments, payments, changes); a later SPR
interface for those replaces one module, not the services.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol

IdentifierType = Literal["UIN", "SPID", "MOBILE", "HOUSEHOLD_ID", "IDPOOR"]
PaymentStatus = Literal["paid", "failed", "pending", "unclaimed"]
Severity = Literal["mild", "medium", "severe"]


@dataclass(frozen=True)
class Address:
    province_code: str | None = None
    district_code: str | None = None
    commune_code: str | None = None
    village_code: str | None = None
    line: str | None = None
    """Khmer address line as the registry holds it."""


@dataclass(frozen=True)
class Person:
    spid: str
    uin: str | None
    surname: str
    """Khmer script; family name first when shown."""
    given_name: str
    surname_latin: str | None
    given_name_latin: str | None
    sex: Literal["male", "female", "other", "unknown"]
    birth_date: date | None
    phones: tuple[str, ...]
    household_id: str | None
    relationship: str = "OTHER"
    is_pregnant: bool = False
    disability: Severity | None = None
    school_grade: int | None = None
    nssf_member: bool = False
    hiv_support: bool = False
    is_deceased: bool = False
    address: Address = field(default_factory=Address)

    @property
    def full_name(self) -> str:
        return f"{self.surname} {self.given_name}".strip()


@dataclass(frozen=True)
class Household:
    household_id: str
    idpoor_number: str | None
    idpoor_level: int | None
    """1 (very poor), 2 (poor) or None (no Equity Card)."""
    equity_card_valid_until: date | None
    poverty_score: float | None
    address: Address
    members: tuple[Person, ...]
    last_updated: datetime | None = None


@dataclass(frozen=True)
class Enrolment:
    programme: str
    """Canonical programme code (docs/registry-profile.md)."""
    programme_name: str
    status: str
    """Active | Suspended | Graduated | Deceased (IBR enrolment_status)."""
    enrolment_date: date | None
    benefit_type: str | None
    amount_riel: int | None
    frequency: str | None
    """monthly | per_visit | once | yearly."""
    collection_point: str | None = None


@dataclass(frozen=True)
class Payment:
    payment_id: str
    programme: str
    amount_riel: int
    status: PaymentStatus
    due_date: date | None
    paid_date: date | None
    component: str | None = None
    """e.g. antenatal_1, delivery, postnatal_3, monthly."""
    collection_point: str | None = None


@dataclass(frozen=True)
class ChangeResult:
    applied: bool
    reason_code: str | None = None
    applied_at: datetime | None = None


class RegistryError(Exception):
    """The registry could not answer (unreachable, circuit open, rejected, malformed)."""


class RegistryUnavailable(RegistryError):
    """Transient: timeouts, 5xx, an open circuit. Callers show a polite 'try later'."""


class RegistryRejected(RegistryError):
    """The registry answered but refused the request; `code` is the DCI code (`err.*` or `rjct.*`,
    or an X-Road error type). Not transient: retrying the same request gives the same answer."""

    def __init__(self, code: str, message: str = "", http_status: int | None = None) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.http_status = http_status


class RegistryResponseInvalid(RegistryError):
    """The registry's answer failed our checks (signature, envelope shape); `code` says which."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


class RegistryPort(Protocol):
    def find_people(self, id_type: IdentifierType, value: str) -> list[Person]:
        """Everyone matching the identifier; [] when none (a shared phone gives several)."""
        ...

    def get_household(self, household_id: str) -> Household | None: ...

    def household_of(self, person: Person) -> Household | None: ...

    def enrolments(self, person: Person) -> list[Enrolment]: ...

    def payments(self, person: Person, programme: str | None = None) -> list[Payment]: ...

    def apply_change(
        self,
        change_type: str,
        target: Person | Household,
        old_value: object,
        new_value: object,
        requested_by: str,
    ) -> ChangeResult: ...

    def ping(self) -> bool:
        """True when the registry answers (used by /healthz)."""
        ...
