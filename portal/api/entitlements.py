"""Entitlements of a registry person: enrolments, payments, next payment, where to collect (audited).

`POST /api/v1/entitlements` with `{"person": {"uin"|"spid": …}}`: a POST so that no identifier ever
appears in a URL (SPEC §14: no personal data in URLs, where proxies and access logs would keep it).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from chumnuoy.i18n import translate
from portal.api.eligibility import (
    ApiInputError,
    error_response,
    locale_of,
    today_in_cambodia,
    with_person_access,
)
from portal.services.entitlements import FREQUENCY_MSGIDS, STATUS_MSGIDS, Entitlement, entitlements_for
from registry_client.types import Person, RegistryPort


def _day(value) -> str | None:  # type: ignore[no-untyped-def]
    return value.isoformat() if value else None


def entitlement_json(item: Entitlement, locale: str) -> dict[str, Any]:
    frequency = FREQUENCY_MSGIDS.get((item.frequency or "").lower())
    return {
        "programme": item.programme,
        "name": translate(locale, item.name),
        "beneficiary": {"spid": item.beneficiary_spid, "name": item.beneficiary_name, "self": item.for_self},
        "status": item.status,
        "enrolment_date": _day(item.enrolment_date),
        "amount_riel": item.amount_riel,
        "frequency": item.frequency,
        "frequency_text": translate(locale, frequency) if frequency else None,
        "collection_point": item.collection_point,
        "payments": [
            {
                "payment_id": p.payment_id,
                "amount_riel": p.amount_riel,
                "status": p.status,
                "status_text": translate(locale, STATUS_MSGIDS.get(p.status, p.status)),
                "date": _day(p.date),
                "due_date": _day(p.due_date),
                "paid_date": _day(p.paid_date),
                "component": p.component,
            }
            for p in item.payments
        ],
        "next_payment": None
        if item.next_payment is None
        else {
            "expected_date": _day(item.next_payment.expected_date),
            "amount_riel": item.next_payment.amount_riel,
            "basis": item.next_payment.basis,
        },
    }


def _answer(body: dict[str, Any]):  # type: ignore[no-untyped-def]
    try:
        locale = locale_of(body)
        today = today_in_cambodia(body)

        def answer(registry: RegistryPort, person: Person):  # type: ignore[no-untyped-def]
            items = entitlements_for(registry, person, today)
            return jsonify(
                as_of=today.isoformat(),
                person={"spid": person.spid},
                entitlements=[entitlement_json(i, locale) for i in items],
            )

        return with_person_access("entitlements.view", body, answer)
    except ApiInputError as error:
        return error_response(error.status, error.code, error.message)


def post_entitlements():  # type: ignore[no-untyped-def]
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or "person" not in body:
        return error_response(400, "invalid_request", "send person")
    return _answer(body)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/entitlements", "entitlements_post", post_entitlements, methods=["POST"])


_DATE = {"type": ["string", "null"], "format": "date"}
OPENAPI_SCHEMAS: dict[str, Any] = {
    "PaymentLine": {
        "type": "object",
        "required": ["payment_id", "amount_riel", "status", "status_text", "date"],
        "properties": {
            "payment_id": {"type": "string"},
            "amount_riel": {"type": "integer"},
            "status": {"enum": ["paid", "failed", "pending", "unclaimed"]},
            "status_text": {"type": "string"},
            "date": _DATE,
            "due_date": _DATE,
            "paid_date": _DATE,
            "component": {"type": ["string", "null"]},
        },
    },
    "Entitlement": {
        "type": "object",
        "required": [
            "programme",
            "name",
            "beneficiary",
            "status",
            "amount_riel",
            "frequency",
            "payments",
            "next_payment",
            "collection_point",
        ],
        "properties": {
            "programme": {"type": "string"},
            "name": {"type": "string"},
            "beneficiary": {
                "type": "object",
                "required": ["spid", "name", "self"],
                "properties": {
                    "spid": {"type": "string"},
                    "name": {"type": "string"},
                    "self": {"type": "boolean"},
                },
            },
            "status": {"type": "string"},
            "enrolment_date": _DATE,
            "amount_riel": {"type": ["integer", "null"]},
            "frequency": {"type": ["string", "null"]},
            "frequency_text": {"type": ["string", "null"]},
            "collection_point": {"type": ["string", "null"]},
            "payments": {"type": "array", "items": {"$ref": "#/components/schemas/PaymentLine"}},
            "next_payment": {
                "oneOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "required": ["expected_date", "basis"],
                        "properties": {
                            "expected_date": _DATE,
                            "amount_riel": {"type": ["integer", "null"]},
                            "basis": {"enum": ["pending", "schedule", "per_visit"]},
                        },
                    },
                ]
            },
        },
    },
    "EntitlementsResponse": {
        "type": "object",
        "required": ["as_of", "person", "entitlements"],
        "properties": {
            "as_of": {"type": "string", "format": "date"},
            "person": {"type": "object", "required": ["spid"], "properties": {"spid": {"type": "string"}}},
            "entitlements": {"type": "array", "items": {"$ref": "#/components/schemas/Entitlement"}},
        },
    },
    "EntitlementsRequest": {
        "type": "object",
        "required": ["person"],
        "properties": {
            "person": {"$ref": "#/components/schemas/PersonIdentifier"},
            "locale": {"enum": ["km", "en"]},
            "as_of": {"type": "string", "format": "date"},
        },
    },
}

_RESPONSES = {
    "200": {
        "description": "Enrolments and payments (own, and dependants' under 18)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EntitlementsResponse"}}},
    },
    **{
        str(code): {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code, text in (
            (400, "Invalid request"),
            (401, "Missing or bad token"),
            (404, "No such person"),
            (502, "Registry error"),
            (503, "Registry unavailable"),
        )
    },
}
OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/entitlements": {
        "post": {
            "summary": "Entitlements of a person (audited)",
            "security": [{"bearerAuth": []}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/EntitlementsRequest"}}
                },
            },
            "responses": _RESPONSES,
        },
    }
}
