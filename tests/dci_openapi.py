"""Validate DCI bodies against the OpenAPI files in the shared folder (tests only).

    validate_request("/registry/sync/search", body)                 # what a caller POSTs
    validate_response("/registry/sync/search", 200, body)           # what the registry answers
    validate_callback("on-search", body)                            # what the registry POSTs back
    validate_request("/registry/sync/enrolled", body, spec="ibr")

Each raises `DciSchemaError` (an AssertionError) listing every violation. Spec names: "social"
(openspp-spdci-compliance/social_api_v1.0.0.yaml, the corrected SR file), "ibr", "authz", "jwks"
(spdci-standards). The shared folder is `<repo>/../shared/dci` or `$CHUMNUOY_SHARED_DIR/dci`.

Choices where the files are defective or silent:
- a response status the operation does not list falls back to `default`; with no `default` it is a
  violation ("undocumented status");
- the IBR file's `default` response of /registry/sync/enrolled points at a *schema*
  (EnrolledResponse) instead of a response object: we read it as an envelope whose `message` is
  that schema and whose `header` is MsgCallbackHeader_V1.0.0;
- `query` of a search item is an `anyOf` the validator cannot discriminate (upstream issue #45), so
  we also check the branch that `query_type` names (idtype-value / expression / predicate);
- formats are checked (date-time needs an offset, via rfc3339-validator).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema.exceptions import best_match
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_FILES = {
    "social": "openspp-spdci-compliance/social_api_v1.0.0.yaml",
    "ibr": "spdci-standards/ibr_api_v1.0.0.yaml",
    "authz": "spdci-standards/authz_core_api_v1.0.0.yaml",
    "jwks": "spdci-standards/jwks_core_api_v1.0.0.yaml",
}

# Callback actions → the caller-side path whose request body they are (social spec).
CALLBACK_PATHS = {
    "on-search": "/registry/on-search",
    "on-subscribe": "/registry/on-subscribe",
    "on-unsubscribe": "/registry/on-unsubscribe",
    "notify": "/registry/notify",
    "txn-on-status": "/registry/txn/on-status",
    "on-status": "/registry/txn/on-status",
}

_QUERY_BRANCHES = {
    # query_type → JSON pointer of the branch of SearchRequest...query.anyOf it must satisfy
    "expression": "#/components/schemas/SearchRequest/properties/search_request/items/properties/"
    "search_criteria/properties/query/anyOf/0",
    "idtype-value": "#/components/schemas/SubscriptionInfo/properties/filter/anyOf/1",
    "predicate": "#/components/schemas/SubscriptionInfo/properties/filter/anyOf/2",
}


class DciSchemaError(AssertionError):
    """A body does not conform to the DCI OpenAPI file."""


def shared_dci_dir() -> Path:
    override = os.environ.get("CHUMNUOY_SHARED_DIR")
    if override:
        return Path(override) / "dci"
    return Path(__file__).resolve().parents[2] / "shared" / "dci"


@cache
def _document(spec: str) -> dict[str, Any]:
    if spec not in SPEC_FILES:
        raise ValueError(f"unknown spec {spec!r}; one of {sorted(SPEC_FILES)}")
    path = shared_dci_dir() / SPEC_FILES[spec]
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _uri(spec: str) -> str:
    return f"urn:chumnuoy:dci:{spec}"


@cache
def _registry(spec: str) -> Registry:
    resource: Resource = DRAFT4.create_resource(_document(spec))
    return Registry().with_resource(_uri(spec), resource)


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def _resolve(spec: str, node: dict[str, Any]) -> dict[str, Any]:
    """Follow a (non-schema) `$ref` such as a response object reference."""
    while "$ref" in node:
        ref = node["$ref"]
        node = _registry(spec).resolver(_uri(spec)).lookup(ref).contents
    return node


def _check(spec: str, pointer: str, body: object, what: str) -> None:
    validator = OAS30Validator(
        {"$ref": _uri(spec) + pointer}, registry=_registry(spec), format_checker=oas30_format_checker
    )
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{what}: {len(errors)} violation(s)"]
        for error in errors[:10]:
            location = "/".join(str(p) for p in error.absolute_path) or "(root)"
            detail = best_match([error])
            lines.append(f"  at {location}: {detail.message[:400]}")
        raise DciSchemaError("\n".join(lines))


def _operation(spec: str, path: str, method: str) -> dict[str, Any]:
    paths = _document(spec)["paths"]
    if path not in paths or method not in paths[path]:
        raise DciSchemaError(f"{method.upper()} {path} is not an operation of the {spec} spec")
    return paths[path][method]


def _check_queries(spec: str, body: object) -> None:
    """The `query_type`-named branch of each search item's ambiguous `query`."""
    if spec != "social" or not isinstance(body, dict):
        return
    message = body.get("message")
    items = message.get("search_request") if isinstance(message, dict) else None
    for index, item in enumerate(items if isinstance(items, list) else []):
        criteria = item.get("search_criteria") if isinstance(item, dict) else None
        if not isinstance(criteria, dict) or criteria.get("query_type") not in _QUERY_BRANCHES:
            continue
        _check(
            spec,
            _QUERY_BRANCHES[criteria["query_type"]],
            criteria.get("query"),
            f"search_request[{index}].query as {criteria['query_type']}",
        )


