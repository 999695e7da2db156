"""DCI IBR `POST /ibr/registry/sync/enrolled` (spdci-standards ibr_api_v1.0.0.yaml).

`enrolled_criteria.query` is `{"person_identifier": {"eq": "<id>"},
"programme_identifier.program.programme_identifier": {"eq": "<code>"}}`. The person identifier's
type is read from its shape: `KH` + 10 digits → SPID, `+…` → MOBILE, otherwise UIN; an object
`{"type": …, "value": …}` may name it explicitly. The request has a single criteria object and no
reference id, so the one `enrolled_response` item echoes `enrolled_criteria.reference_id` when sent
(an extension) or else the transaction id. A person the registry does not know is answered
`status: rjct`, `enrolled_status: "no"`.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, jsonify

from registry_sandbox import query
from registry_sandbox.api import envelope
from registry_sandbox.api.context import accept, ctx

bp = Blueprint("dci_ibr", __name__)

PROGRAMME_KEYS = (
    "programme_identifier.program.programme_identifier",
    "programme_identifier.programme.programme_identifier",
    "programme_identifier",
)
_SPID = re.compile(r"^KH\d{10}$")


def _eq(node: object) -> object:
    return (
        node.get("eq", node.get("$eq"))
        if isinstance(node, dict) and ("eq" in node or "$eq" in node)
        else node
    )


def person_identifier(value: object) -> tuple[str, str]:
    value = _eq(value)
    if isinstance(value, dict) and "type" in value and "value" in value:
        id_type = str(value["type"]).upper()
        if id_type not in query.IDENTIFIER_TYPES:
            raise envelope.EnvelopeError(f"unknown identifier type {value['type']!r}")
        return id_type, str(value["value"]).strip()
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise envelope.EnvelopeError('enrolled_criteria.query.person_identifier needs {"eq": "<id>"}')
    text = str(value).strip()
    if _SPID.match(text):
        return "SPID", text
    if text.startswith("+"):
        return "MOBILE", text
    return "UIN", text


def _read(message: dict[str, Any]) -> None:
    criteria = message.get("enrolled_criteria")
    if not isinstance(criteria, dict) or not isinstance(criteria.get("query"), dict):
        raise envelope.EnvelopeError("message.enrolled_criteria.query is required")
    if criteria.get("query_type", "idtype-value") not in ("idtype-value", "expression", "predicate"):
        raise envelope.EnvelopeError("enrolled_criteria.query_type is invalid")
    q = criteria["query"]
    person_identifier(q.get("person_identifier"))
    programme = next((_eq(q[key]) for key in PROGRAMME_KEYS if key in q), None)
    if not isinstance(programme, str) or not programme:
        raise envelope.EnvelopeError(
            'enrolled_criteria.query needs programme_identifier.program.programme_identifier: {"eq": code}'
        )


@bp.post("/ibr/registry/sync/enrolled")
def enrolled():  # type: ignore[no-untyped-def]
    context = ctx()
    accepted = accept("registry.enrolled", "search", "sync", "on-search", _read)
    criteria = accepted.message["enrolled_criteria"]
    q = criteria["query"]
    id_type, value = person_identifier(q.get("person_identifier"))
    programme = next(_eq(q[key]) for key in PROGRAMME_KEYS if key in q)
    reference_id = (
        criteria.get("reference_id")
        if isinstance(criteria.get("reference_id"), str)
        else accepted.message["transaction_id"]
    )
    result = context.store.is_enrolled(id_type, value, programme)
    item: dict[str, Any] = {"reference_id": reference_id, "timestamp": envelope.now_ts()}
    if result is None:
        item.update(
            status="rjct", enrolled_status="no", status_reason_message="person not found in the registry"
        )
    else:
        item.update(status="succ", enrolled_status="yes" if result else "no")
    response = {
        "transaction_id": accepted.message["transaction_id"],
        "correlation_id": envelope.new_id("corr"),
        "enrolled_response": [item],
    }
    header = envelope.callback_header(
        "on-search", item["status"], accepted.header, context.sender_id, total=1, completed=1
    )
    return jsonify(context.sign(header, response))
