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
