"""The serving contract: Assessment.to_dict(), heatmaps, threads, the singleton, the CLIs."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from PIL import Image
from transformers import AutoModelForImageClassification

import vision.assess
from tests.vision.conftest import ROOT, SHIPPED_MODEL, product_photo, save_labelled_folder
from vision import bench, evaluate, predict
from vision.assess import SERVING_THREADS, DamageAssessor, get_assessor, serving_threads
from vision.images import ImageError

CONTRACT_KEYS = {
    "damage_probability",
    "severity",
    "damage_type",
    "confidence",
    "unusable_probability",
    "quality",
    "model_version",
    "latency_ms",
}


@pytest.fixture(scope="module")
def assessor(micro_model_dir: Path) -> DamageAssessor:
    return DamageAssessor(micro_model_dir)


def _check_contract(result: dict[str, object]) -> None:
    assert set(result) >= CONTRACT_KEYS
    assert 0 <= result["damage_probability"] <= 1 and 0.5 <= result["confidence"] <= 1
    assert 0 <= result["unusable_probability"] <= 1
    assert result["severity"] in ("none", "minor", "severe")
    assert result["damage_type"] is None or isinstance(result["damage_type"], str)
    assert set(result["quality"]) == {"ok", "issues", "message"}
    assert result["latency_ms"] > 0 and isinstance(result["model_version"], str)
    json.dumps(result)


@pytest.mark.parametrize("kind", ["pil", "bytes", "path"])
def test_assess_accepts_every_input_kind(assessor: DamageAssessor, tmp_path: Path, kind: str) -> None:
    photo = product_photo()
    path = tmp_path / "box.jpg"
    photo.save(path)
    source = {"pil": photo, "bytes": path.read_bytes(), "path": str(path)}[kind]
    result = assessor.assess(source).to_dict()
    _check_contract(result)
    assert result["model_version"] == "damage-test-micro"


def test_severity_follows_the_damage_verdict(assessor: DamageAssessor) -> None:
    result = assessor.assess(product_photo()).to_dict()
    damaged = result["damage_probability"] >= assessor.calibration.damage_threshold
    assert (result["severity"] != "none") == damaged
    if not damaged:
        assert result["damage_type"] is None


def test_a_tiny_photo_is_assessed_with_a_retake_request(assessor: DamageAssessor) -> None:
    result = assessor.assess(Image.new("RGB", (1, 1))).to_dict()
    assert result["quality"]["issues"] == ["too_small"] and not result["quality"]["ok"]


def test_an_unreadable_photo_raises_image_error(assessor: DamageAssessor) -> None:
    with pytest.raises(ImageError):
        assessor.assess(b"\x00garbage")


def test_heatmap_is_a_png_overlay(assessor: DamageAssessor) -> None:
    png = assessor.heatmap_png(product_photo((640, 480)))
    overlay = Image.open(io.BytesIO(png))
    assert overlay.format == "PNG" and overlay.size == (512, 384)


def test_the_served_model_is_channels_last_and_scores_as_saved(micro_model_dir: Path) -> None:
    served = DamageAssessor(micro_model_dir).model
    saved = AutoModelForImageClassification.from_pretrained(micro_model_dir).eval()
    convolutions = [m.weight for m in served.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convolutions and all(w.is_contiguous(memory_format=torch.channels_last) for w in convolutions)
    pixels = torch.rand(3, 3, 64, 64)
    with torch.inference_mode():
        served_logits, saved_logits = served(pixel_values=pixels).logits, saved(pixel_values=pixels).logits
    assert torch.allclose(served_logits, saved_logits, atol=1e-5)


def test_concurrent_calls_agree_with_sequential_ones(assessor: DamageAssessor) -> None:
    photos = [product_photo(seed=i) for i in range(6)]
    expected = [assessor.assess(p).damage_probability for p in photos]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda p: assessor.assess(p).damage_probability, photos * 2))
    assert results == pytest.approx(expected * 2, abs=1e-6)


def test_get_assessor_loads_once_from_the_configured_folder(
    micro_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAMAGE_MODEL_DIR", str(micro_model_dir))
    monkeypatch.setattr(vision.assess, "_assessor", None)
    with ThreadPoolExecutor(max_workers=4) as pool:
        instances = list(pool.map(lambda _: get_assessor(), range(8)))
    assert all(instance is instances[0] for instance in instances)
    assert instances[0].model_version == "damage-test-micro"


def test_the_served_assessor_uses_one_torch_thread_unless_told(
    micro_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert serving_threads({}) == SERVING_THREADS == 1
    assert serving_threads({"VISION_TORCH_THREADS": " 2 "}) == 2
    for bad, reason in [("two", "whole number of threads"), ("0", "must be 1 or more, not 0")]:
        with pytest.raises(ValueError, match=reason):
            serving_threads({"VISION_TORCH_THREADS": bad})
    before = torch.get_num_threads()
    monkeypatch.setenv("DAMAGE_MODEL_DIR", str(micro_model_dir))
    try:
        for wanted in ("", "2"):
            monkeypatch.setenv("VISION_TORCH_THREADS", wanted)
            monkeypatch.setattr(vision.assess, "_assessor", None)
            get_assessor()
            assert torch.get_num_threads() == (int(wanted) if wanted else SERVING_THREADS)
    finally:
        torch.set_num_threads(before)


def test_a_missing_model_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"python -m vision\.train"):
        DamageAssessor(tmp_path)


def test_predict_prints_one_json_line_per_photo_and_fails_at_the_end(
    micro_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, corrupt = tmp_path / "good.jpg", tmp_path / "corrupt.jpg"
    product_photo().save(good)
    corrupt.write_bytes(b"\xff\xd8\xff not really a jpeg")
    heatmaps = tmp_path / "heat"
    code = predict.main(
        [
            str(good),
            str(corrupt),
            str(tmp_path / "missing.png"),
            "--json",
            "--threads",
            "1",
            "--model",
            str(micro_model_dir),
            "--heatmap-dir",
            str(heatmaps),
        ]
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1
    assert [line["path"] for line in lines] == [str(good), str(corrupt), str(tmp_path / "missing.png")]
    _check_contract(lines[0])
    assert "error" in lines[1] and "error" in lines[2] and "damage_probability" not in lines[1]
    assert (heatmaps / "good.heatmap.png").is_file()


def test_predict_exits_zero_when_every_photo_is_fine(
    micro_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "box.png"
    product_photo().save(path)
    assert predict.main([str(path), "--model", str(micro_model_dir), "--threads", "1"]) == 0
    assert "damage" in capsys.readouterr().out


@pytest.mark.skipif(
    not (SHIPPED_MODEL / "model.safetensors").is_file(), reason="no trained model shipped yet"
)
def test_the_shipped_model_through_the_real_command(tmp_path: Path) -> None:
    photo, cmyk = tmp_path / "box.jpg", tmp_path / "cmyk.jpg"
    product_photo().save(photo)
    product_photo().convert("CMYK").save(cmyk)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DAMAGE_MODEL_DIR", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "vision.predict",
            str(photo),
            str(cmyk),
            str(tmp_path / "nope.jpg"),
            "--json",
            "--threads",
            "1",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 1 and "Traceback" not in done.stderr
    _check_contract(lines[0])
    _check_contract(lines[1])
    assert "error" in lines[2]
    config = json.loads((SHIPPED_MODEL / "config.json").read_text())
    assert lines[0]["model_version"] == config["model_version"]


def test_evaluate_writes_metrics_and_pictures(micro_model_dir: Path, tmp_path: Path) -> None:
    rows = [("damaged", "minor", "torn", f"d{i}") for i in range(3)]
    rows += [("intact", "none", "", f"i{i}") for i in range(3)]
    data = save_labelled_folder(tmp_path / "data", rows)
    studio = Image.new("RGB", (160, 160), (255, 255, 255))  # a product on a plain studio backdrop
    studio.paste((180, 40, 40), (50, 40, 110, 120))
    studio.save(data / "images/intact/studio.jpg")
    with open(data / "labels.csv", "a") as labels:
        labels.write("images/intact/studio.jpg,intact,none,,studio,made by the test\n")
    out = tmp_path / "eval"
    argv = ["--data", str(data), "--model", str(micro_model_dir), "--out", str(out), "--threads", "1"]
    assert evaluate.main(argv) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["evaluated"]["split"] == "all"
    assert report["held_out"]["photos"] == {"intact": 4, "damaged": 3, "unusable": 0}
    for key in ("auroc", "accuracy", "f1", "ece_damage_probability"):
        assert 0 <= report["held_out"][key] <= 1
    assert "verdict_changed" in report["backdrop_altered"]
    low, high = report["held_out"]["auroc_95"]
    assert 0 <= low <= report["held_out"]["auroc"] <= high <= 1
    # the crafted photos are textured scenes; the studio shot is left out of the real scenes
    assert report["real_scenes"]["photos"] == {"damaged": 3, "intact": 3}
    assert report["real_scenes"]["auroc_95"][0] <= report["real_scenes"]["auroc"]
    assert Image.open(out / "confusion_matrix.png").format == "PNG"
    assert Image.open(out / "reliability_diagram.png").format == "PNG"


def test_bench_times_the_served_thread_count_and_refuses_a_bad_one(
    micro_model_dir: Path,
    labelled_folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = torch.get_num_threads()
    flags = ["--model", str(micro_model_dir), "--data", str(labelled_folder), "--photos", "3"]
    try:
        monkeypatch.delenv("VISION_TORCH_THREADS", raising=False)
        assert bench.main(flags) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["threads"] == SERVING_THREADS
        assert report["photos"] == 3
        assert report["model_version"] == "damage-test-micro"
        monkeypatch.setenv("VISION_TORCH_THREADS", "2")
        assert bench.main(flags) == 0
        assert json.loads(capsys.readouterr().out)["threads"] == 2
        assert bench.main([*flags, "--threads", "3"]) == 0
        assert json.loads(capsys.readouterr().out)["threads"] == 3
        for environment, extra, reason in [
            ("many", [], "VISION_TORCH_THREADS must be a whole number"),
            ("2", ["--threads", "0"], "--threads must be 1 or more"),
        ]:
            monkeypatch.setenv("VISION_TORCH_THREADS", environment)
            with pytest.raises(SystemExit) as stopped:
                bench.main([*flags, *extra])
            assert stopped.value.code == 2
            assert reason in capsys.readouterr().err
    finally:
        torch.set_num_threads(before)
