"""Officer accounts (argon2id password hashes) and API bearer tokens (SHA-256 of a 256-bit random
token; the token itself is shown once, at creation)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models.base import utcnow
from portal.models.cases import LEVELS, OFFICER_ROLES, ApiToken, Officer
from portal.services import audit
from portal.services.grievance_catalogue import AGENCIES
from portal.services.working_time import aware_utc

SCOPES = (
    "grievances:read", "grievances:write",
    "change_requests:read", "change_requests:write", "change_requests:decide",
    "eligibility:read", "entitlements:read",
)
ALL_SCOPES = "*"
TOKEN_PREFIX = "chn_"  # noqa: S105 (a public prefix, not a secret)
_hasher = PasswordHasher()


class OfficerError(ValueError):
    pass


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _default_level(role: str, area_code: str | None) -> str:
    if role in ("national_officer", "admin") or not area_code:
        return "national"
    if role == "supervisor":
        return "province"
    return {2: "province", 4: "district", 6: "commune"}.get(len(area_code), "commune")


def create_officer(session: Session, *, login: str, name: str, password: str, role: str,
                   area_code: str | None = None, level: str | None = None, agency: str | None = None,
                   phone: str | None = None, locale: str = "km", actor: str = "cli") -> Officer:
    login = login.strip().lower()
    if not login or not name.strip():
        raise OfficerError("login and name are required")
    if role not in OFFICER_ROLES:
        raise OfficerError(f"role must be one of {OFFICER_ROLES}")
    if len(password) < 10:
        raise OfficerError("the password must have at least 10 characters")
    if agency is not None and agency not in AGENCIES:
        raise OfficerError(f"agency must be one of {AGENCIES}")
    if role != "admin" and agency is None:
        raise OfficerError("officers, supervisors and national officers belong to one agency")
    if area_code is not None and not (area_code.isdigit() and len(area_code) in (2, 4, 6)):
        raise OfficerError("area code is a 2-, 4- or 6-digit gazetteer code")
    if role == "supervisor" and (area_code is None or len(area_code) != 2):
        raise OfficerError("a supervisor has a province (2-digit area code)")
    level = level or _default_level(role, area_code)
    if level not in LEVELS:
        raise OfficerError(f"level must be one of {LEVELS}")
    if session.scalar(select(Officer.id).where(Officer.login == login)) is not None:
        raise OfficerError(f"login {login!r} exists")
    officer = Officer(login=login, name=name.strip(), password_hash=hash_password(password), role=role,
                      level=level, area_code=area_code, agency=agency, phone=phone,
                      locale=locale if locale in ("km", "en") else "km", active=True)
    session.add(officer)
    session.flush()
    audit.record(session, actor=actor, action="create_officer", subject_type="officer",
                 subject_id=str(officer.id), detail={"role": role})
    session.commit()
    return officer


def authenticate(session: Session, login: str, password: str) -> Officer | None:
    officer = session.scalar(select(Officer).where(Officer.login == login.strip().lower()))
    if officer is None or not officer.active:
        hash_password(password)  # same cost whether or not the login exists
        return None
    if not verify_password(officer.password_hash, password):
        officer.failed_logins += 1
        session.commit()
        return None
    officer.failed_logins, officer.last_login_at = 0, utcnow()
    session.commit()
    return officer


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, *, name: str, scopes: tuple[str, ...] | list[str] = (ALL_SCOPES,),
                 officer_id: int | None = None, actor: str = "cli") -> tuple[ApiToken, str]:
    """A new token; returns the row and the token text (shown once, never stored)."""
    unknown = [s for s in scopes if s != ALL_SCOPES and s not in SCOPES]
    if unknown or not scopes:
        raise OfficerError(f"unknown scope(s) {unknown}; known: {SCOPES} or '*'")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name.strip() or "token", token_hash=_digest(token), prefix=token[:10],
                   scopes=" ".join(scopes), officer_id=officer_id)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="create_token", subject_type="api_token",
                 subject_id=str(row.id), detail={"name": row.name, "scopes": row.scopes})
    session.commit()
    return row, token


def token_for(session: Session, token: str, now: datetime | None = None) -> ApiToken | None:
    """The live token row for a presented bearer token (last use recorded), else None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None:
        return None
    row.last_used_at = aware_utc(now) if now else utcnow()
    session.commit()
    return row


def has_scope(row: ApiToken, scope: str) -> bool:
    granted = row.scopes.split()
    return ALL_SCOPES in granted or scope in granted


def revoke_token(session: Session, token_id: int, actor: str = "cli") -> None:
    row = session.get(ApiToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, actor=actor, action="revoke_token", subject_type="api_token",
                     subject_id=str(token_id))
        session.commit()
