"""Stop photos are told by their first bytes, not by their name or the browser's type."""

from __future__ import annotations

import io

from PIL import Image  # Pillow comes with matplotlib

from service.photos import HEIC, JPEG, PNG, image_type


def _encoded(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 3), (1, 2, 3)).save(buf, format=fmt)
    return buf.getvalue()


def test_jpeg_png_and_heic_are_told_by_their_magic_bytes():
    assert image_type(_encoded("JPEG")) == JPEG
    assert image_type(_encoded("PNG")) == PNG
    # An iPhone HEIC starts with an ISO box "ftyp" and the brand heic (or mif1).
    assert image_type(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic") == HEIC
    assert image_type(b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00") == HEIC


def test_other_files_are_not_photos():
    assert image_type(b"") is None
    assert image_type(b"<?xml version='1.0'?><gpx/>") is None
    assert image_type(_encoded("GIF")) is None
    assert image_type(b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00") is None  # an MP4 video
    assert image_type(_encoded("PNG")[1:]) is None  # a truncated header