def validate_request(
    path: str, body: dict, spec: str = "social", method: str = "post", content_type: str = "application/json"
) -> None:
    operation = _operation(spec, path, method)
    content = operation.get("requestBody", {}).get("content", {})
    if content_type not in content:
        raise DciSchemaError(f"{path}: request content type {content_type} is not allowed")
    pointer = _pointer("paths", path, method, "requestBody", "content", content_type, "schema")
    _check(spec, pointer, body, f"request {path}")
    _check_queries(spec, body)


def validate_response(
    path: str,
    status: int,
    body: dict,
    spec: str = "social",
    content_type: str = "application/json",
    method: str | None = None,
) -> None:
    paths = _document(spec)["paths"]
    if path not in paths:
        raise DciSchemaError(f"{path} is not a path of the {spec} spec")
    method = method or ("get" if "get" in paths[path] and "post" not in paths[path] else "post")
    responses = _operation(spec, path, method)["responses"]
    key = str(status) if str(status) in responses else "default" if "default" in responses else None
    if key is None:
        raise DciSchemaError(f"{path}: status {status} is undocumented (responses {sorted(responses)})")
    response = _resolve(spec, responses[key])
    if "content" not in response and ("properties" in response or "type" in response):
        # IBR defect: a schema used as a response; read it as the envelope's message.
        ref = responses[key]["$ref"]
        _check(
            spec,
            _pointer("components", "schemas", "MsgCallbackHeader_V1.0.0"),
            body.get("header"),
            f"response {path} {status} header",
        )
        _check(spec, ref, body.get("message"), f"response {path} {status} message")
        return
    content = response.get("content", {})
    if content_type not in content:
        raise DciSchemaError(f"{path}: response content type {content_type} is not documented for {key}")
    if "$ref" in responses[key]:
        pointer = (
            responses[key]["$ref"] + "/" + "/".join(["content", content_type.replace("/", "~1"), "schema"])
        )
    else:
        pointer = _pointer("paths", path, method, "responses", key, "content", content_type, "schema")
    _check(spec, pointer, body, f"response {path} {status}")


def validate_callback(action: str, body: dict) -> None:
    """A body the registry POSTs to the caller's `sender_uri` (on-search, notify, …)."""
    if action not in CALLBACK_PATHS:
        raise DciSchemaError(f"unknown callback action {action!r}")
    validate_request(CALLBACK_PATHS[action], body)
    header = body.get("header") or {}
    expected = "txn-on-status" if action == "on-status" else action
    if header.get("action") != expected:
        raise DciSchemaError(f"callback header.action is {header.get('action')!r}, expected {expected!r}")


def validate_schema(name: str, body: object, spec: str = "social") -> None:
    """Validate against a named component schema (e.g. "SearchResponse")."""
    _check(spec, _pointer("components", "schemas", name), body, f"schema {name}")
