"""Preprocessing matches the saved Hugging Face config; augmentation and backdrop tools behave."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.vision.conftest import product_photo
from vision.evaluate import backdrop_altered
from vision.transforms import Augment, Preprocess, plain_backdrop_mask, random_backdrop, replace_backdrop


def test_preprocess_resizes_the_whole_photo_and_normalises() -> None:
    spec = Preprocess(size=64)
    pixels = spec(Image.new("RGB", (300, 100), (128, 128, 128)))
    assert pixels.shape == (3, 64, 64) and pixels.dtype == torch.float32
    expected = (128 / 255 - np.array(spec.mean)) / np.array(spec.std)
    assert np.allclose(pixels.mean(dim=(1, 2)).numpy(), expected, atol=1e-5)


def test_preprocess_round_trips_and_matches_the_transformers_processor(tmp_path: Path) -> None:
    from transformers import AutoImageProcessor

    spec = Preprocess(size=96)
    spec.save(tmp_path)
    assert Preprocess.load(tmp_path) == spec
    processor = AutoImageProcessor.from_pretrained(tmp_path)
    photo = product_photo((200, 150))
    theirs = processor(photo, return_tensors="pt")["pixel_values"][0]
    assert torch.allclose(spec(photo), theirs, atol=1e-4)


def test_augment_is_reproducible_per_seed_and_varies_across_seeds() -> None:
    augment = Augment(Preprocess(size=48))
    photo = product_photo(backdrop="white")
    mask = plain_backdrop_mask(photo)
    first = augment(photo, mask, np.random.default_rng(1))
    again = augment(photo, mask, np.random.default_rng(1))
    other = augment(photo, mask, np.random.default_rng(2))
    assert first.shape == (3, 48, 48) and torch.isfinite(first).all()
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_plain_backdrop_is_found_and_replaced_around_the_product() -> None:
    photo = product_photo(backdrop="white")
    mask = plain_backdrop_mask(photo)
    assert mask is not None
    assert mask.getpixel((160, 120)) == 255 and mask.getpixel((3, 3)) == 0
    swapped = replace_backdrop(photo, mask, Image.new("RGB", photo.size, (0, 90, 0)))
    assert swapped.getpixel((3, 3)) == (0, 90, 0)
    assert swapped.getpixel((160, 100)) == photo.getpixel((160, 100))


def test_a_cluttered_scene_has_no_plain_backdrop() -> None:
    assert plain_backdrop_mask(product_photo(backdrop="floor")) is None


@pytest.mark.parametrize("seed", range(6))
def test_random_backdrops_have_the_requested_size(seed: int) -> None:
    scene = product_photo()
    backdrop = random_backdrop((70, 50), np.random.default_rng(seed), scenes=[scene])
    assert backdrop.size == (70, 50) and backdrop.mode == "RGB"


def test_the_shortcut_test_copy_moves_studio_photos_off_white_and_scenes_onto_white() -> None:
    studio, scene = product_photo(backdrop="white"), product_photo(backdrop="floor")
    altered_studio, altered_scene = backdrop_altered([studio, scene])
    assert altered_studio.getpixel((2, 2)) != (255, 255, 255)
    corners = [altered_scene.getpixel(xy) for xy in ((0, 0), (319, 0), (0, 239), (319, 239))]
    assert (255, 255, 255) in corners


def _quadrants(size: tuple[int, int] = (200, 100)) -> Image.Image:
    """Red, green, blue and white quarters (top left, top right, bottom left, bottom right)."""
    width, height = size
    image = Image.new("RGB", size)
    colours = {(0, 0): (255, 0, 0), (1, 0): (0, 255, 0), (0, 1): (0, 0, 255), (1, 1): (255, 255, 255)}
    for (column, row), colour in colours.items():
        left, top = column * width // 2, row * height // 2
        image.paste(colour, (left, top, left + width // 2, top + height // 2))
    return image


def test_views_are_the_whole_photo_alone_unless_corner_crops_are_set() -> None:
    photo = _quadrants()
    whole = Preprocess(size=32)
    assert whole.views(photo).shape == (1, 3, 32, 32)
    assert torch.equal(whole.views(photo)[0], whole(photo))


def test_corner_views_are_the_four_corners_at_a_higher_resolution() -> None:
    spec = Preprocess(size=40, corner_crops=0.5)
    photo = _quadrants((400, 200))
    views = spec.views(photo)
    assert views.shape == (5, 3, 40, 40) and torch.equal(views[0], spec(photo))
    std = torch.tensor(spec.std)[:, None, None]
    mean = torch.tensor(spec.mean)[:, None, None]
    colours = [((view * std + mean) * 255).round() for view in views[1:]]
    red, green, blue, white = [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]
    # with crops of half the side each corner view is one quarter of the photo, filling it
    expected = [red, blue, green, white]  # top left, bottom left, top right, bottom right
    for view, colour in zip(colours, expected, strict=True):
        centre = view[:, 5:35, 5:35].flatten(1)
        assert torch.all((centre - torch.tensor(colour, dtype=torch.float32)[:, None]).abs() <= 2)


def test_corner_crops_round_trip_and_transformers_still_reads_the_config(tmp_path: Path) -> None:
    from transformers import AutoImageProcessor

    spec = Preprocess(size=48, corner_crops=0.7)
    spec.save(tmp_path)
    assert Preprocess.load(tmp_path) == spec
    processor = AutoImageProcessor.from_pretrained(tmp_path)
    photo = product_photo((120, 90))
    assert torch.allclose(spec(photo), processor(photo, return_tensors="pt")["pixel_values"][0], atol=1e-4)


def test_training_crops_keep_at_least_the_share_of_the_photo_asked_for() -> None:
    """crop_scale=(1, 1): every training view holds the whole photo (all four quarters)."""
    photo = _quadrants((200, 200))
    plain = {"backdrop_swap": 0.0, "shrink": 0.0, "rotate": 0.0, "grayscale": 0.0, "colour_strength": 0.0}
    whole = Augment(Preprocess(size=40), crop_scale=(1.0, 1.0), **plain)
    tight = Augment(Preprocess(size=40), crop_scale=(0.05, 0.05), **plain)

    def quarters_seen(augment: Augment, seed: int) -> int:
        view = np.asarray(augment.view(photo, None, np.random.default_rng(seed)), dtype=np.int32)
        pixels = view.reshape(-1, 3)
        # a quarter counts when a tenth of the view is near its colour (hue jitter moves it a bit)
        colours = ((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255))
        near = [np.abs(pixels - np.array(colour)).max(axis=1) < 80 for colour in colours]
        return sum(int(mask.mean() > 0.1) for mask in near)

    assert all(quarters_seen(whole, seed) == 4 for seed in range(8))
    assert all(quarters_seen(tight, seed) < 4 for seed in range(8))
