"""Every msgid the citizen services use has Khmer (and English) text."""

from __future__ import annotations

from chumnuoy.i18n import catalog
from portal.services.eligibility import default_catalogue
from portal.services.entitlements import ENTITLEMENT_MSGIDS
from portal.services.identity import IDENTITY_MSGIDS

KHMER = range(0x1780, 0x1800)


def used_msgids() -> set[str]:
    return set(IDENTITY_MSGIDS) | default_catalogue().msgids() | set(ENTITLEMENT_MSGIDS)


def test_every_msgid_has_khmer_text() -> None:
    km, en = catalog("km"), catalog("en")
    for msgid in sorted(used_msgids()):
        assert km.get(msgid), msgid
        assert any(ord(ch) in KHMER for ch in km[msgid]), msgid
        assert en.get(msgid), msgid


def test_placeholders_survive_translation() -> None:
    km = catalog("km")
    for msgid in used_msgids():
        for name in ("{code}", "{card_expiry}", "{idpoor_level}", "{date}", "{place}", "{commune}"):
            assert (name in msgid) == (name in km[msgid]), msgid


def test_reason_lines_fit_one_sms_segment() -> None:
    km = catalog("km")
    reasons = set(default_catalogue().reasons.values()) | set(IDENTITY_MSGIDS)
    too_long = {
        m: len(km[m].encode("utf-16-le")) // 2 for m in reasons if len(km[m].encode("utf-16-le")) // 2 > 70
    }
    assert not too_long
