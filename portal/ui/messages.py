"""Every msgid the portal pages use (for the catalogue test and for updating portal_ui.po): the `_("…")`
calls in the templates, the `say(…, "…")`/`text("…")` calls and error texts in the views, and the label
tables of helpers.py."""

from __future__ import annotations

import re
from pathlib import Path

from portal.ui import helpers

HERE = Path(__file__).parent
_TEMPLATE_CALL = re.compile(r"""_\(\s*(["'])(.+?)\1""")
_PY_CALL = re.compile(r"""(?:say\(\s*"(?:ok|error)",\s*|text\()\s*"([^"]+)\"""")


def all_msgids() -> list[str]:
    found: set[str] = set()
    for template in (HERE / "templates" / "portal_ui").glob("*.html"):
        source = template.read_text(encoding="utf-8")
        found.update(match.group(2) for match in _TEMPLATE_CALL.finditer(source))
    for module in (m for m in HERE.glob("*.py") if m.name != "messages.py"):
        found.update(_PY_CALL.findall(module.read_text(encoding="utf-8")))
    from portal.ui.cases import ERRORS

    found.update(ERRORS.values())
    for table in (helpers.STATE_LABELS, helpers.LEVEL_LABELS, helpers.SLA_LABELS, helpers.CATEGORY_LABELS,
                  helpers.PROGRAMME_LABELS, helpers.ROLE_LABELS, helpers.EVENT_LABELS,
                  helpers.RESOLUTION_CODES,
                  helpers.CHANGE_TYPE_LABELS, helpers.CHANGE_STATUS_LABELS, helpers.CANNED_REPLIES):
        found.update(table.values())
    found.update(("male", "female", "other", "unknown"))
    return sorted(found)
