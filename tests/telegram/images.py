"""Small image files built by hand for the evidence tests (no Pillow)."""

from __future__ import annotations

import struct
import zlib

GPS_SECRET = b"GPS 11.5564N 104.9282E"


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with_exif() -> bytes:
    """SOI, APP0 (JFIF), APP1 (EXIF with a location), DQT, SOF0, SOS + scan data, EOI."""
    jfif = segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    exif = segment(0xE1, b"Exif\x00\x00MM\x00*\x00\x00\x00\x08" + GPS_SECRET)
    xmp = segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>Camera</x:xmpmeta>")
    dqt = segment(0xDB, b"\x00" + bytes(range(64)))
    sof = segment(0xC0, b"\x08\x00\x10\x00\x10\x01\x01\x11\x00")
    sos = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    scan = b"\x12\x34\xff\x00\x56\x78"  # entropy-coded data with a stuffed 0xFF00
    return b"\xff\xd8" + jfif + exif + xmp + dqt + sof + sos + scan + b"\xff\xd9"


def png_with_text() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    text = chunk(b"tEXt", b"Comment\x00" + GPS_SECRET)
    exif = chunk(b"eXIf", b"MM\x00*" + GPS_SECRET)
    data = chunk(b"IDAT", zlib.compress(b"\x00\x00"))
    return b"\x89PNG\r\n\x1a\n" + header + text + exif + data + chunk(b"IEND", b"")
