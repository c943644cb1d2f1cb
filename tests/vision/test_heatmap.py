"""vision/heatmap.py: the overlay is photo * (1 - a) + jet(heat) * a with a = 0.15 + 0.5 * heat,
at most 512 px, whatever the photo's mode; the PNG round-trips pixel for pixel."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from vision.heatmap import OVERLAY_SIDE, jet, overlay, to_png


def expected(image: Image.Image, cam: np.ndarray) -> np.ndarray:
    """The formula in floating point, on the same resized photo and heat map."""
    base = image.convert("RGB")
    base.thumbnail((OVERLAY_SIDE, OVERLAY_SIDE))
    heat = Image.fromarray((cam * 255).astype(np.uint8)).resize(base.size, Image.Resampling.BILINEAR)
    values = np.asarray(heat, dtype=np.float32) / 255
    alpha = (0.15 + 0.5 * values)[..., None]
    return np.asarray(base, dtype=np.float32) * (1 - alpha) + jet(values).astype(np.float32) * alpha


def photo(size: tuple[int, int], seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "CMYK"])
def test_overlay_follows_the_blend_formula(mode: str) -> None:
    image = photo((800, 600)).convert(mode)
    cam = np.random.default_rng(1).random((7, 7)).astype(np.float32)
    got = overlay(image, cam)
    assert got.mode == "RGB" and got.size == (512, 384)
    difference = np.abs(np.asarray(got, dtype=np.float32) - expected(image, cam))
    assert difference.max() <= 1.0  # integer rounding only


def test_hot_areas_turn_red_and_cool_areas_keep_the_photo() -> None:
    grey = Image.new("RGB", (256, 256), (128, 128, 128))
    cam = np.zeros((2, 2), dtype=np.float32)
    cam[0, 0] = 1.0  # top left is where the damage is
    pixels = np.asarray(overlay(grey, cam), dtype=int)
    hot, cool = pixels[0, 0], pixels[-1, -1]
    assert hot[0] > hot[1] + 60 and hot[0] > hot[2] + 60  # jet's dark red, 65 % over the grey
    assert cool[2] > cool[0] == cool[1] and cool[0] > 100  # mostly the grey photo, a 15 % blue tint


def test_small_photos_are_not_enlarged() -> None:
    assert overlay(photo((200, 100)), np.ones((4, 4), dtype=np.float32)).size == (200, 100)


def test_png_round_trips_exactly() -> None:
    image = overlay(photo((640, 480), seed=3), np.random.default_rng(2).random((5, 5)).astype(np.float32))
    decoded = Image.open(io.BytesIO(to_png(image)))
    assert decoded.format == "PNG"
    assert np.array_equal(np.asarray(decoded.convert("RGB")), np.asarray(image))
