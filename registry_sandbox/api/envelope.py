"""The DCI envelope `{signature, header, message}`: lenient reading, strict writing.

Reading accepts any ISO 8601 offset (`Z` included) and omitted optional fields; it rejects what the
spec forbids (timestamps without an offset, a non-integer `total_count`, locales that are not three
lowercase letters, `transaction_id` over 99 characters, …) by raising `EnvelopeError` with the DCI
codes. Writing always emits `+07:00` timestamps, `version 1.0.0` and signs with the sandbox key.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from registry_client import signatures

CAMBODIA = timezone(timedelta(hours=7))
VERSION = "1.0.0"
LOCALE = "khm"
REG_TYPE = "ns:org:RegistryType:Social"
REG_TYPE_ALIASES = {"ns:org:registrytype:social", "social_registry", "social"}
LOCALE_PATTERN = re.compile(r"^[a-z]{3}$")
MAX_ID = 99
_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


class EnvelopeError(Exception):
    """A request the sandbox rejects as a whole.

    `code` is the `err.*` error code (HTTP 400 / ack ERR); `reason_code` the optional
    `MsgHeaderStatusReasonCode` for the rejecting callback header.
    """

    def __init__(self, message: str, code: str = "err.request.bad", reason_code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason_code = reason_code


def now_ts() -> str:
    return datetime.now(CAMBODIA).isoformat(timespec="seconds")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def parse_timestamp(value: object) -> datetime | None:
    """A timezone-aware datetime, or None when the value is not ISO 8601 with an offset."""
    if not isinstance(value, str) or "T" not in value.upper() or not _OFFSET.search(value.strip()):
        return None
    text = value.strip()
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def check_locale(value: object, where: str) -> None:
    if value is not None and (not isinstance(value, str) or not LOCALE_PATTERN.match(value)):
        raise EnvelopeError(f"{where}: locale must be ISO 639-3, three lowercase letters (e.g. khm)")


def check_reg_type(value: object) -> bool:
    return value is None or (
        isinstance(value, str) and (value == REG_TYPE or value.lower() in REG_TYPE_ALIASES)
    )


def read_header(body: object, expected_action: str | tuple[str, ...]) -> dict[str, Any]:
    """The validated request header (MsgHeader_V1.0.0)."""
    if not isinstance(body, dict):
        raise EnvelopeError("the body must be a JSON object with header and message")
    header = body.get("header")
    if not isinstance(header, dict):
        raise EnvelopeError("header is missing or not an object")
    for name in ("message_id", "action", "sender_id"):
        if not isinstance(header.get(name), str) or not header[name]:
            raise EnvelopeError(f"header.{name} is required and must be a non-empty string")
    if "version" in header and header["version"] != VERSION:
        raise EnvelopeError(
            f"version {header['version']!r} is not supported; use {VERSION}",
            code="err.version.not_supported",
            reason_code="rjct.version.invalid",
        )
    if parse_timestamp(header.get("message_ts")) is None:
        raise EnvelopeError(
            "header.message_ts must be an ISO 8601 date-time with a timezone offset",
            reason_code="rjct.message_ts.invalid",
        )
    actions = (expected_action,) if isinstance(expected_action, str) else expected_action
    if header["action"] not in actions:
        raise EnvelopeError(
            f"header.action must be {' or '.join(actions)} on this path", reason_code="rjct.action.invalid"
        )
    total = header.get("total_count")
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise EnvelopeError(
            "header.total_count is required and must be an integer", reason_code="rjct.total_count.invalid"
        )
    if header.get("is_msg_encrypted") is True:
        raise EnvelopeError(
            "encrypted messages (JWE) are not supported by this registry", code="err.encryption.invalid"
        )
    if "is_msg_encrypted" in header and not isinstance(header["is_msg_encrypted"], bool):
        raise EnvelopeError("header.is_msg_encrypted must be a boolean")
    if "sender_uri" in header and not isinstance(header["sender_uri"], str):
        raise EnvelopeError("header.sender_uri must be a URI string")
    if "meta" in header and not isinstance(header["meta"], dict):
        raise EnvelopeError("header.meta must be an object")
    for name in ("receiver_id",):
        if name in header and not isinstance(header[name], str):
            raise EnvelopeError(f"header.{name} must be a string")
    return header


def read_message(body: dict[str, Any]) -> dict[str, Any]:
    message = body.get("message")
    if not isinstance(message, dict):
        raise EnvelopeError("message is missing or not an object")
    transaction_id = message.get("transaction_id")
    if not isinstance(transaction_id, str) or not transaction_id or len(transaction_id) > MAX_ID:
        raise EnvelopeError("message.transaction_id is required: a string of at most 99 characters")
    return message


def read_batch(message: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The batch `message[key]`: a non-empty list of objects, each with a string `reference_id`."""
    items = message.get(key)
    if not isinstance(items, list) or not items:
        raise EnvelopeError(f"message.{key} must be a non-empty array")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise EnvelopeError(f"message.{key}[{index}] must be an object")
        if not isinstance(item.get("reference_id"), str) or not item["reference_id"]:
            raise EnvelopeError(f"message.{key}[{index}].reference_id is required and must be a string")
        check_locale(item.get("locale"), f"message.{key}[{index}]")
    return items


def callback_header(
    action: str,
    status: str,
    request_header: dict[str, Any] | None,
    sender_id: str,
    total: int = 0,
    completed: int = 0,
    reason_code: str | None = None,
    reason_message: str | None = None,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A header valid both as MsgCallbackHeader_V1.0.0 and MsgHeader_V1.0.0 (on-subscribe uses it)."""
    header: dict[str, Any] = {
        "version": VERSION,
        "message_id": str(uuid.uuid4()),
        "message_ts": now_ts(),
        "action": action,
        "status": status,
        "total_count": total,
        "completed_count": completed,
        "sender_id": sender_id,
        "is_msg_encrypted": False,
    }
    if request_header and isinstance(request_header.get("sender_id"), str):
        header["receiver_id"] = request_header["sender_id"]
    if reason_code:
        header["status_reason_code"] = reason_code
    if reason_message:
        header["status_reason_message"] = reason_message[:999]
    if meta:
        header["meta"] = meta
    return header


def signed(
    header: dict[str, Any],
    message: dict[str, Any] | None,
    keys,
    sender_id: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The envelope, signed with the sandbox key (`keys` is a SandboxKeys)."""
    envelope: dict[str, Any] = {
        "signature": signatures.sign(header, message, keys.private_key, sender_id, keys.key_id),
        "header": header,
    }
    if message is not None:
        envelope["message"] = message
    if extra:
        envelope.update(extra)
    return envelope


def ack(status: str, correlation_id: str, error: tuple[str, str] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"ack_status": status, "timestamp": now_ts(), "correlation_id": correlation_id}
    if error:
        message["error"] = {"code": error[0], "message": error[1][:999]}
    return {"message": message}


def http_errors(code: str, message: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message[:999]}]}


def render_datetime(value: datetime | None) -> str | None:
    """A stored date-time (naive = Cambodian local time) as ISO 8601 with `+07:00`."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=CAMBODIA)
    return value.astimezone(CAMBODIA).isoformat(timespec="seconds")
