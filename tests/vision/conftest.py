"""Crafted photos and a micro model saved like the real one, so most tests need no training."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from vision.calibrate import Calibration
from vision.model import build_model
from vision.train import TrainConfig
from vision.transforms import Preprocess

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_MODEL = ROOT / "models" / "damage"
DATASET = ROOT.parent / "shared" / "datasets" / "damage"


def product_photo(size: tuple[int, int] = (320, 240), seed: int = 0, backdrop: str = "floor") -> Image.Image:
    """A well-lit, sharp photo of a cardboard box: passes every pixel check."""
    rng = np.random.default_rng(seed)
    width, height = size
    if backdrop == "white":
        image = Image.new("RGB", size, (255, 255, 255))
    else:
        # Floorboards: light and dark planks, with grain.
        planks = np.where((np.arange(width) // 24) % 2 == 0, 95.0, 185.0)[None, :, None]
        floor = planks + rng.normal(0, 20, size=(height, width, 3))
        image = Image.fromarray(floor.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    box = (width // 4, height // 4, 3 * width // 4, 3 * height // 4)
    draw.rectangle(box, fill=(176, 132, 84), outline=(60, 40, 20), width=3)
    draw.line((box[0], (box[1] + box[3]) // 2, box[2], (box[1] + box[3]) // 2), fill=(90, 60, 30), width=4)
    return image


@pytest.fixture
def photo() -> Image.Image:
    return product_photo()


def save_labelled_folder(root: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    """Write photos and a labels.csv; rows are (label, severity, damage_type, dup_group)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "labels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "label", "severity", "damage_type", "dup_group", "source"])
        for index, (label, severity, damage_type, group) in enumerate(rows):
            file = f"images/{label}/{index}.jpg"
            (root / file).parent.mkdir(parents=True, exist_ok=True)
            product_photo((96, 80), seed=index).save(root / file)
            writer.writerow([file, label, severity, damage_type, group, "made by the test"])
    return root


@pytest.fixture
def labelled_folder(tmp_path: Path) -> Path:
    rows = [("damaged", "severe", "crushed", f"d{i}") for i in range(4)]
    rows += [("intact", "none", "", f"i{i}") for i in range(6)]
    rows += [("unusable", "", "", "u0"), ("unusable", "", "", "u0"), ("unusable", "", "", "")]
    return save_labelled_folder(tmp_path / "data", rows)


def micro_training(data: Path, out: Path, **overrides: Any) -> TrainConfig:
    """A training run of a few steps of the micro model, on one thread."""
    settings: dict[str, Any] = {
        "preset": "resnet-micro",
        "image_size": 32,
        "batch_size": 4,
        "max_steps": 3,
        "workers": 0,
        "threads": 1,
        "val_fraction": 0.4,
    }
    return TrainConfig(data=data, out=out, **{**settings, **overrides})


def save_micro_model(directory: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    model = build_model("resnet-micro")
    model.config.model_version = "damage-test-micro"
    model.save_pretrained(directory)
    Preprocess(size=64).save(directory)
    Calibration(temperature=1.5).save(directory)
    return directory


@pytest.fixture(scope="session")
def micro_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_micro_model(tmp_path_factory.mktemp("micro-model"))


@pytest.fixture
def write_image(tmp_path: Path) -> Callable[..., Path]:
    def write(name: str, image: Image.Image, **save_args: object) -> Path:
        path = tmp_path / name
        image.save(path, **save_args)
        return path

    return write


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> None:
    # Tiny tensors: a second thread only adds synchronisation, worst on a busy machine.
    torch.set_num_threads(1)
