"""scripts/scoring_options.py: a sweep's models scored several ways, and their ensemble."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.vision.test_sweep import MICRO, sweep
from vision.heads import damage_score, group_slices
from vision.model import build_model
from vision.paths import REPO_ROOT
from vision.transforms import Preprocess

_path = REPO_ROOT / "scripts" / "scoring_options.py"
_spec = importlib.util.spec_from_file_location("scoring_options", _path)
assert _spec and _spec.loader
options = importlib.util.module_from_spec(_spec)
sys.modules["scoring_options"] = options
_spec.loader.exec_module(options)


def test_every_option_is_scored_per_model_and_as_an_ensemble(
    labelled_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "sweep"
    argv = ["--seeds", "13", "--out", str(runs), "--data", str(labelled_folder)]
    assert sweep.main([*argv, "--variant", f"a={MICRO}", "--variant", f"b={MICRO} --init-seed 99"]) == 0
    out = tmp_path / "options.json"
    args = ["--runs", str(runs), "--variants", "a", "b", "--seeds", "13", "--out", str(out)]
    assert options.main(args) == 0

    numbers = json.loads(out.read_text())
    assert set(numbers["summary"]) == set(options.OPTIONS)
    split = numbers["splits"]["13"]
    for name in options.OPTIONS:
        assert set(split[name]) == {"a", "b", "ensemble"}
    # Scored as the model was trained, each model ranks the photos as its calibrated probability does.
    for variant in ("a", "b"):
        metrics = json.loads((runs / f"{variant}-seed13" / "metrics.json").read_text())
        one_view = split["one view (the model's own)"][variant]["all"]
        assert one_view == pytest.approx(metrics["held_out"]["auroc"], abs=1e-4)
    assert "five views (0.7 corner crops)" in capsys.readouterr().out


def test_a_missing_run_folder_exits_2_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        options.main(["--runs", str(tmp_path), "--variants", "base", "--seeds", "1", "2"])
    assert exit_info.value.code == 2
    assert f"no model folder in {tmp_path} for: base-seed1, base-seed2" in capsys.readouterr().err


def test_corner_views_at_another_side_weigh_as_much_as_the_whole_photo() -> None:
    model = build_model("resnet-micro").eval()
    images = [Image.new("RGB", (90, 60), (200, 40, 40)), Image.new("RGB", (64, 64), (20, 120, 220))]
    five = Preprocess(size=48, corner_crops=0.7)
    # Corners at the whole photo's side, in their own forward pass: the five-view score again.
    same = options.damage_log_odds(model, images, five, False, corners=five)
    assert same == pytest.approx(options.damage_log_odds(model, images, five, False), abs=1e-5)
    # At another side, the mean of the whole photo's logits and the four smaller corners' logits.
    small = Preprocess(size=32, corner_crops=0.7)
    verdict = group_slices(model.config.id2label)["verdict"]
    with torch.inference_mode():
        expected = []
        for image in images:
            logits = torch.cat(
                [
                    model(pixel_values=five(image)[None]).logits,
                    model(pixel_values=small.views(image)[1:]).logits,
                ]
            )
            p = damage_score(torch.softmax(logits.mean(dim=0)[None, verdict], dim=-1)).double()
            expected.append(float(torch.log(p / (1 - p))))
    mixed = options.damage_log_odds(model, images, five, False, corners=small)
    assert mixed == pytest.approx(expected, abs=1e-5)
    assert not np.allclose(mixed, same)
