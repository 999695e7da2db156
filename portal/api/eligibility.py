"""POST /api/v1/eligibility: questionnaire answers → indicative outcomes, or a registry person → outcomes.

API clients are trusted services holding a bearer token (SPEC §11), so a person may be named by UIN
or SPID without a knowledge check; every such access is written to the audit log (actor = the
token's name) and committed before the answer is returned. Identifiers
travel in the JSON body, never in the URL (SPEC §14).
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, jsonify, request

from portal.api import api_actor, db_session, error_response, registry_of_app
from portal.services.eligibility import (
    OUTCOME_MSGIDS,
    ProgrammeOutcome,
    Questionnaire,
    default_catalogue,
    evaluate_person,
    evaluate_questionnaire,
)
from registry_client.types import Person, RegistryError, RegistryPort, RegistryUnavailable

PHNOM_PENH = ZoneInfo("Asia/Phnom_Penh")
QUESTION_FIELDS = {f.name for f in fields(Questionnaire)}


class ApiInputError(ValueError):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


# ---------------------------------------------------------------- helpers (also used by entitlements)


def today_in_cambodia(body: dict[str, Any] | None = None) -> date:
    as_of = (body or {}).get("as_of")
    if as_of:
        try:
            return date.fromisoformat(str(as_of))
        except ValueError as error:
            raise ApiInputError("invalid_as_of", "as_of must be YYYY-MM-DD") from error
    return datetime.now(PHNOM_PENH).date()


def locale_of(body: dict[str, Any] | None = None) -> str:
    locale = (body or {}).get("locale") or request.args.get("locale") or "km"
    if locale not in ("km", "en"):
        raise ApiInputError("invalid_locale", "locale must be km or en")
    return str(locale)


def find_person(registry: RegistryPort, identifier: dict[str, Any]) -> Person:
    """`{"uin": …}` or `{"spid": …}` → the one living registry person, else 404."""
    if not isinstance(identifier, dict):
        raise ApiInputError("invalid_person", "person must be an object with uin or spid")
    given = [
        (kind, str(identifier[key]).strip())
        for key, kind in (("uin", "UIN"), ("spid", "SPID"))
        if identifier.get(key)
    ]
    if len(given) != 1:
        raise ApiInputError("invalid_person", "give exactly one of uin or spid")
    kind, value = given[0]
    people = [p for p in registry.find_people(kind, value) if not p.is_deceased]  # type: ignore[arg-type]
    if len(people) != 1:
        raise ApiInputError("person_not_found", "no single registry person has this identifier", 404)
    return people[0]


def audit_access(session, action: str, person: Person, detail: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    from portal.services.audit import record

    record(
        session,
        actor=api_actor(),
        action=action,
        subject_type="person",
        subject_id=person.spid,
        detail=detail,
    )


def with_person_access(action: str, body: dict[str, Any], handler):  # type: ignore[no-untyped-def]
    """Resolve the person, audit the access (committed before answering), then build the answer."""
    registry = registry_of_app()
    try:
        person = find_person(registry, body.get("person"))  # type: ignore[arg-type]
        with db_session() as session:
            audit_access(session, action, person, {"via": "api"})
            session.commit()
        return handler(registry, person)
    except RegistryUnavailable:
        return error_response(503, "registry_unavailable", "the registry did not answer; try again later")
    except RegistryError:
        return error_response(502, "registry_error", "the registry refused or gave an invalid answer")


# ---------------------------------------------------------------- eligibility


def outcome_json(outcome: ProgrammeOutcome, locale: str) -> dict[str, Any]:
    from chumnuoy.i18n import translate

    return {
        "programme": outcome.programme,
        "name": translate(locale, outcome.name),
        "agency": outcome.agency,
        "family_package": outcome.family_package,
        "outcome": outcome.outcome,
        "outcome_text": translate(locale, OUTCOME_MSGIDS[outcome.outcome]),
        "reason": outcome.reason_text(locale),
        "guidance": outcome.guidance_text(locale),
        "how_to_apply": outcome.how_to_apply_text(locale),
        "indicative": outcome.indicative,
        "benefits": [
            {
                "component": b.component,
                "amount_riel": b.amount_riel,
                "frequency": b.frequency,
                "count": b.count,
                "sourced": b.sourced,
            }
            for b in outcome.benefits
        ],
    }


def questionnaire_from(answers: Any) -> Questionnaire:
    if not isinstance(answers, dict):
        raise ApiInputError("invalid_answers", "answers must be an object")
    unknown = set(answers) - QUESTION_FIELDS
    if unknown:
        raise ApiInputError("invalid_answers", f"unknown answers: {', '.join(sorted(unknown))}")
    checks = {
        "equity_card": ("valid", "expired", "none", None),
        "idpoor_level": (1, 2, None),
        "sex": ("male", "female", None),
    }
    for name, value in answers.items():
        allowed = checks.get(name)
        if allowed is not None and (value not in allowed or isinstance(value, bool)):
            raise ApiInputError("invalid_answers", f"{name} must be one of {[a for a in allowed if a]}")
        if allowed is None and value is not None and not isinstance(value, bool):
            raise ApiInputError("invalid_answers", f"{name} must be true, false or null")
    return Questionnaire(**answers)


def post_eligibility():  # type: ignore[no-untyped-def]
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or ("answers" in body) == ("person" in body):
        return error_response(400, "invalid_request", "send either answers or person")
    try:
        locale = locale_of(body)
        today = today_in_cambodia(body)
        version = default_catalogue().version
        if "answers" in body:
            outcomes = evaluate_questionnaire(questionnaire_from(body["answers"]))
            return jsonify(
                mode="questionnaire",
                indicative=True,
                as_of=today.isoformat(),
                catalogue_version=version,
                outcomes=[outcome_json(o, locale) for o in outcomes],
            )

        def answer(registry: RegistryPort, person: Person):  # type: ignore[no-untyped-def]
            outcomes = evaluate_person(registry, person, today)
            return jsonify(
                mode="registry",
                indicative=False,
                as_of=today.isoformat(),
                catalogue_version=version,
                person={"spid": person.spid},
                outcomes=[outcome_json(o, locale) for o in outcomes],
            )

        return with_person_access("eligibility.view", body, answer)
    except ApiInputError as error:
        return error_response(error.status, error.code, error.message)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/eligibility", "eligibility", post_eligibility, methods=["POST"])


# ---------------------------------------------------------------- OpenAPI fragment

_ERROR = {"$ref": "#/components/schemas/Error"}
OPENAPI_SCHEMAS: dict[str, Any] = {
    "PersonIdentifier": {
        "type": "object",
        "description": "Exactly one of uin (national ID number) or spid.",
        "properties": {"uin": {"type": "string"}, "spid": {"type": "string"}},
        "additionalProperties": False,
        "minProperties": 1,
        "maxProperties": 1,
    },
    "QuestionnaireAnswers": {
        "type": "object",
        "additionalProperties": False,
        "description": "The citizen questionnaire; null or absent = not answered (gives `maybe`).",
        "properties": {
            "equity_card": {"enum": ["valid", "expired", "none", None]},
            "idpoor_level": {"enum": [1, 2, None]},
            "pregnant_or_child_under_2": {"type": ["boolean", "null"]},
            "age_60_plus": {"type": ["boolean", "null"]},
            "disability_card": {"type": ["boolean", "null"]},
            "children_in_school": {"type": ["boolean", "null"]},
            "hiv_support": {"type": ["boolean", "null"]},
            "nssf_member": {"type": ["boolean", "null"]},
            "sex": {"enum": ["male", "female", None]},
            "civil_servant": {"type": ["boolean", "null"]},
        },
    },
    "EligibilityRequest": {
        "type": "object",
        "properties": {
            "answers": {"$ref": "#/components/schemas/QuestionnaireAnswers"},
            "person": {"$ref": "#/components/schemas/PersonIdentifier"},
            "locale": {"enum": ["km", "en"], "default": "km"},
            "as_of": {
                "type": "string",
                "format": "date",
                "description": "Evaluate as of this date (default: today).",
            },
        },
        "oneOf": [{"required": ["answers"]}, {"required": ["person"]}],
    },
    "Benefit": {
        "type": "object",
        "required": ["component", "amount_riel", "frequency", "sourced"],
        "properties": {
            "component": {"type": "string"},
            "amount_riel": {"type": "integer"},
            "frequency": {"type": "string"},
            "count": {"type": ["integer", "null"]},
            "sourced": {"type": "boolean", "description": "false = no stored source; configurable amount"},
        },
    },
    "ProgrammeOutcome": {
        "type": "object",
        "required": [
            "programme",
            "name",
            "agency",
            "family_package",
            "outcome",
            "outcome_text",
            "reason",
            "guidance",
            "how_to_apply",
            "indicative",
            "benefits",
        ],
        "properties": {
            "programme": {"enum": [p.code for p in default_catalogue().programmes]},
            "name": {"type": "string"},
            "agency": {"type": "string"},
            "family_package": {"type": "boolean"},
            "outcome": {"enum": ["eligible", "enrolled", "not_eligible", "maybe"]},
            "outcome_text": {"type": "string"},
            "reason": {"type": "string", "description": "One short line, in the requested locale."},
            "guidance": {"type": ["string", "null"]},
            "how_to_apply": {"type": "string"},
            "indicative": {"type": "boolean"},
            "benefits": {"type": "array", "items": {"$ref": "#/components/schemas/Benefit"}},
        },
    },
    "EligibilityResponse": {
        "type": "object",
        "required": ["mode", "indicative", "as_of", "catalogue_version", "outcomes"],
        "properties": {
            "mode": {"enum": ["questionnaire", "registry"]},
            "indicative": {"type": "boolean"},
            "as_of": {"type": "string", "format": "date"},
            "catalogue_version": {"type": "string"},
            "person": {"type": "object", "required": ["spid"], "properties": {"spid": {"type": "string"}}},
            "outcomes": {"type": "array", "items": {"$ref": "#/components/schemas/ProgrammeOutcome"}},
        },
    },
}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Invalid request",
        401: "Missing or bad token",
        404: "No such person",
        502: "Registry error",
        503: "Registry unavailable",
    }
    return {
        str(c): {"description": text[c], "content": {"application/json": {"schema": _ERROR}}} for c in codes
    }


OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/eligibility": {
        "post": {
            "summary": "Eligibility per programme, from questionnaire answers or from a registry person",
            "description": "With `person`, every programme's rules are evaluated on registry data; "
            "the access is audited. With `answers`, the result is indicative (positive answers are `maybe`).",
            "security": [{"bearerAuth": []}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/EligibilityRequest"}}
                },
            },
            "responses": {
                "200": {
                    "description": "Outcomes",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/EligibilityResponse"}}
                    },
                },
                **_errors(400, 401, 404, 502, 503),
            },
        }
    }
}
