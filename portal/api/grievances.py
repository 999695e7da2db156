"""`/api/v1/grievances`: lodge a grievance, its status by reference (level 0), and the status lookup
that gives the full view to the lodging address or the verified complainant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify, request

from portal.api import api_actor, db_session, error_response
from portal.models.base import utcnow
from portal.models.cases import GRIEVANCE_STATES, LEVELS, Grievance
from portal.services import grievances
from portal.services.grievance_catalogue import AGENCIES, CATEGORIES, PROGRAMME_AGENCY, Area
from portal.services.working_time import aware_utc

AREA_FIELDS = ("province_code", "district_code", "commune_code", "village_code")


def _iso(value: datetime | None) -> str | None:
    return aware_utc(value).isoformat() if value else None


def created_json(g: Grievance) -> dict[str, Any]:
    return {
        "reference": g.reference,
        "state": g.state,
        "level": g.level,
        "agency": g.agency,
        "category": g.category,
        "sla_class_days": g.sla_class_days,
        "anonymous": g.anonymous,
        "first_action_due_at": _iso(g.first_action_due_at),
        "resolve_due_at": _iso(g.resolve_due_at),
        "created_at": _iso(g.created_at),
    }


def _body() -> dict[str, Any] | None:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


_TEXT_LIMITS = {"channel": 16, "programme": 32, "locale": 8, "description": 5000}


def _invalid_text_fields(body: dict[str, Any], reply: dict[str, Any], area: dict[str, Any],
                         person: dict[str, Any]) -> str | None:
    """Text fields must be strings that fit their columns (else 400, never a database error)."""
    checks = [(body, name, limit) for name, limit in _TEXT_LIMITS.items()]
    checks += [(reply, "address", 64), (reply, "channel", 16), (person, "spid", 32)]
    checks += [(area, name, 8) for name in AREA_FIELDS]
    for container, name, limit in checks:
        value = container.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit or "\x00" in value):
            return f"{name} must be a string of at most {limit} characters"
    return None


def create_grievance():  # type: ignore[no-untyped-def]
    body = _body()
    if body is None:
        return error_response(400, "invalid_request", "send a JSON object")
    if not isinstance(body.get("category"), str) or body["category"] not in CATEGORIES:
        return error_response(400, "invalid_category", f"category must be one of {sorted(CATEGORIES)}")
    reply = body.get("reply") or {}
    area = body.get("area") or {}
    person = body.get("person") or {}
    if not isinstance(reply, dict) or not isinstance(area, dict) or not isinstance(person, dict):
        return error_response(400, "invalid_request", "reply, area and person are objects")
    problem = _invalid_text_fields(body, reply, area, person)
    if problem:
        return error_response(400, "invalid_request", problem)
    try:
        parsed_area = Area.from_codes(**{k: area.get(k) for k in AREA_FIELDS}) if area else None
    except ValueError as error:
        return error_response(400, "invalid_area", str(error))
    from portal.api import registry_of_app

    with db_session() as session:
        try:
            g = grievances.lodge(
                session,
                category_code=body["category"],
                channel=str(body.get("channel") or "api"),
                now=utcnow(),
                description=str(body.get("description") or ""),
                address=reply.get("address"),
                reply_channel=reply.get("channel"),
                person_spid=person.get("spid"),
                anonymous=bool(body.get("anonymous", False)),
                programme=body.get("programme"),
                area=parsed_area,
                locale=str(body.get("locale") or "km"),
                actor=api_actor() if body.get("channel") in (None, "api", "portal") else "citizen",
                registry=registry_of_app() if person.get("spid") and parsed_area is None else None,
            )
        except ValueError as error:
            return error_response(400, "invalid_request", str(error))
        return jsonify(created_json(g)), 201


def grievance_status(reference: str):  # type: ignore[no-untyped-def]
    with db_session() as session:
        result = grievances.lookup_status(session, reference, locale=request.args.get("locale", "km"))
        if result.outcome == "invalid":
            return error_response(400, "reference_invalid", "the check digit shows the reference is mistyped")
        if result.outcome == "not_found":
            return error_response(404, "not_found", "no grievance has this reference")
        return jsonify(result.view)


def grievance_lookup():  # type: ignore[no-untyped-def]
    body = _body()
    if body is None or not isinstance(body.get("reference"), str):
        return error_response(400, "invalid_request", "send {reference, channel?, address?, person_spid?}")
    with db_session() as session:
        result = grievances.lookup_status(
            session,
            body["reference"],
            channel=body.get("channel"),
            address=body.get("address"),
            verified_spid=body.get("person_spid"),
            locale=str(body.get("locale") or "km"),
        )
        if result.outcome == "invalid":
            return error_response(400, "reference_invalid", "the check digit shows the reference is mistyped")
        if result.outcome == "not_found":
            return error_response(404, "not_found", "no grievance has this reference")
        return jsonify({"full": result.full, **(result.view or {})})


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/grievances", "grievances_create", create_grievance, methods=["POST"])
    bp.add_url_rule("/grievances/<reference>", "grievances_status", grievance_status, methods=["GET"])
    bp.add_url_rule("/grievances/lookup", "grievances_lookup", grievance_lookup, methods=["POST"])


# ---------------------------------------------------------------- OpenAPI fragment

_ERR = {"$ref": "#/components/schemas/Error"}
_TIME = {"type": ["string", "null"], "format": "date-time"}


def _errors(*pairs: tuple[int, str]) -> dict[str, Any]:
    return {
        str(code): {"description": text, "content": {"application/json": {"schema": _ERR}}}
        for code, text in pairs
    }


_CODE = {"type": ["string", "null"], "pattern": "^[0-9]+$"}
OPENAPI_SCHEMAS: dict[str, Any] = {
    "GrievanceCreate": {
        "type": "object",
        "required": ["category"],
        "properties": {
            "category": {"enum": sorted(CATEGORIES)},
            "description": {"type": "string"},
            "programme": {"enum": [*sorted(PROGRAMME_AGENCY), None]},
            "channel": {
                "enum": list(grievances.LODGING_CHANNELS),
                "default": "api",
                "description": "Where the citizen lodged it (the bot engine passes its channel).",
            },
            "reply": {
                "type": "object",
                "required": ["address"],
                "properties": {"channel": {"enum": ["sms", "telegram"]}, "address": {"type": "string"}},
                "description": "Where answers go (SMS for USSD). Omitted: no notifications.",
            },
            "anonymous": {
                "type": "boolean",
                "default": False,
                "description": "Only for misconduct and fraud; keeps nothing but the reply address.",
            },
            "locale": {"enum": ["km", "en"], "default": "km"},
            "area": {
                "type": "object",
                "properties": {k: _CODE for k in AREA_FIELDS},
                "description": "Gazetteer codes; omitted = the registry address of person, else national.",
            },
            "person": {"type": "object", "properties": {"spid": {"type": "string"}}},
        },
    },
    "GrievanceCreated": {
        "type": "object",
        "required": [
            "reference",
            "state",
            "level",
            "agency",
            "category",
            "sla_class_days",
            "anonymous",
            "first_action_due_at",
            "resolve_due_at",
            "created_at",
        ],
        "properties": {
            "reference": {"type": "string", "pattern": "^[0-9]{8}$"},
            "state": {"enum": list(GRIEVANCE_STATES)},
            "level": {"enum": list(LEVELS)},
            "agency": {"enum": list(AGENCIES)},
            "category": {"enum": sorted(CATEGORIES)},
            "sla_class_days": {"enum": [15, 30]},
            "anonymous": {"type": "boolean"},
            "first_action_due_at": _TIME,
            "resolve_due_at": _TIME,
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
    "GrievanceStatus": {
        "type": "object",
        "required": ["reference", "state", "level", "text"],
        "description": "Level 0: status and level only; never officer text.",
        "properties": {
            "reference": {"type": "string", "pattern": "^[0-9]{8}$"},
            "state": {"enum": list(GRIEVANCE_STATES)},
            "level": {"enum": list(LEVELS)},
            "text": {"type": "string"},
        },
        "additionalProperties": False,
    },
    "GrievanceLookup": {
        "type": "object",
        "required": ["reference"],
        "properties": {
            "reference": {"type": "string"},
            "channel": {"enum": ["ussd", "sms", "telegram"]},
            "address": {"type": "string"},
            "person_spid": {"type": "string"},
            "locale": {"enum": ["km", "en"]},
        },
    },
    "GrievanceLookupResult": {
        "type": "object",
        "required": ["full", "reference", "state", "level", "text"],
        "properties": {
            "full": {
                "type": "boolean",
                "description": "true for the lodging address or verified complainant",
            },
            "reference": {"type": "string"},
            "state": {"enum": list(GRIEVANCE_STATES)},
            "level": {"enum": list(LEVELS)},
            "text": {"type": "string"},
            "category": {"enum": sorted(CATEGORIES)},
            "description": {"type": "string"},
            "last_reply": {"type": ["string", "null"]},
            "resolve_due_at": _TIME,
            "created_at": _TIME,
            "rating": {"type": ["integer", "null"]},
        },
    },
}

OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/grievances": {
        "post": {
            "summary": "Lodge a grievance (stored before it is acknowledged)",
            "security": [{"bearerAuth": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GrievanceCreate"}}},
            },
            "responses": {
                "201": {
                    "description": "Stored; the reference is the acknowledgement",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/GrievanceCreated"}}
                    },
                },
                **_errors((400, "Invalid request"), (401, "Missing or bad token"), (403, "Scope missing")),
            },
        }
    },
    "/api/v1/grievances/{reference}": {
        "get": {
            "summary": "Status and level by reference (level 0)",
            "security": [{"bearerAuth": []}],
            "parameters": [
                {"name": "reference", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "locale", "in": "query", "schema": {"enum": ["km", "en"]}},
            ],
            "responses": {
                "200": {
                    "description": "Status",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/GrievanceStatus"}}
                    },
                },
                **_errors(
                    (400, "Mistyped reference (check digit)"),
                    (401, "Missing or bad token"),
                    (403, "Scope missing"),
                    (404, "No such grievance"),
                ),
            },
        }
    },
    "/api/v1/grievances/lookup": {
        "post": {
            "summary": "Status lookup; the full view for the lodging address or the verified complainant",
            "security": [{"bearerAuth": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GrievanceLookup"}}},
            },
            "responses": {
                "200": {
                    "description": "Status (full or level 0)",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/GrievanceLookupResult"}}
                    },
                },
                **_errors(
                    (400, "Mistyped reference (check digit)"),
                    (401, "Missing or bad token"),
                    (403, "Scope missing"),
                    (404, "No such grievance"),
                ),
            },
        }
    },
}
