"""`/api/v1`: the JSON API (SPEC §11).

- Every endpoint but `/api/v1/openapi.json` needs `Authorization: Bearer <token>` (`chumnuoy tokens
  create`; only a SHA-256 of the token is stored). Missing → 401 `unauthorized`, unknown or revoked →
  401 `invalid_token`, lacking the endpoint's scope → 403 `insufficient_scope`.
- Every error body is `{"error": {"code", "message"}}`, also for unknown paths and methods under
  /api/ and for unexpected failures.
- The OpenAPI 3.1 document is assembled from each API module's `OPENAPI_PATHS` and `OPENAPI_SCHEMAS`;
  each module exposes `register(bp)` to add its routes. Modules: grievances, change_requests (E1),
  eligibility, entitlements (E2) — a module not present yet is skipped.
"""

from __future__ import annotations

import importlib
import logging
from types import ModuleType
from typing import Any

from flask import Blueprint, Flask, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from portal.services.officers import has_scope, token_for

log = logging.getLogger("chumnuoy.api")

API_MODULES = ("grievances", "change_requests", "eligibility", "entitlements")
ENDPOINT_SCOPES = {
    "grievances_create": "grievances:write",
    "grievances_status": "grievances:read",
    "grievances_lookup": "grievances:read",
    "change_requests_list": "change_requests:read",
    "change_requests_get": "change_requests:read",
    "change_requests_create": "change_requests:write",
    "change_requests_approve": "change_requests:decide",
    "change_requests_reject": "change_requests:decide",
    "eligibility": "eligibility:read",
    "entitlements_get": "entitlements:read",
    "entitlements_post": "entitlements:read",
}
"""Endpoint name → scope it needs; an endpoint not listed needs any valid token."""

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    response = jsonify(error={"code": code, "message": message})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def api_modules() -> list[ModuleType]:
    modules = []
    for name in API_MODULES:
        try:
            modules.append(importlib.import_module(f"portal.api.{name}"))
        except ModuleNotFoundError as error:
            if error.name != f"portal.api.{name}":
                raise
    return modules


def db_session():  # type: ignore[no-untyped-def]
    return current_app.extensions["db_sessionmaker"]()


def registry_of_app():  # type: ignore[no-untyped-def]
    """The app's registry client (one per process, shared with the other API modules)."""
    registry = current_app.extensions.get("registry")
    if registry is None:
        from registry_client.client import RegistryClient

        registry = RegistryClient(current_app.config["CHUMNUOY_SETTINGS"])
        current_app.extensions["registry"] = registry
    return registry


def api_actor() -> str:
    token = getattr(g, "api_token", None)
    return f"api:{token.name}" if token is not None else "api:unknown"


def openapi_document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/api/v1/openapi.json": {
            "get": {
                "summary": "This OpenAPI document (public)",
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1 document",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for module in api_modules():
        for path, operations in getattr(module, "OPENAPI_PATHS", {}).items():
            paths.setdefault(path, {}).update(operations)
        schemas.update(getattr(module, "OPENAPI_SCHEMAS", {}))
    schemas["Error"] = ERROR_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Chumnuoy portal API",
            "version": "1.0.0",
            "description": "Citizen self-service for Cambodia's social protection system: grievances, "
            "change requests, eligibility and entitlements. Bearer tokens from "
            "`chumnuoy tokens create`.",
        },
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


def create_blueprint() -> Blueprint:
    bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")

    @bp.before_request
    def authenticate():  # type: ignore[no-untyped-def]
        endpoint = (request.endpoint or "").removeprefix("api_v1.")
        if endpoint == "openapi":
            return None
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        challenge = {"WWW-Authenticate": 'Bearer realm="chumnuoy"'}
        if scheme.lower() != "bearer" or not token.strip():
            return error_response(401, "unauthorized", "a bearer token is required", challenge)
        with db_session() as session:
            row = token_for(session, token.strip())
        if row is None:
            return error_response(401, "invalid_token", "the token is unknown or revoked", challenge)
        scope = ENDPOINT_SCOPES.get(endpoint)
        if scope and not has_scope(row, scope):
            return error_response(403, "insufficient_scope", f"this token lacks the scope {scope}")
        g.api_token = row
        return None

    @bp.get("/openapi.json")
    def openapi():  # type: ignore[no-untyped-def]
        return jsonify(openapi_document())

    for module in api_modules():
        module.register(bp)
    return bp


def register_api(app: Flask) -> None:
    app.register_blueprint(create_blueprint())

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        if request.path.startswith("/api/"):
            code = (error.name or "error").lower().replace(" ", "_")
            return error_response(error.code or 500, code, error.description or error.name)
        return error

    @app.errorhandler(Exception)
    def unexpected(error: Exception):  # type: ignore[no-untyped-def]
        if isinstance(error, HTTPException):
            return http_error(error)
        log.exception("unhandled error on %s", request.path)
        if request.path.startswith("/api/"):
            return error_response(500, "internal_error", "unexpected error; it was logged")
        return "Internal Server Error", 500
