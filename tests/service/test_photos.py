"""Stop photos are told by their first bytes, not by their name or the browser's type; their
JPEG previews are upright, downscaled and readable by every browser."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from service.photos import HEIC, JPEG, PNG, PhotoPreviewError, image_type, preview_jpeg


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


def _heic(image: Image.Image) -> bytes:
    """``image`` encoded as HEIC, as an iPhone stores a photo (pillow-heif's x265 encoder)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    image.save(buf, format="HEIF", quality=90)
    return buf.getvalue()


def _halves(size: tuple[int, int]) -> Image.Image:
    """Left half red, right half blue: a preview turned or mirrored would show it."""
    image = Image.new("RGB", size, (220, 30, 30))
    image.paste((30, 30, 220), (size[0] // 2, 0, size[0], size[1]))
    return image


def _colour(image: Image.Image, xy: tuple[int, int]) -> str:
    """The colour at ``xy`` by name: white, or the channel that stands out (lossy JPEG/HEIC)."""
    pixel = image.convert("RGB").getpixel(xy)
    assert isinstance(pixel, tuple)
    if min(pixel) > 230:
        return "white"
    return ("red", "green", "blue")[max(range(3), key=lambda i: pixel[i] - sum(pixel) / 3)]


def _opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_heic_preview_is_a_downscaled_jpeg_the_right_way_round():
    heic = _heic(_halves((1600, 1200)))
    assert image_type(heic) == HEIC
    preview = _opened(preview_jpeg(heic))
    assert preview.format == "JPEG"
    assert preview.size == (1024, 768)
    assert _colour(preview, (100, 384)) == "red"
    assert _colour(preview, (924, 384)) == "blue"


def test_a_png_preview_keeps_a_small_size_and_lays_transparency_on_white():
    image = Image.new("RGBA", (300, 200), (30, 120, 30, 255))
    image.paste((0, 0, 0, 0), (0, 0, 100, 200))  # the left third transparent
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    preview = _opened(preview_jpeg(buf.getvalue()))
    assert preview.format == "JPEG"
    assert preview.size == (300, 200)  # never enlarged
    assert _colour(preview, (50, 100)) == "white"
    assert _colour(preview, (250, 100)) == "green"
    assert _opened(preview_jpeg(buf.getvalue(), longest=150)).size == (150, 100)


def test_a_jpeg_preview_is_turned_upright_by_its_exif_orientation():
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was held upright: rotate 90 degrees clockwise to show
    buf = io.BytesIO()
    _halves((400, 200)).save(buf, format="JPEG", exif=exif)
    preview = _opened(preview_jpeg(buf.getvalue()))
    assert preview.size == (200, 400)
    assert _colour(preview, (100, 50)) == "red"  # the left (red) half is now on top
    assert _colour(preview, (100, 350)) == "blue"


def test_a_photo_that_cannot_be_decoded_has_no_preview():
    torn = _heic(_halves((64, 48)))[:300]
    assert image_type(torn) == HEIC  # accepted at upload by its first bytes...
    for data in (torn, b"\x00\x00\x00\x18ftypheic" + bytes(100), _encoded("PNG")[:40]):
        with pytest.raises(PhotoPreviewError):  # ...but no preview can be made of it
            preview_jpeg(data)
    with pytest.raises(ValueError, match="longest must be at least 1 pixel, got 0"):
        preview_jpeg(_encoded("PNG"), longest=0)
