"""Accepting shopper photos: decide the type from the bytes, refuse what we cannot use, clean the rest.

Every refusal is an `ImageRejected` with the HTTP status and a sentence a shopper can act on.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
MIN_SIDE = 16


class ImageRejected(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str

    @property
    def storage_key(self) -> str:
        return f"photos/{self.sha256[:2]}/{self.sha256}.{EXTENSIONS[self.content_type]}"


def sniff(data: bytes) -> str | None:
    """The format the bytes really are, whatever the file name or header claimed."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp" and data[8:12] in {b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"heim", b"heis"}:
        return "heic"
    if data[4:8] == b"ftyp" and data[8:12] in {b"avif", b"avis"}:
        return "avif"
    if data[:6] in {b"GIF87a", b"GIF89a"}:
        return "gif"
    if data[:4] == b"%PDF":
        return "pdf"
    if data[:2] == b"BM":
        return "bmp"
    if data[:4] in {b"II*\x00", b"MM\x00*"}:
        return "tiff"
    return None


_UNSUPPORTED = {
    "heic": "HEIC photos (the iPhone default) are not accepted. Please send a JPEG: on iPhone set "
    "Settings > Camera > Formats > Most Compatible, or take a screenshot of the photo and send that.",
    "avif": "AVIF images are not accepted. Please send the photo as JPEG, PNG or WebP.",
    "gif": "GIF images are not accepted. Please send a photo as JPEG, PNG or WebP.",
    "pdf": "That is a PDF, not a photo. Please send a photo as JPEG, PNG or WebP.",
    "bmp": "BMP images are not accepted. Please send the photo as JPEG, PNG or WebP.",
    "tiff": "TIFF images are not accepted. Please send the photo as JPEG, PNG or WebP.",
}


def clean_image(data: bytes, *, max_bytes: int, max_pixels: int) -> CleanImage:
    if not data:
        raise ImageRejected(422, "The file is empty. Please choose a photo and try again.")
    if len(data) > max_bytes:
        raise ImageRejected(
            413, f"The photo is larger than {max_bytes // (1024 * 1024)} MB. Please send a smaller one."
        )
    kind = sniff(data)
    if kind is None:
        raise ImageRejected(415, "That file is not an image. Please send a photo as JPEG, PNG or WebP.")
    if kind not in ACCEPTED:
        raise ImageRejected(415, _UNSUPPORTED[kind])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            width, height = img.size
            if width * height > max_pixels:
                raise ImageRejected(
                    413,
                    f"The photo has {width * height / 1e6:.0f} megapixels; the limit is "
                    f"{max_pixels / 1e6:.0f}. Please send a smaller photo.",
                )
            fmt = (img.format or "").lower()
            if fmt == "mpo":
                # A JPEG with extra images after the photo (phone HDR gain maps, depth maps):
                # not an animation. The first image is the photo.
                fmt = "jpeg"
            elif getattr(img, "is_animated", False) or getattr(img, "n_frames", 1) > 1:
                raise ImageRejected(415, "Animated images are not accepted. Please send a still photo.")
            if fmt != kind:
                raise ImageRejected(422, "The file is damaged and cannot be read. Please send it again.")
            img.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(413, "The photo is too large to process. Please send a smaller one.") from None
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError):
        raise ImageRejected(
            422, "The photo is corrupt or incomplete (perhaps the upload was cut off). Please send it again."
        ) from None
    if min(width, height) < MIN_SIDE:
        raise ImageRejected(
            422, f"The photo is only {width}x{height} pixels. Please send a real photo of the item."
        )
    return _reencode(img, kind)


def _reencode(img: Image.Image, kind: str) -> CleanImage:
    """Apply EXIF orientation, then re-encode without any metadata (GPS, camera serials)."""
    img = ImageOps.exif_transpose(img)
    out = io.BytesIO()
    if kind == "jpeg":
        if img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        img.save(out, format="JPEG", quality=92, optimize=True)
    elif kind == "png":
        if img.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            img = img.convert("RGBA")
        img.save(out, format="PNG", optimize=False)
    else:
        if img.mode not in ("RGB", "RGBA"):
            img = img.convert("RGBA" if "A" in img.getbands() else "RGB")
        img.save(out, format="WEBP", quality=92)
    data = out.getvalue()
    return CleanImage(
        data=data,
        content_type=ACCEPTED[kind],
        width=img.width,
        height=img.height,
        sha256=hashlib.sha256(data).hexdigest(),
    )
