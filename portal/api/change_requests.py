"""`/api/v1/change-requests`: create, list, read, approve (applied to the registry) and reject.
Reading change requests shows personal data, so every read is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify, request

from portal.api import api_actor, db_session, error_response, registry_of_app
from portal.models.base import utcnow
from portal.models.cases import ChangeRequest
from portal.services import audit, change_requests
from portal.services.working_time import aware_utc
from registry_client.types import RegistryError, RegistryUnavailable

STATUSES = ("pending", "approved", "rejected")


def _iso(value: datetime | None) -> str | None:
    return aware_utc(value).isoformat() if value else None


def change_request_json(item: ChangeRequest) -> dict[str, Any]:
    return {
        "id": item.id,
        "change_type": item.change_type,
        "person_spid": item.person_spid,
        "household_id": item.household_id,
        "old_value": item.old_value,
        "new_value": item.new_value,
        "status": item.status,
        "reason": item.reason,
        "registry_reason_code": item.registry_reason_code,
        "source": item.source,
        "created_at": _iso(item.created_at),
        "decided_by": item.decided_by,
        "decided_at": _iso(item.decided_at),
        "applied_at": _iso(item.applied_at),
        "evidence": [
            {
                "filename": e.filename,
                "content_type": e.content_type,
                "size_bytes": e.size_bytes,
                "sha256": e.sha256,
                "exif_stripped": e.exif_stripped,
            }
            for e in item.evidence
        ],
    }


def list_change_requests():  # type: ignore[no-untyped-def]
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        return error_response(400, "invalid_status", f"status must be one of {STATUSES}")
    try:
        limit = min(500, max(1, int(request.args.get("limit", "100"))))
        offset = max(0, int(request.args.get("offset", "0")))
    except ValueError:
        return error_response(400, "invalid_request", "limit and offset are integers")
    with db_session() as session:
        items = change_requests.list_requests(session, status=status, limit=limit, offset=offset)
        audit.record(
            session,
            actor=api_actor(),
            action="list_change_requests",
            subject_type="change_request",
            subject_id="*",
            detail={"status": status, "count": len(items)},
        )
        session.commit()
        return jsonify(items=[change_request_json(i) for i in items])


def get_change_request(request_id: int):  # type: ignore[no-untyped-def]
    with db_session() as session:
        item = change_requests.get(session, request_id)
        if item is None:
            return error_response(404, "not_found", "no change request has this id")
        audit.record(
            session,
            actor=api_actor(),
            action="view_change_request",
            subject_type="change_request",
            subject_id=str(request_id),
        )
        session.commit()
        return jsonify(change_request_json(item))


def create_change_request():  # type: ignore[no-untyped-def]
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error_response(400, "invalid_request", "send a JSON object")
    reply = body.get("reply") or {}
    if not isinstance(reply, dict):
        return error_response(400, "invalid_request", "reply is an object")
    with db_session() as session:
        try:
            item = change_requests.create(
                session,
                change_type=str(body.get("change_type") or ""),
                new_value=body.get("new_value"),
                old_value=body.get("old_value"),
                person_spid=body.get("person_spid"),
                household_id=body.get("household_id"),
                source=str(body.get("source") or "api"),
                requested_by=api_actor(),
                now=utcnow(),
                reply_channel=reply.get("channel"),
                reply_address=reply.get("address"),
                locale=str(body.get("locale") or "km"),
                notify=bool(body.get("notify", False)),
            )
        except change_requests.ChangeRequestError as error:
            return error_response(400, error.code, str(error))
        return jsonify(change_request_json(item)), 201


def _decide(request_id: int, decision: str):  # type: ignore[no-untyped-def]
    body = request.get_json(silent=True) or {}
    with db_session() as session:
        item = change_requests.get(session, request_id)
        if item is None:
            return error_response(404, "not_found", "no change request has this id")
        try:
            if decision == "approve":
                change_requests.approve(session, item, registry_of_app(), actor=api_actor(), now=utcnow())
            else:
                reason = body.get("reason") if isinstance(body, dict) else None
                change_requests.reject(
                    session, item, reason=str(reason or ""), actor=api_actor(), now=utcnow()
                )
        except change_requests.ChangeRequestError as error:
            status = {"not_pending": 409, "reason_required": 400, "registry_refused": 422}.get(
                error.code, 422
            )
            return error_response(status, error.code, str(error))
        except RegistryUnavailable:
            return error_response(503, "registry_unavailable", "the registry did not answer; try again later")
        except RegistryError:
            return error_response(502, "registry_error", "the registry refused or gave an invalid answer")
        return jsonify(change_request_json(item))


def approve_change_request(request_id: int):  # type: ignore[no-untyped-def]
    return _decide(request_id, "approve")


def reject_change_request(request_id: int):  # type: ignore[no-untyped-def]
    return _decide(request_id, "reject")


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/change-requests", "change_requests_list", list_change_requests, methods=["GET"])
    bp.add_url_rule("/change-requests", "change_requests_create", create_change_request, methods=["POST"])
    bp.add_url_rule(
        "/change-requests/<int:request_id>", "change_requests_get", get_change_request, methods=["GET"]
    )
    bp.add_url_rule(
        "/change-requests/<int:request_id>/approve",
        "change_requests_approve",
        approve_change_request,
        methods=["POST"],
    )
    bp.add_url_rule(
        "/change-requests/<int:request_id>/reject",
        "change_requests_reject",
        reject_change_request,
        methods=["POST"],
    )


# ---------------------------------------------------------------- OpenAPI fragment

_ERR = {"$ref": "#/components/schemas/Error"}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_CR = {"$ref": "#/components/schemas/ChangeRequest"}


def _errors(*pairs: tuple[int, str]) -> dict[str, Any]:
    return {
        str(code): {"description": text, "content": {"application/json": {"schema": _ERR}}}
        for code, text in pairs
    }


def _ok(code: str, text: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {code: {"description": text, "content": {"application/json": {"schema": schema}}}}


_AUTH = ((401, "Missing or bad token"), (403, "Scope missing"))
_ID = {"name": "request_id", "in": "path", "required": True, "schema": {"type": "integer"}}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "ChangeRequest": {
        "type": "object",
        "required": [
            "id",
            "change_type",
            "person_spid",
            "household_id",
            "old_value",
            "new_value",
            "status",
            "reason",
            "registry_reason_code",
            "source",
            "created_at",
            "decided_by",
            "decided_at",
            "applied_at",
            "evidence",
        ],
        "properties": {
            "id": {"type": "integer"},
            "change_type": {"enum": list(change_requests.CHANGE_TYPES)},
            "person_spid": {"type": ["string", "null"]},
            "household_id": {"type": ["string", "null"]},
            "old_value": {},
            "new_value": {},
            "status": {"enum": list(STATUSES)},
            "reason": {"type": ["string", "null"]},
            "registry_reason_code": {"type": ["string", "null"]},
            "source": {"enum": list(change_requests.SOURCES)},
            "created_at": _TIME,
            "decided_by": {"type": ["string", "null"]},
            "decided_at": _TIME,
            "applied_at": _TIME,
            "evidence": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["filename", "content_type", "size_bytes", "sha256", "exif_stripped"],
                    "properties": {
                        "filename": {"type": "string"},
                        "content_type": {"type": "string"},
                        "size_bytes": {"type": "integer"},
                        "sha256": {"type": "string"},
                        "exif_stripped": {"type": "boolean"},
                    },
                },
            },
        },
    },
    "ChangeRequestCreate": {
        "type": "object",
        "required": ["change_type"],
        "properties": {
            "change_type": {"enum": list(change_requests.CHANGE_TYPES)},
            "person_spid": {"type": "string"},
            "household_id": {"type": "string"},
            "old_value": {
                "description": "What the registry holds now (checked when applied); null = no check"
            },
            "new_value": {
                "description": "phone: E.164 text; address: {province_code, district_code, "
                "commune_code, village_code, line}; name: {surname, given_name}; "
                "birth_date: YYYY-MM-DD; member_birth: {surname, given_name, sex, "
                "birth_date}; member_death: {death_date}"
            },
            "source": {"enum": list(change_requests.SOURCES), "default": "api"},
            "reply": {
                "type": "object",
                "required": ["address"],
                "properties": {"channel": {"enum": ["sms", "telegram"]}, "address": {"type": "string"}},
            },
            "locale": {"enum": ["km", "en"]},
            "notify": {"type": "boolean", "default": False},
        },
    },
    "ChangeRequestList": {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": _CR}},
    },
    "Rejection": {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}},
}

OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/change-requests": {
        "get": {
            "summary": "List change requests (audited)",
            "security": [{"bearerAuth": []}],
            "parameters": [
                {"name": "status", "in": "query", "schema": {"enum": list(STATUSES)}},
                {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                {"name": "offset", "in": "query", "schema": {"type": "integer"}},
            ],
            "responses": {
                **_ok(
                    "200", "Change requests, oldest first", {"$ref": "#/components/schemas/ChangeRequestList"}
                ),
                **_errors((400, "Invalid request"), *_AUTH),
            },
        },
        "post": {
            "summary": "Create a change request (pending until an officer decides)",
            "security": [{"bearerAuth": []}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ChangeRequestCreate"}}
                },
            },
            "responses": {**_ok("201", "Created", _CR), **_errors((400, "Invalid request"), *_AUTH)},
        },
    },
    "/api/v1/change-requests/{request_id}": {
        "get": {
            "summary": "One change request (audited)",
            "security": [{"bearerAuth": []}],
            "parameters": [_ID],
            "responses": {
                **_ok("200", "The change request", _CR),
                **_errors(*_AUTH, (404, "No such request")),
            },
        }
    },
    "/api/v1/change-requests/{request_id}/approve": {
        "post": {
            "summary": "Approve: apply the change to the registry, then tell the citizen",
            "security": [{"bearerAuth": []}],
            "parameters": [_ID],
            "responses": {
                **_ok("200", "Approved and applied", _CR),
                **_errors(
                    *_AUTH,
                    (404, "No such request"),
                    (409, "Not pending"),
                    (422, "The registry refused the change (still pending)"),
                    (502, "Registry error"),
                    (503, "Registry unavailable"),
                ),
            },
        }
    },
    "/api/v1/change-requests/{request_id}/reject": {
        "post": {
            "summary": "Reject with a reason (told to the citizen)",
            "security": [{"bearerAuth": []}],
            "parameters": [_ID],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Rejection"}}},
            },
            "responses": {
                **_ok("200", "Rejected", _CR),
                **_errors((400, "Reason missing"), *_AUTH, (404, "No such request"), (409, "Not pending")),
            },
        }
    },
}
