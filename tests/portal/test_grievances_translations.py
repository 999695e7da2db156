"""Every msgid the case services use has a Khmer translation with the same placeholders, no msgid is
used inline without being in the catalogue list, and the citizen SMS stay within 3 segments."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from chumnuoy import ROOT
from chumnuoy.i18n import catalog, translate
from portal.services import case_messages

MODULES = [
    ROOT / "portal" / "services" / name
    for name in (
        "grievances.py", "change_requests.py", "grievance_catalogue.py", "case_messages.py",
        "conversations.py",
    )
]


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("msgid", case_messages.all_msgids())
def test_msgid_has_a_khmer_translation_with_the_same_placeholders(msgid):
    khmer = catalog("km").get(msgid)
    assert khmer and khmer.strip() and khmer != msgid
    assert re.search("[\u1780-\u17ff]", khmer)
    assert placeholders(khmer) == placeholders(msgid)
    assert catalog("en").get(msgid)


def _literal_msgids(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or len(node.args) < 2:
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        if name == "translate" and isinstance(node.args[1], ast.Constant):
            found.add(node.args[1].value)
    return found


def test_no_inline_msgid_escapes_the_catalogue_list():
    used = set().union(*(_literal_msgids(path) for path in MODULES))
    assert used <= set(case_messages.all_msgids())


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_khmer_citizen_messages_fit_in_three_sms_segments_and_the_acknowledgement_in_one():
    sample = {"reference": "12345671", "state": translate("km", "in review"), "text": "",
              "level": translate("km", "province/capital"), "reason": "", "date": "៣០ មេសា ២០២៦"}
    for msgid in case_messages.all_msgids():
        assert _units(translate("km", msgid, **sample)) <= 3 * 67, msgid
    assert _units(translate("km", case_messages.ACKNOWLEDGED, reference="12345671")) <= 70
