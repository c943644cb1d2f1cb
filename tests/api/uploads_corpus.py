"""A corpus of awkward and malformed uploads, made by code (nothing downloaded), each with its answer.

`CASES` is what test_uploads.py posts to `POST /api/v1/uploads`: the bytes, the file name and
content type the client claims, the status the API must answer and a fragment of its `detail`
sentence (refusals) or of the stored photo's properties (acceptances). The type is always
decided from the bytes, so several cases lie about their name or content type on purpose.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from PIL import ExifTags, Image, ImageDraw

MB = 1024 * 1024


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[], bytes]
    status: int
    detail: str = ""  # a fragment of the refusal sentence (case-insensitive)
    filename: str = "photo.jpg"
    content_type: str = "image/jpeg"
    stored_type: str | None = None  # accepted: the content type stored
    stored_mode: str | None = None  # accepted: the PIL mode of the stored image
    stored_size: tuple[int, int] | None = None  # accepted: width, height after cleaning
    notes: str = ""

    @property
    def accepted(self) -> bool:
        return self.status == 201


# --- builders -----------------------------------------------------------------------------------


def still(
    fmt: str,
    size: tuple[int, int] = (64, 48),
    mode: str = "RGB",
    color: object = (200, 30, 30),
    **save: object,
) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, format=fmt, **save)
    return out.getvalue()


def _frames(n: int = 3, size: tuple[int, int] = (32, 32)) -> list[Image.Image]:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    return [Image.new("RGB", size, colours[i % len(colours)]) for i in range(n)]


def animated(fmt: str) -> bytes:
    frames = _frames()
    out = io.BytesIO()
    frames[0].save(out, format=fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def mpo() -> bytes:
    """A JPEG followed by a second image in an MPF index, as phones write (HDR gain map, depth)."""
    first, second = Image.new("RGB", (64, 48), (200, 30, 30)), Image.new("RGB", (32, 24), (0, 0, 0))
    out = io.BytesIO()
    first.save(out, format="MPO", save_all=True, append_images=[second])
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims huge dimensions but carries almost no pixel data: a decompression bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + _png_chunk(b"IEND", b"")
    )


def iso_bmff(brand: bytes) -> bytes:
    """The start of an ISO-BMFF file (HEIC / AVIF): an `ftyp` box with the brand, then a `meta` box."""
    ftyp = b"ftyp" + brand + b"\x00\x00\x00\x00" + b"mif1" + brand
    meta = b"meta" + b"\x00" * 64
    return struct.pack(">I", len(ftyp) + 4) + ftyp + struct.pack(">I", len(meta) + 4) + meta


def truncated(fmt: str) -> bytes:
    noisy = Image.effect_noise((256, 256), 64).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, format=fmt)
    data = out.getvalue()
    return data[: len(data) // 3]


def corrupt_jpeg() -> bytes:
    """A JPEG whose header survives but whose body was overwritten (no markers, no scan)."""
    data = still("JPEG", size=(128, 128))
    return data[:20] + bytes(range(256)) * 8


def oversized_jpeg() -> bytes:
    """Just over 10 MB: a JPEG signature followed by padding (refused on size alone)."""
    return b"\xff\xd8\xff\xe0" + b"\x00" * (10 * MB)


def pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


def two_halves(size: tuple[int, int] = (80, 40)) -> Image.Image:
    """Left half red, right half blue: orientation mistakes show as colours in the wrong place."""
    img = Image.new("RGB", size, (220, 20, 20))
    ImageDraw.Draw(img).rectangle([size[0] // 2, 0, size[0], size[1]], fill=(20, 20, 220))
    return img


def exif_rotated_with_gps(fmt: str = "JPEG") -> bytes:
    """Stored 80x40 with EXIF orientation 6 (display rotated 90 deg clockwise) and a GPS position."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "TestCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (40.0, 44.0, 54.36)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (73.0, 59.0, 8.5)
    out = io.BytesIO()
    two_halves().save(out, format=fmt, exif=exif.tobytes(), quality=95)
    return out.getvalue()


# --- the corpus ---------------------------------------------------------------------------------

