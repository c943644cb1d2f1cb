"""Turn whatever a shopper sends (path, bytes, PIL image) into an upright RGB picture.

Every decoding problem becomes an :class:`ImageError` with a sentence a caller can show.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

ImageSource = Image.Image | bytes | str | Path

MAX_PIXELS = 64_000_000  # about 64 MP: bigger than any phone's default photo
WORKING_SIDE = 1024  # nothing downstream needs more; bounds memory and time


class ImageError(ValueError):
    """The input cannot be read as a photo."""


@dataclass(frozen=True)
class Photo:
    image: Image.Image  # RGB, EXIF orientation applied, long side <= the working side
    original_size: tuple[int, int]  # (width, height) as the shopper took it, upright


def load_photo(source: ImageSource, working_side: int = WORKING_SIDE) -> Photo:
    image = source if isinstance(source, Image.Image) else _open(source)
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageError("The image is empty (zero pixels).")
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"The image is too large ({width}x{height} pixels); the limit is "
            f"{MAX_PIXELS // 1_000_000} megapixels."
        )
    if image.format == "JPEG":
        # Decoding a big JPEG at a reduced scale is many times faster and smaller.
        image.draft("RGB", (working_side, working_side))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
            upright = ImageOps.exif_transpose(image)
    except Exception as error:  # Pillow's decoders raise many types on malformed data
        raise ImageError(f"The image file is corrupt or truncated ({error}).") from error
    draft_scale = width / image.size[0]
    original_size = (round(upright.size[0] * draft_scale), round(upright.size[1] * draft_scale))
    rgb = to_rgb(upright)
    rgb.thumbnail((working_side, working_side), Image.Resampling.BICUBIC)
    return Photo(rgb, original_size)


def load_rgb(source: ImageSource, working_side: int = WORKING_SIDE) -> Image.Image:
    return load_photo(source, working_side).image


def _open(source: bytes | str | Path) -> Image.Image:
    name = "the upload" if isinstance(source, bytes) else str(source)
    try:
        return Image.open(io.BytesIO(source) if isinstance(source, bytes) else Path(source))
    except FileNotFoundError as error:
        raise ImageError(f"No such file: {name}.") from error
    except IsADirectoryError as error:
        raise ImageError(f"{name} is a folder, not an image.") from error
    except Image.DecompressionBombError as error:
        raise ImageError(
            f"The image is too large; the limit is {MAX_PIXELS // 1_000_000} megapixels."
        ) from error
    except UnidentifiedImageError as error:
        raise ImageError("The file is not an image we can read (JPEG, PNG, WebP...).") from error
    except Exception as error:  # Pillow's format sniffers raise many types on malformed data
        raise ImageError(f"The image cannot be opened ({error}).") from error


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB for any mode: transparency goes onto white, 16-bit and float are rescaled."""
    if image.mode == "RGB":
        return image
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(image, dtype=np.float32)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) / (high - low) * 255 if high > low else np.zeros_like(values)
        return Image.fromarray(scaled.astype(np.uint8)).convert("RGB")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return image.convert("RGB")
