"""Every text of the portal pages has a Khmer translation (translations/km/LC_MESSAGES/portal_ui.po or
an identical msgid of another domain), placeholders survive translation, and portal_ui.po does not
redefine another domain's messages."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from chumnuoy.i18n import TRANSLATIONS, catalog
from portal.ui.messages import all_msgids

PLACEHOLDER = re.compile(r"{(\w+)}")


def _domain(locale: str, name: str) -> dict[str, str]:
    with (TRANSLATIONS / locale / "LC_MESSAGES" / f"{name}.po").open("rb") as handle:
        return {m.id: m.string for m in read_po(handle, locale=locale) if m.id}


def test_every_portal_text_has_a_khmer_translation():
    khmer = catalog("km")
    ids = all_msgids()
    assert len(ids) > 150 and "Sign in" in ids and "Overdue" in ids
    missing = [msgid for msgid in ids if not khmer.get(msgid)]
    assert missing == []
    for msgid in ids:
        assert set(PLACEHOLDER.findall(khmer[msgid])) == set(PLACEHOLDER.findall(msgid)), msgid
        assert re.search("[\u1780-\u17ff]", khmer[msgid]) or msgid in ("Chumnuoy officer portal",), msgid


def test_portal_catalogue_does_not_override_other_domains():
    ours = set(_domain("km", "portal_ui"))
    for other in TRANSLATIONS.joinpath("km", "LC_MESSAGES").glob("*.po"):
        if other.stem != "portal_ui":
            assert ours.isdisjoint(_domain("km", other.stem)), other.name
    assert set(_domain("en", "portal_ui")) == ours