CASES: list[Case] = [
    # refused: not an image at all
    Case("empty_file", lambda: b"", 422, "empty"),
    Case(
        "text_named_jpg",
        lambda: b"hello, this is not a photo\n" * 20,
        415,
        "not an image",
        content_type="image/jpeg",
    ),
    Case(
        "html_named_png",
        lambda: b"<!doctype html><script>alert(1)</script>",
        415,
        "not an image",
        filename="photo.png",
        content_type="image/png",
    ),
    Case(
        "svg",
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"></svg>',
        415,
        "not an image",
        filename="photo.svg",
        content_type="image/svg+xml",
    ),
    Case("pdf", pdf, 415, "PDF", filename="receipt.pdf", content_type="application/pdf"),
    Case("jpeg_magic_only", lambda: b"\xff\xd8\xff", 422, "corrupt or incomplete"),
    # refused: images in formats we do not take
    Case("gif", lambda: still("GIF"), 415, "GIF", filename="photo.gif", content_type="image/gif"),
    Case("animated_gif", lambda: animated("GIF"), 415, "GIF", filename="a.gif", content_type="image/gif"),
    Case("bmp", lambda: still("BMP"), 415, "BMP", filename="photo.bmp", content_type="image/bmp"),
    Case("tiff", lambda: still("TIFF"), 415, "TIFF", filename="photo.tiff", content_type="image/tiff"),
    Case(
        "heic",
        lambda: iso_bmff(b"heic"),
        415,
        "Most Compatible",
        filename="IMG_0001.HEIC",
        content_type="image/heic",
        notes="HEIC: the answer says how to get a JPEG from an iPhone",
    ),
    Case(
        "heic_claiming_jpeg",
        lambda: iso_bmff(b"heix"),
        415,
        "HEIC",
        filename="IMG_0002.jpg",
        content_type="image/jpeg",
    ),
    Case("avif", lambda: iso_bmff(b"avif"), 415, "AVIF", filename="photo.avif", content_type="image/avif"),
    # refused: animations in accepted containers
    Case(
        "animated_webp",
        lambda: animated("WEBP"),
        415,
        "Animated",
        filename="a.webp",
        content_type="image/webp",
    ),
    Case(
        "animated_png_apng",
        lambda: animated("PNG"),
        415,
        "Animated",
        filename="a.png",
        content_type="image/png",
    ),
    # refused: broken files
    Case("truncated_jpeg", lambda: truncated("JPEG"), 422, "corrupt or incomplete"),
    Case(
        "truncated_png",
        lambda: truncated("PNG"),
        422,
        "corrupt or incomplete",
        filename="p.png",
        content_type="image/png",
    ),
    Case("corrupt_jpeg_body", corrupt_jpeg, 422, "corrupt or incomplete"),
    # refused: too big
    Case("over_10_mb", oversized_jpeg, 413, "larger than 10 MB"),
    Case(
        "over_40_megapixels",
        lambda: png_header_only(8000, 6000),
        413,
        "48 megapixels",
        filename="big.png",
        content_type="image/png",
    ),
    Case(
        "decompression_bomb",
        lambda: png_header_only(30000, 30000),
        413,
        "too large",
        filename="bomb.png",
        content_type="image/png",
    ),
    # refused: not a usable photo
    Case(
        "one_pixel",
        lambda: still("PNG", size=(1, 1)),
        422,
        "1x1 pixels",
        filename="p.png",
        content_type="image/png",
    ),
    Case("sliver_8x400", lambda: still("JPEG", size=(400, 8)), 422, "400x8 pixels"),
    # accepted: the type comes from the bytes, whatever the name or header says
    Case(
        "jpeg_named_png",
        lambda: still("JPEG"),
        201,
        filename="photo.png",
        content_type="image/png",
        stored_type="image/jpeg",
        stored_mode="RGB",
        stored_size=(64, 48),
    ),
    Case(
        "png_sent_as_octet_stream",
        lambda: still("PNG"),
        201,
        filename="upload.bin",
        content_type="application/octet-stream",
        stored_type="image/png",
        stored_size=(64, 48),
    ),
    Case(
        "webp_still",
        lambda: still("WEBP"),
        201,
        filename="p.webp",
        content_type="image/webp",
        stored_type="image/webp",
        stored_mode="RGB",
        stored_size=(64, 48),
    ),
    Case(
        "cmyk_jpeg",
        lambda: still("JPEG", mode="CMYK", color=(0, 200, 200, 0)),
        201,
        stored_type="image/jpeg",
        stored_mode="RGB",
        stored_size=(64, 48),
    ),
    Case(
        "grayscale_jpeg",
        lambda: still("JPEG", mode="L", color=128),
        201,
        stored_type="image/jpeg",
        stored_mode="L",
        stored_size=(64, 48),
    ),
    Case(
        "png_with_alpha",
        lambda: still("PNG", mode="RGBA", color=(10, 200, 10, 128)),
        201,
        filename="p.png",
        content_type="image/png",
        stored_type="image/png",
        stored_mode="RGBA",
        stored_size=(64, 48),
    ),
    Case(
        "png_16_bit_gray",
        lambda: still("PNG", mode="I;16", color=40000),
        201,
        filename="p.png",
        content_type="image/png",
        stored_type="image/png",
        stored_size=(64, 48),
    ),
    Case(
        "phone_jpeg_with_mpf_second_image",
        mpo,
        201,
        stored_type="image/jpeg",
        stored_mode="RGB",
        stored_size=(64, 48),
        notes="iPhone/Android JPEGs carry an HDR or depth map as an MPF image",
    ),
    Case(
        "exif_rotated_jpeg_with_gps",
        exif_rotated_with_gps,
        201,
        stored_type="image/jpeg",
        stored_mode="RGB",
        stored_size=(40, 80),
    ),
    Case(
        "exif_rotated_webp_with_gps",
        lambda: exif_rotated_with_gps("WEBP"),
        201,
        filename="p.webp",
        content_type="image/webp",
        stored_type="image/webp",
        stored_size=(40, 80),
    ),
]

REFUSED = [c for c in CASES if not c.accepted]
ACCEPTED = [c for c in CASES if c.accepted]
