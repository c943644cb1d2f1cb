"""A few training steps of a micro model on crafted photos: everything the run saves is usable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import AutoModelForImageClassification

from tests.vision.conftest import micro_training, save_labelled_folder
from vision.assess import DamageAssessor
from vision.train import main, parse_args, train


def test_tiny_training_run_saves_a_servable_model(labelled_folder: Path, tmp_path: Path) -> None:
    extra = save_labelled_folder(tmp_path / "reviews", [("damaged", "minor", "torn", "review-1")])
    out = tmp_path / "model"
    config = micro_training(labelled_folder, out, extra_data=(extra,), eval_every=1)
    metrics = train(config, progress=False)

    saved = {p.name for p in out.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "preprocessor_config.json",
        "calibration.json",
        "metrics.json",
        "training_config.json",
        "README.md",
    } <= saved
    assert metrics["training"]["train_photos"] + metrics["training"]["val_photos"] == 14
    assert 0 <= metrics["held_out"]["auroc"] <= 1
    assert json.loads((out / "training_config.json").read_text())["extra_data"] == [str(extra)]
    card = (out / "README.md").read_text()
    assert "CC BY 4.0" in card and "Kohei Kudo" in card and "Public Domain" in card

    model = AutoModelForImageClassification.from_pretrained(out)
    assert model.config.id2label[1] == "verdict:damaged"
    assessment = DamageAssessor(out).assess(labelled_folder / "images/damaged/0.jpg")
    assert assessment.model_version.startswith("damage-resnet-micro-")


def test_flags_map_onto_the_config() -> None:
    config = parse_args(["--epochs", "3", "--no-backdrop-guard", "--extra-data", "a", "--extra-data", "b"])
    assert config.epochs == 3 and config.backdrop_guard is False
    assert [str(p) for p in config.extra_data] == ["a", "b"]


def test_help_says_what_each_flag_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "--init-from" in text and "--extra-data" in text and "merchant" in text
