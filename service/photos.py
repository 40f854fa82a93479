"""Photos of stops ticked done by hand: what an upload is, told by its first bytes; previews.

A phone camera gives JPEG, PNG or (iPhone) HEIC; the file name and the browser's content type
say nothing reliable, so the type comes from the magic bytes and the photo is kept as uploaded.
Browsers other than Safari cannot draw HEIC, so pages show a preview: the photo turned upright,
downscaled and encoded as JPEG (Pillow, with pillow-heif for HEIC), made on demand and kept in
a small in-process cache by the original's SHA-256.
"""

from __future__ import annotations

import functools
import io
import logging
from typing import Final

from PIL import Image, ImageOps

from service.lru import LruCache

logger = logging.getLogger(__name__)

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

# Longest side of a preview: sharp on a phone held upright, a tenth of a 12 MP photo's bytes.
PREVIEW_PX: Final = 1024
PREVIEW_QUALITY: Final = 82
# Previews kept in memory (about 100-300 kB each).
PREVIEW_CACHE_SIZE: Final = 64


class PhotoPreviewError(ValueError):
    """A stored photo that cannot be decoded (a HEIC variant libheif cannot read, a torn file)."""


@functools.cache
def _register_heif() -> None:
    """Teach Pillow to open HEIC/HEIF (pillow-heif bundles libheif with its decoder)."""
    from pillow_heif import register_heif_opener  # on first use: pages need no libheif

    register_heif_opener()


def preview_jpeg(data: bytes, *, longest: int = PREVIEW_PX) -> bytes:
    """A JPEG of the photo ``data``, upright (EXIF orientation), longest side at most ``longest``.

    Transparency is laid on white. Raises PhotoPreviewError when the photo cannot be decoded.
    """
    if longest < 1:
        msg = f"longest must be at least 1 pixel, got {longest}"
        raise ValueError(msg)
    _register_heif()
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.draft("RGB", (longest, longest))  # JPEG: decode at a reduced scale
            image = ImageOps.exif_transpose(opened)
            image.thumbnail((longest, longest), Image.Resampling.LANCZOS)
            flat = _on_white(image)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        # What the decoders raise for a file they cannot read; the original stays served.
        logger.info("no preview of a stored photo: %s", exc)
        raise PhotoPreviewError(str(exc)) from None
    out = io.BytesIO()
    flat.save(out, format="JPEG", quality=PREVIEW_QUALITY, optimize=True)
    return out.getvalue()


def _on_white(image: Image.Image) -> Image.Image:
    """The image in RGB, any transparency composited on a white background."""
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")


_PREVIEWS: LruCache[str, bytes] = LruCache(PREVIEW_CACHE_SIZE)


def cached_preview(sha256: str, data: bytes) -> bytes:
    """:func:`preview_jpeg` of ``data``, remembered by its SHA-256 (least recently used out)."""
    return _PREVIEWS.get_or_make(sha256, lambda: preview_jpeg(data))
