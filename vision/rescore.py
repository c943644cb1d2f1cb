"""Score a saved damage model again with other inference views, without retraining.

    python -m vision.rescore [--corner-crops 0.7] [--serve-size 224] [--model models/damage]

Sets how many views of each photo the model looks at (the whole photo, plus its four corner
crops of the given side when it is above 0) and at what side they are scored, refits the
calibration's temperature on the model's held-out split for those views (averaged logits are
scaled differently; the model's verdict bias is kept), and rewrites the model folder's
preprocessor_config.json, calibration.json, metrics.json, training_config.json and model card.
The weights are not touched; the model version in config.json gets a suffix naming the views and
side (``-crops0.7``, ``-224px``), since the same weights then give other probabilities.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

import torch

from vision.calibrate import Calibration
from vision.data import PhotoDataset, read_folder, split_by_group
from vision.model import load_model
from vision.paths import default_model_dir
from vision.train import calibrate_and_score, load_config, save_companions, scoring_version
from vision.transforms import Preprocess


def rescore(
    model_dir: Path,
    corner_crops: float | None = None,
    serve_size: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Switch what is given (None keeps the model's setting; 0 means off / the training side)."""
    config = load_config(model_dir)
    if corner_crops is not None:
        config = dataclasses.replace(config, corner_crops=corner_crops)
    if serve_size is not None:
        config = dataclasses.replace(config, serve_size=0 if serve_size == config.image_size else serve_size)
    _, val_examples = split_by_group(read_folder(config.data), config.val_fraction, config.seed)
    model = load_model(model_dir)
    spec = dataclasses.replace(
        Preprocess.load(model_dir),
        size=config.serve_size or config.image_size,
        corner_crops=config.corner_crops or None,
    )
    val_set = PhotoDataset(val_examples, spec, progress=progress)
    bias = Calibration.load(model_dir).verdict_bias
    calibration, report = calibrate_and_score(model, val_set, spec, bias, progress=progress)
    previous = json.loads((model_dir / "metrics.json").read_text())
    metrics = {**report, "training": previous["training"]}
    version = scoring_version(getattr(model.config, "model_version", model_dir.name), config)
    model.config.model_version = version
    model.config.save_pretrained(model_dir)  # config.json only: the weights are untouched
    save_companions(version, spec, calibration, metrics, config)
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vision.rescore", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", type=Path, default=default_model_dir(), help="saved model folder (default: %(default)s)"
    )
    parser.add_argument(
        "--corner-crops",
        type=float,
        help="side of the four corner crops as a share of the photo, e.g. 0.7; 0: the whole photo only "
        "(default: keep the model's)",
    )
    parser.add_argument(
        "--serve-size",
        type=int,
        help="square side the photos are scored at, e.g. 224; 0: the side the model was trained at "
        "(default: keep the model's)",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.corner_crops is None and args.serve_size is None:
        parser.error("say what to change: --corner-crops, --serve-size or both")
    if args.corner_crops is not None and not 0 <= args.corner_crops < 1:
        parser.error("--corner-crops must be at least 0 and below 1")
    if args.serve_size is not None and not (args.serve_size == 0 or 64 <= args.serve_size <= 512):
        parser.error("--serve-size must be 0 (the training side) or between 64 and 512 pixels")
    if not (args.model / "training_config.json").is_file():
        parser.error(f"{args.model} has no training_config.json: cannot rebuild its held-out split")
    torch.set_num_threads(args.threads)
    metrics = rescore(args.model, args.corner_crops, args.serve_size)
    print(json.dumps({"model": str(args.model), "held_out": metrics["held_out"]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
