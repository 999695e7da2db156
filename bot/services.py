"""The bot's one door to the portal services (identity, grievances, eligibility, entitlements,
change requests, outbox). Journeys call these methods; the logic lives in `portal/services/*`.

One `Services` is built per inbound message around one database session, committed by the adapter
after the reply is decided (so a grievance is stored before its acknowledgement is sent). The
registry is reached lazily through `registry()`: the language choice and the main menu never call it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from portal.models.citizen import ChannelIdentity
from portal.services import identity as identity_service
from registry_client.types import RegistryPort

CONSENT_VERSION = "2026-11-v1"
MSG_CONSENT = "We use your phone number and registry data only to help you."


class ServiceMissing(RuntimeError):
    """A portal service this journey needs is not installed yet (integration point)."""


@dataclass
class Services:
    session: Session
    channel: str
    address: str
    now: datetime
    registry_factory: Callable[[], RegistryPort]
    session_id: str | None = None
    dedupe_key: str | None = None
    """The inbound message's id (e.g. a Telegram update): lodging it again returns the first grievance."""
    _identity: ChannelIdentity | None = field(default=None, init=False)
    _registry: RegistryPort | None = field(default=None, init=False)

    # ------------------------------------------------------------ identity (no registry call)
    @property
    def identity(self) -> ChannelIdentity:
        if self._identity is None:
            self._identity = identity_service.identity_for(self.session, self.channel, self.address, self.now)
        return self._identity

    def registry(self) -> RegistryPort:
        if self._registry is None:
            self._registry = self.registry_factory()
        return self._registry

    def set_language(self, locale: str) -> None:
        identity_service.set_language(self.identity, locale)

    def has_consented(self) -> bool:
        return identity_service.has_consented(self.session, self.identity, CONSENT_VERSION)

    def record_consent(self, text: str, locale: str) -> None:
        identity_service.record_consent(self.session, self.identity, wording_version=CONSENT_VERSION,
                                        text=text, locale=locale, now=self.now)

    def opt_out(self, kind: identity_service.OptOutKind) -> None:
        identity_service.mark_opted_out(self.session, self.channel, self.address, kind, self.now)

    def opt_in(self, kind: identity_service.OptOutKind) -> None:
        identity_service.opt_in(self.session, self.channel, self.address, kind, self.now)

    def level(self) -> int:
        return identity_service.current_level(self.identity, self.now, self.session_id)

    # ------------------------------------------------------------ verification (registry ⚑)
    def begin_verification(self) -> identity_service.Step:
        return identity_service.begin_verification(self.session, self.registry(), self.identity, self.now,
                                                   self.session_id)

    def choose_person(self, answer: str) -> identity_service.Step:
        return identity_service.choose_person(self.session, self.registry(), self.identity, answer)

    def check_date_of_birth(self, text: str) -> identity_service.Step:
        return identity_service.check_date_of_birth(self.session, self.registry(), self.identity, text,
                                                    self.now, self.session_id)

    def verified_person(self) -> Any:
        return identity_service.verified_person(self.registry(), self.identity, self.now, self.session_id)

    # ------------------------------------------------------------ grievances (E1)
    def _grievances(self) -> Any:
        try:
            from portal.services import grievances
        except ModuleNotFoundError as error:  # integration point: E1's service
            raise ServiceMissing("portal.services.grievances") from error
        return grievances

    def lodge_grievance(self, *, category: str, description: str | None, anonymous: bool, locale: str) -> str:
        """Store (and commit) the grievance with E1's service; its reference number. For USSD E1 also
        queues the full acknowledgement by SMS."""
        grievance = self._grievances().lodge(
            self.session, category_code=category, channel=self.channel, now=self.now,
            description=description or "", address=self.address, identity_id=self.identity.id,
            person_spid=None if anonymous else self._linked_spid(), anonymous=anonymous, locale=locale,
            **({"dedupe_key": self.dedupe_key} if self.dedupe_key else {}),
        )
        return str(grievance.reference)

    def _linked_spid(self) -> str | None:
        return self.identity.person_spid if self.level() >= 1 else None

    def grievance_status(self, typed: str, locale: str) -> tuple[str, dict[str, Any] | None]:
        """(`invalid` | `not_found` | `found`, view). The officer's last reply only for the lodging
        address or the verified complainant (E1's `lookup_status` decides)."""
        from bot import abuse  # guessing references is limited per address (SQL counters)

        if abuse.lookups_exhausted(self.session, "", self.channel, self.address, self.now):
            return "rate_limited", None
        verified = self.identity.person_spid if self.level() == 2 else None
        lookup = self._grievances().lookup_status(self.session, typed, channel=self.channel,
                                                  address=self.address, verified_spid=verified,
                                                  locale=locale)
        if lookup.outcome != "found":
            abuse.count_failed_lookup(self.session, "", self.channel, self.address, self.now)
        return lookup.outcome, lookup.view

    def my_grievances(self, locale: str, limit: int = 6) -> list[dict[str, Any]]:
        """Level 2: the complaints of the verified person or lodged from this address (newest first),
        each as E1's complainant view; anonymous ones are never linked, so never listed."""
        from sqlalchemy import or_, select

        from portal.models.cases import Grievance

        spid = self.identity.person_spid if self.level() == 2 else None
        if spid is None:
            return []
        rows = self.session.scalars(
            select(Grievance).where(
                or_(Grievance.person_spid == spid, Grievance.identity_id == self.identity.id),
                Grievance.anonymous.is_(False))
            .order_by(Grievance.created_at.desc(), Grievance.id.desc()).limit(limit))
        return [self._grievances().citizen_view(g, locale) for g in rows]

    def add_details_by_sms(self, text: str) -> str | None:
        """An SMS starting with a reference number within 24 hours of a USSD complaint (E1); the
        reference when the text was added (E1 queues the confirmation), else None."""
        grievance = self._grievances().add_details_by_sms(self.session, self.address, text, self.now)
        return None if grievance is None else str(grievance.reference)

    def open_handoff(self, locale: str) -> None:
        """Talk to an officer: the open handoff conversation of this address (E1's service; a new
        one when none is open). Officer replies reach the citizen through the outbox (SMS for USSD)."""
        from portal.services import conversations

        conversations.open_handoff(self.session, channel=self.channel, address=self.address, now=self.now,
                                   identity_id=self.identity.id, locale=locale)

    def handoff_message(self, text: str, locale: str) -> None:
        """A citizen message in the handoff conversation (stored and committed)."""
        from portal.services import conversations

        conversations.open_handoff(self.session, channel=self.channel, address=self.address, now=self.now,
                                   text=text, identity_id=self.identity.id, locale=locale)

    def handoff_followup(self, text: str, within: Any) -> bool:
        """An SMS from a phone whose USSD handoff conversation is open (updated within `within`): the
        text joins that conversation (USSD has no free text). True when it did."""
        from sqlalchemy import select

        from portal.models.cases import Conversation, ConversationMessage

        conversation = self.session.scalar(select(Conversation).where(
            Conversation.channel == "ussd", Conversation.address == self.address,
            Conversation.status == "open", Conversation.updated_at >= self.now - within))
        if conversation is None:
            return False
        conversation.messages.append(ConversationMessage(direction="in", actor="citizen", text=text.strip(),
                                                         created_at=self.now))
        conversation.updated_at = self.now
        return True

    # ------------------------------------------------------------ eligibility and entitlements (E2)
    def questionnaire_outcomes(self, answers: dict[str, Any]) -> list[Any]:
        from portal.services.eligibility import Questionnaire, evaluate_questionnaire

        return evaluate_questionnaire(Questionnaire(**answers))

    def registry_outcomes(self) -> list[Any]:
        from portal.services.eligibility import evaluate_person

        return evaluate_person(self.registry(), self.verified_person(), self.today())

    def entitlements(self, recent: int | None = None) -> list[Any]:
        """`recent`: payments per benefit (default: the service's; Telegram asks for more)."""
        from portal.services.entitlements import entitlements_for

        if recent is None:
            return entitlements_for(self.registry(), self.verified_person(), self.today())
        return entitlements_for(self.registry(), self.verified_person(), self.today(), recent=recent)

    def household(self) -> Any:
        return self.registry().household_of(self.verified_person())

    # ------------------------------------------------------------ change requests (E1)
    def create_change_request(self, *, change_type: str, new_value: Any, old_value: Any,
                              person_spid: str | None, household_id: str | None, locale: str,
                              province_code: str | None = None, commune_code: str | None = None) -> None:
        """Stored (and committed) by E1's service; the outcome reaches the citizen by SMS (USSD too).
        The province/commune codes place it in the officers' area queues (address changes)."""
        from portal.services import change_requests

        change_requests.create(
            self.session, change_type=change_type, new_value=new_value, old_value=old_value, source="citizen",
            requested_by=f"citizen:{self.channel}", now=self.now, person_spid=person_spid,
            household_id=household_id, identity_id=self.identity.id,
            reply_channel="telegram" if self.channel == "telegram" else "sms", reply_address=self.address,
            locale=locale, province_code=province_code, commune_code=commune_code, dedupe_key=self.dedupe_key,
        )

    def today(self) -> Any:
        from zoneinfo import ZoneInfo

        return self.now.astimezone(ZoneInfo("Asia/Phnom_Penh")).date()
