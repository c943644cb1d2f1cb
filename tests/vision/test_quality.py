"""The quality gate on crafted photos: each defect gets its code and a retake sentence."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image, ImageFilter

from tests.vision.conftest import DATASET, product_photo
from vision.images import load_photo
from vision.quality import RETAKE_MESSAGES, assess_quality, pixel_issues


def test_a_good_photo_passes() -> None:
    report = assess_quality(product_photo(), unusable_probability=0.1)
    assert report.to_dict() == {"ok": True, "issues": [], "message": ""}


def test_a_studio_photo_on_white_is_not_overexposed() -> None:
    assert pixel_issues(product_photo(backdrop="white")) == []


@pytest.mark.parametrize(
    ("defect", "issue"),
    [
        (lambda im: Image.eval(im, lambda v: int(v * 0.15)), "too_dark"),
        (lambda im: Image.eval(im, lambda v: min(255, v * 3 + 80)), "overexposed"),
        (lambda im: im.filter(ImageFilter.GaussianBlur(4)), "blurred"),
        (lambda im: im.resize((1, 1)), "too_small"),
        (lambda im: im.resize((100, 75)), "too_small"),
    ],
    ids=["dark", "overexposed", "blurred", "1x1", "tiny"],
)
def test_each_defect_is_named_with_a_retake_sentence(defect, issue: str) -> None:
    report = assess_quality(defect(product_photo()), unusable_probability=0.0)
    assert report.issues == [issue]
    assert not report.ok
    assert report.message == RETAKE_MESSAGES[issue]
    assert report.message.endswith(".") and "please" in report.message


def test_the_original_size_decides_too_small_not_the_working_copy() -> None:
    small_copy = product_photo((160, 120))
    assert pixel_issues(small_copy, original_size=(4000, 3000)) == []
    assert pixel_issues(small_copy, original_size=(90, 60)) == ["too_small"]


def test_not_a_product_photo_comes_from_the_model() -> None:
    report = assess_quality(product_photo(), unusable_probability=0.8)
    assert report.issues == ["not_product_photo"]
    assert "photo of the item" in report.message


def test_pixel_problems_come_first_and_silence_the_model() -> None:
    dark = Image.eval(product_photo(), lambda v: int(v * 0.1))
    assert assess_quality(dark, unusable_probability=0.9).issues == ["too_dark"]


@pytest.mark.parametrize("colour", [(0, 0, 0), (255, 255, 255), (128, 128, 128)])
def test_blank_frames_fail(colour: tuple[int, int, int]) -> None:
    assert pixel_issues(Image.new("RGB", (400, 300), colour)) != []


@pytest.mark.skipif(not DATASET.is_dir(), reason="the curated dataset is not beside the repo")
def test_curated_photos_pass_the_pixel_checks() -> None:
    with open(DATASET / "labels.csv") as handle:
        rows = [r for r in csv.DictReader(handle) if r["label"] != "unusable"][::25]
    failing = [r["file"] for r in rows if pixel_issues(load_photo(DATASET / r["file"]).image)]
    assert len(failing) <= len(rows) * 0.05, failing


def test_noise_is_sharp_not_blurred() -> None:
    noise = np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    assert pixel_issues(Image.fromarray(noise)) == []
