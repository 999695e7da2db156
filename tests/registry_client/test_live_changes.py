"""Applying a change through the client (on a synthetic person, restored afterwards)."""

from __future__ import annotations

from registry_client.dci import SearchCriteria
from registry_client.records import person_from_member

NEW_PHONE = "+85511987650"  # outside the reserved persona ranges


def _synthetic_adult(client):
    criteria = SearchCriteria("predicate", [{"seq_num": 1, "expression1": {
        "attribute_name": "age", "operator": "ge", "attribute_value": 30}}], "Member", page_size=50)
    for record in client.transport.sync_search([criteria]).items[0].records:
        person = person_from_member(record)
        if person.phones and not (person.uin or "").startswith("1000001") and person.uin != "TEST-001":
            return person
    raise AssertionError("no synthetic adult with a phone in the seeded sandbox")


def test_phone_change_applies_and_is_visible(live_registry, make_client) -> None:
    client, sent = make_client(live_registry.settings)
    person = _synthetic_adult(client)
    old_phone = person.phones[0]
    before = client.household_of(person).last_updated
    result = client.apply_change("phone", person, old_phone, NEW_PHONE, "officer:test")
    try:
        assert result.applied and result.reason_code is None
        assert result.applied_at is not None and result.applied_at.utcoffset() is not None
        assert person.spid in {p.spid for p in client.find_people("MOBILE", NEW_PHONE)}
        assert person.spid not in {p.spid for p in client.find_people("MOBILE", old_phone)}
        assert client.household_of(person).last_updated >= before
    finally:
        restored = client.apply_change("phone", person, NEW_PHONE, old_phone, "officer:test")
    assert restored.applied
    assert person.spid in {p.spid for p in client.find_people("MOBILE", old_phone)}
    assert [r.url.path for r in sent].count("/ext/registry/sync/changes") == 2


def test_stale_old_value_is_refused_not_raised(live_registry, make_client) -> None:
    client, _ = make_client(live_registry.settings)
    person = _synthetic_adult(client)
    result = client.apply_change("phone", person, "+85511000001", NEW_PHONE, "officer:test")
    assert not result.applied and result.reason_code == "rjct.old_value.mismatch"
    assert client.find_people("SPID", person.spid)[0].phones == person.phones  # unchanged
    unknown = client.apply_change("favourite_colour", person, None, "blue", "officer:test")
    assert not unknown.applied and unknown.reason_code == "rjct.change_type.invalid"
