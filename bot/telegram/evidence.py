"""Photos as evidence (SPEC §7, §14): size and content-type checks, metadata (EXIF) stripped, bytes
stored in `evidence_blobs`, linked to a grievance (`grievance_evidence` + a timeline event the
officer sees) or to a change request (E1's `change_evidence`).

Pillow is not installed, so metadata is removed at the container level: JPEG APP1 (EXIF, XMP) and
APP13 (IPTC) segments are dropped, PNG eXIf/tEXt/iTXt/zTXt chunks likewise. The image data itself is
copied unchanged.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

MAX_BYTES = 5 * 1024 * 1024
JPEG, PNG = "image/jpeg", "image/png"
ALLOWED = (JPEG, PNG)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_DROPPED_MARKERS = frozenset({0xE1, 0xED})
"""APP1 (EXIF, XMP) and APP13 (Photoshop IRB / IPTC)."""
PNG_DROPPED_CHUNKS = frozenset({b"eXIf", b"tEXt", b"iTXt", b"zTXt"})


class EvidenceRejected(ValueError):
    """`reason` is `too_big` or `type`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sniff(data: bytes) -> str | None:
    """The content type from the magic bytes (never trust a declared type)."""
    if data[:3] == b"\xff\xd8\xff":
        return JPEG
    if data[:8] == PNG_SIGNATURE:
        return PNG
    return None


def strip_jpeg_metadata(data: bytes) -> bytes:
    """`data` without APP1/APP13 segments. Raises EvidenceRejected on a malformed file."""
    if data[:2] != b"\xff\xd8":
        raise EvidenceRejected("type")
    out = bytearray(b"\xff\xd8")
    index = 2
    while index < len(data):
        if data[index] != 0xFF:
            raise EvidenceRejected("type")
        marker = data[index + 1] if index + 1 < len(data) else None
        if marker is None:
            raise EvidenceRejected("type")
        if marker == 0xFF:  # fill byte
            index += 1
            continue
        if marker == 0xD9 or 0xD0 <= marker <= 0xD7 or marker == 0x01:  # no length
            out += data[index:index + 2]
            index += 2
            if marker == 0xD9:
                break
            continue
        if index + 4 > len(data):
            raise EvidenceRejected("type")
        (length,) = struct.unpack(">H", data[index + 2:index + 4])
        end = index + 2 + length
        if length < 2 or end > len(data):
            raise EvidenceRejected("type")
        if marker == 0xDA:  # start of scan: the rest is entropy-coded image data
            out += data[index:]
            return bytes(out)
        if marker not in JPEG_DROPPED_MARKERS:
            out += data[index:end]
        index = end
    return bytes(out)


def strip_png_metadata(data: bytes) -> bytes:
    if data[:8] != PNG_SIGNATURE:
        raise EvidenceRejected("type")
    out = bytearray(PNG_SIGNATURE)
    index = 8
    while index + 8 <= len(data):
        (length,) = struct.unpack(">I", data[index:index + 4])
        kind = data[index + 4:index + 8]
        end = index + 12 + length
        if end > len(data):
            raise EvidenceRejected("type")
        if kind not in PNG_DROPPED_CHUNKS:
            out += data[index:end]
        index = end
        if kind == b"IEND":
            break
    return bytes(out)


@dataclass(frozen=True)
class StoredEvidence:
    blob_id: int
    content_type: str
    size_bytes: int
    sha256: str
    filename: str

    @property
    def storage_key(self) -> str:
        return f"db:evidence_blobs/{self.blob_id}"


def clean(data: bytes, *, max_bytes: int = MAX_BYTES) -> tuple[bytes, str]:
    """Checked and stripped bytes with their sniffed content type."""
    if len(data) > max_bytes:
        raise EvidenceRejected("too_big")
    content_type = sniff(data)
    if content_type not in ALLOWED:
        raise EvidenceRejected("type")
    stripped = strip_jpeg_metadata(data) if content_type == JPEG else strip_png_metadata(data)
    return stripped, content_type


def store(session: Session, data: bytes, now: datetime, *, max_bytes: int = MAX_BYTES) -> StoredEvidence:
    """Check, strip and store one file (flushed, not committed)."""
    from portal.models.telegram import EvidenceBlob

    stripped, content_type = clean(data, max_bytes=max_bytes)
    digest = hashlib.sha256(stripped).hexdigest()
    blob = EvidenceBlob(sha256=digest, content_type=content_type, size_bytes=len(stripped), data=stripped,
                        created_at=now)
    session.add(blob)
    session.flush()
    extension = "jpg" if content_type == JPEG else "png"
    return StoredEvidence(blob.id, content_type, len(stripped), digest, f"photo-{blob.id}.{extension}")


def load(session: Session, blob_id: int) -> StoredEvidence | None:
    from portal.models.telegram import EvidenceBlob

    blob = session.get(EvidenceBlob, blob_id)
    if blob is None:
        return None
    extension = "jpg" if blob.content_type == JPEG else "png"
    return StoredEvidence(blob.id, blob.content_type, blob.size_bytes, blob.sha256,
                          f"photo-{blob.id}.{extension}")


def read_bytes(session: Session, storage_key: str) -> bytes | None:
    """The stored bytes behind a `storage_key` (for the officer portal)."""
    from portal.models.telegram import EvidenceBlob

    prefix = "db:evidence_blobs/"
    if not storage_key.startswith(prefix) or not storage_key[len(prefix):].isdigit():
        return None
    blob = session.get(EvidenceBlob, int(storage_key[len(prefix):]))
    return None if blob is None else bytes(blob.data)


def attach_to_grievance(session: Session, grievance_id: int, item: StoredEvidence, now: datetime) -> None:
    """Link the file to the grievance and put it on the case timeline (`evidence` event)."""
    from portal.models.cases import Grievance, GrievanceEvent
    from portal.models.telegram import GrievanceEvidence

    grievance = session.get(Grievance, grievance_id)
    if grievance is None:
        return
    row = GrievanceEvidence(grievance_id=grievance_id, filename=item.filename, content_type=item.content_type,
                            size_bytes=item.size_bytes, sha256=item.sha256, storage_key=item.storage_key,
                            exif_stripped=True, source="telegram", created_at=now)
    session.add(row)
    session.flush()
    grievance.events.append(GrievanceEvent(actor="citizen", type="evidence", at=now, payload={
        "evidence_id": row.id, "storage_key": item.storage_key, "content_type": item.content_type,
        "size_bytes": item.size_bytes}))
    grievance.updated_at = now


def attach_to_change_request(session: Session, request_id: int, item: StoredEvidence, now: datetime) -> None:
    from portal.models.cases import ChangeEvidence, ChangeRequest

    request = session.get(ChangeRequest, request_id)
    if request is None:
        return
    request.evidence.append(ChangeEvidence(
        filename=item.filename, content_type=item.content_type, size_bytes=item.size_bytes,
        sha256=item.sha256, storage_key=item.storage_key, exif_stripped=True, source="telegram",
        created_at=now))


def grievance_evidence(session: Session, grievance_id: int) -> list:  # type: ignore[type-arg]
    """The evidence rows of a grievance, oldest first (for officer views)."""
    from portal.models.telegram import GrievanceEvidence

    query = select(GrievanceEvidence).where(GrievanceEvidence.grievance_id == grievance_id)
    return list(session.scalars(query.order_by(GrievanceEvidence.id)))
