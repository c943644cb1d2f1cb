"""scripts/damage_sweep.py: every variant trained once per split seed, summarised, resumable."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from vision.paths import REPO_ROOT

_spec = importlib.util.spec_from_file_location("damage_sweep", REPO_ROOT / "scripts" / "damage_sweep.py")
assert _spec and _spec.loader
sweep = importlib.util.module_from_spec(_spec)
sys.modules["damage_sweep"] = sweep
_spec.loader.exec_module(sweep)

MICRO = "--preset resnet-micro --image-size 32 --batch-size 4 --max-steps 3 --workers 0 --val-fraction 0.4"


def test_each_variant_is_trained_per_seed_summarised_and_not_retrained(
    labelled_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sweep"
    argv = ["--seeds", "13", "1", "--parallel", "2", "--out", str(out), "--data", str(labelled_folder)]
    argv += ["--variant", f"micro={MICRO}", "--variant", f"micro-noguard={MICRO} --no-backdrop-guard"]
    assert sweep.main(argv) == 0

    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == {"micro", "micro-noguard"}
    for name, entry in summary.items():
        assert set(entry["runs"]) == {"13", "1"}
        aurocs = [run["auroc"] for run in entry["runs"].values()]
        assert entry["mean_auroc"] == pytest.approx(sum(aurocs) / 2, abs=1e-4)
        assert 0 <= entry["pooled_auroc"] <= 1
        settings = json.loads((out / f"{name}-seed1" / "training_config.json").read_text())
        assert settings["seed"] == 1 and settings["backdrop_guard"] is (name == "micro")
        scores = json.loads((out / f"{name}-seed13" / "held_out_scores.json").read_text())
        assert {row["label"] for row in scores} <= {"damaged", "intact"} and scores
    printed = capsys.readouterr().out
    assert "micro seed 13: ok" in printed and "mean" in printed and "pooled" in printed

    logs = {p: p.stat().st_mtime_ns for p in out.glob("*/train.log")}
    assert len(logs) == 4
    assert sweep.main(argv) == 0
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/train.log")} == logs


def test_a_failed_run_is_reported_and_fails_the_sweep(
    labelled_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sweep"
    argv = ["--seeds", "13", "--out", str(out), "--data", str(labelled_folder)]
    assert sweep.main([*argv, "--variant", f"bad={MICRO} --preset no-such-preset"]) == 1
    assert "bad seed 13: FAILED (exit 2" in capsys.readouterr().out
    assert "--preset" in (out / "bad-seed13" / "train.log").read_text()


@pytest.mark.parametrize("variant", ["no-equals-sign", "=--epochs 3", "a b=--epochs 3"])
def test_a_malformed_variant_exits_2(variant: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        sweep.parse_args(["--variant", variant])
    assert exit_info.value.code == 2 and "expected NAME=FLAGS" in capsys.readouterr().err
