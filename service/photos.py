"""Photos of stops ticked done by hand: what an upload is, told by its first bytes.

A phone camera gives JPEG, PNG or (iPhone) HEIC; the file name and the browser's content type
say nothing reliable, so the type comes from the magic bytes and the photo is kept as uploaded.
"""

from __future__ import annotations

from typing import Final

JPEG: Final = "image/jpeg"
PNG: Final = "image/png"
HEIC: Final = "image/heic"

# ISO base media brands of HEIF/HEIC stills (the "ftyp" box at byte 4).
_HEIF_BRANDS: Final = frozenset({b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1"})


def image_type(data: bytes) -> str | None:
    """The content type of a JPEG, PNG or HEIC image by its magic bytes, else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return HEIC
    return None


EXTENSIONS: Final = {JPEG: "jpg", PNG: "png", HEIC: "heic"}
