"""Nothing the client logs, at any level, shows a persona's phone, ID number, name or birth date."""

from __future__ import annotations

import logging

import pytest

from registry_client.types import RegistryError
from tests.registry_client.personas import ABSENT_PHONE, PERSONAS


def test_logs_hold_no_personal_data(live_registry, make_client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client, _ = make_client(live_registry.settings)
    for persona in PERSONAS:
        lookups = (("UIN", persona.uin), ("MOBILE", persona.phone), ("MOBILE", "0" + persona.phone[4:]))
        for id_type, value in lookups:
            for person in client.find_people(id_type, value):
                client.household_of(person)
                client.enrolments(person)
                client.payments(person)
    client.find_people("MOBILE", ABSENT_PHONE)
    with pytest.raises(RegistryError):
        client.find_people("NIDX", ABSENT_PHONE)  # type: ignore[arg-type]
    text = caplog.text
    assert "registry POST /registry/sync/search -> 200" in text  # the client does log its calls
    secrets = {ABSENT_PHONE, ABSENT_PHONE[4:]}
    for persona in PERSONAS:
        secrets |= {persona.uin, persona.phone, persona.phone[4:], "0" + persona.phone[4:],
                    persona.born.isoformat(), *persona.khmer, *persona.latin}
    secrets |= {live_registry.settings.registry_client_secret, live_registry.settings.registry_signing_key}
    token = client.transport.tokens.get()
    secrets.add(token)
    leaked = sorted(s for s in secrets if s in text)
    assert leaked == []
