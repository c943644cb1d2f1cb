"""Scoring a photo on several views: the assessor, the evaluation and `vision.rescore` agree."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
import torch

from tests.vision.conftest import micro_training, product_photo, save_micro_model
from vision import rescore
from vision.assess import DamageAssessor
from vision.calibrate import Calibration
from vision.evaluate import collect_logits
from vision.heads import damage_score, group_slices, probabilities
from vision.model import load_model
from vision.train import TrainConfig, train
from vision.transforms import Preprocess


@pytest.fixture
def cropped_model_dir(tmp_path: Path) -> Path:
    directory = save_micro_model(tmp_path / "model", seed=3)
    Preprocess(size=64, corner_crops=0.7).save(directory)
    return directory


def test_the_assessor_averages_the_logits_of_the_five_views(cropped_model_dir: Path) -> None:
    photo = product_photo((300, 200), seed=4)
    model = load_model(cropped_model_dir)
    spec = Preprocess.load(cropped_model_dir)
    with torch.inference_mode():
        every = model(pixel_values=spec.views(photo)).logits
        whole_only = model(pixel_values=spec(photo)[None]).logits
    slices = group_slices(model.config.id2label)
    expected = damage_score(probabilities(every.mean(0, keepdim=True), slices, 1.5).verdict)
    assessment = DamageAssessor(cropped_model_dir).assess(photo)
    assert assessment.damage_probability == pytest.approx(float(expected[0]), abs=1e-5)
    # the corner views do change the answer: the test would pass by accident otherwise
    alone = damage_score(probabilities(whole_only, slices, 1.5).verdict)
    assert abs(float(alone[0]) - float(expected[0])) > 1e-4


def test_evaluation_scores_each_photo_on_the_same_views_as_serving(cropped_model_dir: Path) -> None:
    photos = [product_photo((200, 160), seed=k) for k in range(3)]
    model = load_model(cropped_model_dir)
    spec = Preprocess.load(cropped_model_dir)
    logits = collect_logits(model, photos, spec, batch_size=2)
    with torch.inference_mode():
        for row, photo in zip(logits, photos, strict=True):
            assert torch.allclose(row, model(pixel_values=spec.views(photo)).logits.mean(0), atol=1e-5)


def _trained_micro(labelled_folder: Path, out: Path) -> Path:
    train(micro_training(labelled_folder, out, max_steps=2, corner_crops=0), progress=False)
    return out


def test_rescore_switches_the_views_and_refits_the_temperature_without_touching_weights(
    labelled_folder: Path, tmp_path: Path
) -> None:
    model_dir = _trained_micro(labelled_folder, tmp_path / "model")
    assert Preprocess.load(model_dir).corner_crops is None
    weights = hashlib.sha256((model_dir / "model.safetensors").read_bytes()).hexdigest()
    before = Calibration.load(model_dir)
    version = DamageAssessor(model_dir).model_version

    metrics = rescore.rescore(model_dir, 0.6, progress=False)

    assert Preprocess.load(model_dir).corner_crops == 0.6
    after = Calibration.load(model_dir)
    assert after.temperature != before.temperature and after.verdict_bias == before.verdict_bias
    assert hashlib.sha256((model_dir / "model.safetensors").read_bytes()).hexdigest() == weights
    saved = json.loads((model_dir / "metrics.json").read_text())
    assert saved["held_out"] == metrics["held_out"] and "training" in saved
    settings = json.loads((model_dir / "training_config.json").read_text())
    assert settings["corner_crops"] == 0.6
    assert "corner crops of 60%" in (model_dir / "README.md").read_text()
    # the same weights now give other probabilities: the assessments must say so
    assert DamageAssessor(model_dir).model_version == f"{version}-crops0.6"
    assert f"`{version}-crops0.6`" in (model_dir / "README.md").read_text()

    # and back: 0 is the whole photo only
    rescore.rescore(model_dir, 0, progress=False)
    assert Preprocess.load(model_dir).corner_crops is None
    assert "corner crops" not in (model_dir / "README.md").read_text()
    assert DamageAssessor(model_dir).model_version == version


def test_rescore_sets_the_serving_side_and_back(labelled_folder: Path, tmp_path: Path) -> None:
    model_dir = _trained_micro(labelled_folder, tmp_path / "model")  # trained at 32 px
    version = DamageAssessor(model_dir).model_version
    rescore.rescore(model_dir, serve_size=48, progress=False)
    assert DamageAssessor(model_dir).model_version == f"{version}-48px"
    rescore.rescore(model_dir, corner_crops=0.7, progress=False)  # both: the side is kept
    assert DamageAssessor(model_dir).model_version == f"{version}-crops0.7-48px"
    rescore.rescore(model_dir, corner_crops=0, progress=False)
    spec = Preprocess.load(model_dir)
    assert spec.size == 48 and spec.corner_crops is None  # the views are kept
    assert json.loads((model_dir / "training_config.json").read_text())["serve_size"] == 48
    assert "32x32 in training, 48x48 in serving" in (model_dir / "README.md").read_text()
    photo = product_photo((300, 200), seed=5)
    model = load_model(model_dir)
    slices = group_slices(model.config.id2label)
    calibration = Calibration.load(model_dir)
    with torch.inference_mode():
        at_48 = model(pixel_values=spec(photo)[None]).logits
    expected = damage_score(
        probabilities(at_48, slices, calibration.temperature, calibration.verdict_bias).verdict
    )
    assert DamageAssessor(model_dir).assess(photo).damage_probability == pytest.approx(
        float(expected[0]), abs=1e-5
    )

    rescore.rescore(model_dir, serve_size=0, progress=False)  # 0: the training side again
    assert Preprocess.load(model_dir).size == 32
    assert json.loads((model_dir / "training_config.json").read_text())["serve_size"] == 0
    assert "input 32x32 RGB" in (model_dir / "README.md").read_text()
    assert DamageAssessor(model_dir).model_version == version


def test_training_scores_at_the_serving_side(labelled_folder: Path, tmp_path: Path) -> None:
    config = micro_training(labelled_folder, tmp_path / "m", max_steps=1, serve_size=40, crop_min=0.8)
    train(config, progress=False)
    assert Preprocess.load(tmp_path / "m").size == 40
    settings = json.loads((tmp_path / "m" / "training_config.json").read_text())
    assert (settings["image_size"], settings["serve_size"], settings["crop_min"]) == (32, 40, 0.8)


def test_rescore_refuses_bad_input_with_a_reason(
    tmp_path: Path, micro_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv, reason in (
        (["--model", str(micro_model_dir), "--corner-crops", "1.5"], "--corner-crops must be"),
        (["--model", str(micro_model_dir), "--corner-crops", "0.7"], "has no training_config.json"),
        (["--model", str(micro_model_dir)], "say what to change: --corner-crops, --serve-size"),
        (["--model", str(micro_model_dir), "--serve-size", "20"], "--serve-size must be 0"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            rescore.main(argv)
        assert exit_info.value.code == 2
        assert reason in capsys.readouterr().err


def test_training_saves_the_views_it_was_scored_with(labelled_folder: Path, tmp_path: Path) -> None:
    assert TrainConfig().corner_crops == 0  # the default: the whole photo only
    config = micro_training(labelled_folder, tmp_path / "m", max_steps=1, corner_crops=0.7)
    train(config, progress=False)
    assert Preprocess.load(tmp_path / "m").corner_crops == 0.7
    assert json.loads((tmp_path / "m" / "training_config.json").read_text())["corner_crops"] == 0.7
    assert re.fullmatch(
        r"damage-\w[\w-]*-\d{4}\.\d\d\.\d\d-[0-9a-f]{8}-crops0\.7",
        load_model(tmp_path / "m").config.model_version,
    )
