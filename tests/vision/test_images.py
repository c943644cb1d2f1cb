"""Bad and unusual inputs: each gives an upright RGB photo or a clear ImageError."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vision.images import MAX_PIXELS, ImageError, load_photo


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims the given size (the pixel data is never reached)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return b"\x89PNG\r\n\x1a\n" + ihdr + b"\x00\x00\x00\x00IEND\xaeB`\x82"


def jpeg_bytes(image: Image.Image, **save_args: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", **save_args)
    return buffer.getvalue()


def test_not_an_image_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_bytes(b"this is not a photo")
    with pytest.raises(ImageError, match="not an image"):
        load_photo(path)


def test_truncated_jpeg_is_a_clear_error(photo: Image.Image) -> None:
    data = jpeg_bytes(photo)
    with pytest.raises(ImageError, match="corrupt or truncated"):
        load_photo(data[: len(data) // 2])


@pytest.mark.parametrize("source", ["/no/such/photo.jpg", "."])
def test_missing_file_or_folder_is_a_clear_error(source: str) -> None:
    with pytest.raises(ImageError):
        load_photo(source)


@pytest.mark.parametrize("side", [9_000, 30_000])
def test_huge_dimensions_are_refused_before_decoding(side: int) -> None:
    assert side * side > MAX_PIXELS
    with pytest.raises(ImageError, match="too large"):
        load_photo(png_header_only(side, side))


def test_big_phone_photo_is_decoded_small_but_keeps_its_size() -> None:
    photo = load_photo(jpeg_bytes(Image.new("RGB", (4000, 3000), (120, 90, 60))))
    assert photo.original_size == (4000, 3000)
    assert max(photo.image.size) <= 1024 and photo.image.mode == "RGB"


def test_one_pixel_image_loads() -> None:
    photo = load_photo(Image.new("RGB", (1, 1), (10, 20, 30)))
    assert photo.original_size == (1, 1) and photo.image.getpixel((0, 0)) == (10, 20, 30)


def test_cmyk_becomes_rgb(photo: Image.Image) -> None:
    loaded = load_photo(jpeg_bytes(photo.convert("CMYK"))).image
    assert loaded.mode == "RGB"
    assert (
        np.abs(np.asarray(loaded, float).mean(axis=(0, 1)) - np.asarray(photo, float).mean(axis=(0, 1))).max()
        < 12
    )


@pytest.mark.parametrize("mode", ["L", "I;16", "P", "LA"])
def test_other_modes_become_rgb(photo: Image.Image, mode: str) -> None:
    if mode == "I;16":
        image = Image.fromarray(np.asarray(photo.convert("L"), np.uint16) * 256)
    else:
        image = photo.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    loaded = load_photo(buffer.getvalue()).image
    assert loaded.mode == "RGB" and loaded.size == photo.size


def test_transparency_is_flattened_onto_white() -> None:
    image = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    image.paste((200, 30, 30, 255), (50, 50, 150, 150))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    loaded = load_photo(buffer.getvalue()).image
    assert loaded.getpixel((5, 5)) == (255, 255, 255)
    assert loaded.getpixel((100, 100)) == (200, 30, 30)


def test_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (200, 100), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 100, 100))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    photo = load_photo(jpeg_bytes(image, exif=exif.tobytes()))
    assert photo.image.size == (100, 200) and photo.original_size == (100, 200)
    red, _, blue = photo.image.getpixel((50, 20))  # the left half is now on top
    assert red > 200 and blue < 60
