"""A few training steps of a micro model on crafted photos: everything the run saves is usable."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoModelForImageClassification

from tests.vision.conftest import micro_training, save_labelled_folder
from vision.assess import DamageAssessor
from vision.calibrate import Calibration
from vision.card import render as render_card
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
    low, high = metrics["held_out"]["auroc_95"]
    assert f"(near-duplicate groups resampled) | {low:.2f} to {high:.2f} |" in card
    scenes = metrics["real_scenes"]["photos"]
    assert f"that are real scenes (no plain studio backdrop; {scenes['damaged']}" in card
    # a model saved before these numbers existed still gets a card
    older = {k: v for k, v in metrics.items() if k != "real_scenes"}
    older["held_out"] = {k: v for k, v in metrics["held_out"].items() if k != "auroc_95"}
    old_card = render_card("v0", older, Calibration.load(out), config)
    assert "| n/a |" in old_card and "Real-scene subset: not measured" in old_card

    model = AutoModelForImageClassification.from_pretrained(out)
    assert model.config.id2label[1] == "verdict:damaged"
    assessment = DamageAssessor(out).assess(labelled_folder / "images/damaged/0.jpg")
    assert assessment.model_version.startswith("damage-resnet-micro-")


def test_init_seed_trains_another_model_on_the_same_split(labelled_folder: Path, tmp_path: Path) -> None:
    def run(name: str, **overrides: Any) -> tuple[dict[str, Any], torch.Tensor, str]:
        config = micro_training(labelled_folder, tmp_path / name, seed=5, **overrides)
        metrics = train(config, progress=False)
        model = AutoModelForImageClassification.from_pretrained(tmp_path / name)
        return metrics, model.classifier[-1].weight.detach(), model.config.model_version

    first, first_weights, first_version = run("a")
    _, again_weights, _ = run("b", init_seed=5)
    other, other_weights, other_version = run("c", init_seed=6)
    # Trained the same day, yet each model has its own version: the weights' hash is in it.
    assert re.fullmatch(r"damage-resnet-micro-\d{4}\.\d{2}\.\d{2}-[0-9a-f]{8}", first_version)
    assert other_version != first_version
    # The default init seed is --seed. (Not bit for bit: the schedule also follows the clock.)
    same = (first_weights - again_weights).abs().max()
    assert same < 0.1 * (first_weights - other_weights).abs().max()
    assert other["held_out"]["photos"] == first["held_out"]["photos"]
    assert other["training"]["label_counts"] == first["training"]["label_counts"]
    assert parse_args(["--seed", "1", "--init-seed", "7"]).init_seed == 7


def test_flags_map_onto_the_config() -> None:
    config = parse_args(["--epochs", "3", "--no-backdrop-guard", "--extra-data", "a", "--extra-data", "b"])
    assert config.epochs == 3 and config.backdrop_guard is False
    assert [str(p) for p in config.extra_data] == ["a", "b"]
    config = parse_args(["--serve-size", "224", "--crop-min", "0.8"])
    assert (config.serve_size, config.crop_min) == (224, 0.8)


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["--serve-size", "-1"], "--serve-size must be 0"),
        (["--crop-min", "0"], "--crop-min must be above 0"),
        (["--crop-min", "1.5"], "--crop-min must be above 0"),
        (["--preset", "resnet-huge"], "--preset 'resnet-huge' is not one of: resnet-tiny"),
        (["--device", "mps"], "--device mps: only cpu and cuda are supported"),
        (["--device", "tpu"], "--device 'tpu' is not a device torch knows"),
    ],
)
def test_bad_flags_exit_2_with_the_reason(
    argv: list[str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2 and reason in capsys.readouterr().err


def test_device_auto_picks_cuda_only_where_torch_sees_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert parse_args(["--device", "auto"]).device == "cpu"
    assert parse_args([]).device == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert parse_args(["--device", "auto"]).device == "cuda"
    assert parse_args(["--device", "cuda:1"]).device == "cuda:1"


def test_asking_for_cuda_without_a_gpu_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--device", "cuda"])
    assert exit_info.value.code == 2
    assert "torch sees no CUDA GPU on this machine (use cpu or auto)" in capsys.readouterr().err


def test_each_evaluation_is_logged_once(
    labelled_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 5 training photos in batches of 2: two steps an epoch, so 4 steps end with epoch 2 (no
    # empty third epoch reported after the last step).
    config = micro_training(labelled_folder, tmp_path / "m", eval_every=1, max_steps=4, batch_size=2)
    metrics = train(config, progress=False)
    assert metrics["training"]["train_photos"] == 5
    epochs = [line.split()[:4] for line in capsys.readouterr().out.splitlines() if line.startswith("epoch ")]
    assert epochs == [["epoch", "1", "step", "2:"], ["epoch", "2", "step", "4:"]]


def test_help_says_what_each_flag_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "--init-from" in text and "--extra-data" in text and "merchant" in text
