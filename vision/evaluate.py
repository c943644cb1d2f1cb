"""Measure a saved damage model on a labelled folder.

    python -m vision.evaluate --data DIR [--model models/damage] [--out var/vision-eval]

DIR holds ``labels.csv`` or ``damaged/`` and ``intact/`` (optionally ``unusable/``) folders.
On the model's own training folder only its held-out split is scored. Besides the photos as
they are, a copy with the backdrops altered is scored: plain backdrops replaced by clutter,
scene photos shrunk onto a white canvas. A model that learned "white backdrop = intact"
loses its AUROC on that copy.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm
from transformers import PreTrainedModel

from vision.calibrate import Calibration
from vision.data import read_folder, split_by_group
from vision.heads import DAMAGED, INTACT, VERDICTS, damage_score, group_slices, id2label, probabilities
from vision.images import load_rgb
from vision.metrics import auroc, auroc_interval, binary_report, confusion_matrix, reliability, top_label_ece
from vision.model import load_model
from vision.paths import REPO_ROOT, default_data_dir, default_model_dir
from vision.transforms import (
    BACKDROPS,
    Preprocess,
    plain_backdrop_mask,
    random_backdrop,
    replace_backdrop,
    shrink_onto,
)


@torch.inference_mode()
def collect_logits(
    model: PreTrainedModel,
    images: list[Image.Image],
    spec: Preprocess,
    batch_size: int = 32,
    progress: bool = False,
) -> torch.Tensor:
    """One row of logits per photo, averaged over the photo's views (``Preprocess.views``)."""
    model.eval()
    device = model.device
    chunks = []
    for start in tqdm(range(0, len(images), batch_size), desc="scoring", disable=not progress):
        views = torch.stack([spec.views(image) for image in images[start : start + batch_size]])
        logits = model(pixel_values=views.flatten(0, 1).to(device)).logits.float().cpu()
        chunks.append(logits.unflatten(0, views.shape[:2]).mean(dim=1))
    return torch.cat(chunks) if chunks else torch.empty(0, len(id2label()))


def damage_auroc(logits: torch.Tensor, verdicts: torch.Tensor, slices: dict[str, slice]) -> float:
    scores = damage_score(torch.softmax(logits[:, slices["verdict"]], dim=-1)).numpy()
    keep = (verdicts == DAMAGED) | (verdicts == INTACT)
    return auroc(scores[keep.numpy()], (verdicts[keep] == DAMAGED).numpy())


def calibrated_damage(
    logits: torch.Tensor, slices: dict[str, slice], calibration: Calibration
) -> torch.Tensor:
    return damage_score(
        probabilities(logits, slices, calibration.temperature, calibration.verdict_bias).verdict
    )


def score(
    logits: torch.Tensor, verdicts: torch.Tensor, slices: dict[str, slice], calibration: Calibration
) -> dict[str, Any]:
    """Every number the model card quotes, from logits and true verdicts."""
    probs = probabilities(logits, slices, calibration.temperature, calibration.verdict_bias).verdict
    damage = damage_score(probs).numpy()
    truth = verdicts.numpy()
    keep = (truth == DAMAGED) | (truth == INTACT)
    is_damaged = truth[keep] == DAMAGED
    binary = binary_report(damage[keep], is_damaged, calibration.damage_threshold)
    bins = reliability(damage[keep], is_damaged)
    return {
        "photos": {name: int((truth == i).sum()) for i, name in enumerate(VERDICTS)},
        "auroc": round(auroc(damage[keep], is_damaged), 4),
        "threshold": binary.threshold,
        "accuracy": round(binary.accuracy, 4),
        "precision": round(binary.precision, 4),
        "recall": round(binary.recall, 4),
        "f1": round(binary.f1, 4),
        "ece_damage_probability": round(bins.ece, 4),
        "ece_verdict": round(top_label_ece(probs.numpy(), truth), 4),
        "verdict_accuracy": round(float((probs.argmax(-1).numpy() == truth).mean()), 4),
        "confusion_matrix": confusion_matrix(truth, probs.argmax(-1).numpy(), len(VERDICTS)).tolist(),
    }


def backdrop_altered(
    images: list[Image.Image], seed: int = 0, masks: list[Image.Image | None] | None = None
) -> list[Image.Image]:
    """The shortcut test: swap plain backdrops for clutter, put scenes on white."""
    rng = np.random.default_rng(seed)
    cluttered = tuple(kind for kind in BACKDROPS if kind not in ("light", "scene"))
    if masks is None:
        masks = [plain_backdrop_mask(image) for image in images]
    altered = []
    for image, mask in zip(images, masks, strict=True):
        if mask is not None:
            altered.append(replace_backdrop(image, mask, random_backdrop(image.size, rng, kinds=cluttered)))
        else:
            white = Image.new("RGB", image.size, (255, 255, 255))
            altered.append(shrink_onto(image, white, 0.7, rng))
    return altered


def damaged_vs_intact(
    logits: torch.Tensor,
    verdicts: torch.Tensor,
    slices: dict[str, slice],
    calibration: Calibration,
    groups: list[str],
) -> dict[str, Any]:
    """AUROC with its bootstrap interval, and the operating point, on damaged vs intact photos."""
    damage = calibrated_damage(logits, slices, calibration).numpy()
    truth = verdicts.numpy()
    keep = (truth == DAMAGED) | (truth == INTACT)
    is_damaged = truth[keep] == DAMAGED
    value = auroc(damage[keep], is_damaged)
    interval = auroc_interval(damage[keep], is_damaged, [g for g, k in zip(groups, keep, strict=True) if k])
    binary = binary_report(damage[keep], is_damaged, calibration.damage_threshold)
    return {
        "photos": {"damaged": int(is_damaged.sum()), "intact": int((~is_damaged).sum())},
        "auroc": None if np.isnan(value) else round(value, 4),
        "auroc_95": None if interval is None else [round(bound, 4) for bound in interval],
        "precision": round(binary.precision, 4),
        "recall": round(binary.recall, 4),
    }


def held_out_report(
    model: PreTrainedModel,
    images: list[Image.Image],
    verdicts: torch.Tensor,
    spec: Preprocess,
    calibration: Calibration,
    logits: torch.Tensor | None = None,
    progress: bool = False,
    groups: list[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Scores on the photos as they are, on their backdrop-altered copies, and on the real scenes.

    ``groups`` (near-duplicate group per photo) make the AUROC interval resample whole items.
    "real_scenes" are the photos without a plain studio backdrop, the kind shoppers take.
    """
    slices = group_slices(model.config.id2label)
    groups = groups if groups is not None else [str(i) for i in range(len(images))]
    if logits is None:
        logits = collect_logits(model, images, spec, progress=progress)
    masks = [plain_backdrop_mask(image) for image in images]
    altered_logits = collect_logits(model, backdrop_altered(images, masks=masks), spec, progress=progress)
    original = score(logits, verdicts, slices, calibration)
    original["auroc_95"] = damaged_vs_intact(logits, verdicts, slices, calibration, groups)["auroc_95"]
    scenes = torch.tensor([mask is None for mask in masks], dtype=torch.bool)
    real_scenes = damaged_vs_intact(
        logits[scenes],
        verdicts[scenes],
        slices,
        calibration,
        [g for g, s in zip(groups, scenes.tolist(), strict=True) if s],
    )
    altered = score(altered_logits, verdicts, slices, calibration)
    threshold = calibration.damage_threshold
    flipped = (calibrated_damage(logits, slices, calibration) >= threshold) != (
        calibrated_damage(altered_logits, slices, calibration) >= threshold
    )
    altered["verdict_changed"] = round(float(flipped.float().mean()), 4)
    return {"held_out": original, "backdrop_altered": altered, "real_scenes": real_scenes}


def plot_confusion(matrix: list[list[int]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.asarray(matrix)
    figure, axes = plt.subplots(figsize=(4.5, 4))
    axes.imshow(counts, cmap="Blues")
    for (row, column), value in np.ndenumerate(counts):
        colour = "white" if value > counts.max() / 2 else "black"
        axes.text(column, row, str(value), ha="center", va="center", color=colour)
    axes.set_xticks(range(len(VERDICTS)), VERDICTS)
    axes.set_yticks(range(len(VERDICTS)), VERDICTS)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title("Verdict confusion matrix")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_reliability(damage: np.ndarray, is_damaged: np.ndarray, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = reliability(damage, is_damaged)
    centres = (bins.edges[:-1] + bins.edges[1:]) / 2
    figure, axes = plt.subplots(figsize=(4.5, 4))
    axes.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    filled = bins.counts > 0
    axes.bar(centres[filled], bins.accuracy[filled], width=0.09, alpha=0.7, label="observed share damaged")
    axes.plot(bins.confidence[filled], bins.accuracy[filled], "o-", color="C1", label="mean prediction")
    axes.set_xlabel("predicted damage_probability")
    axes.set_ylabel("share actually damaged")
    axes.set_title(f"Reliability (ECE {bins.ece:.3f})")
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _pick_split(data: Path, model_dir: Path, split: str) -> tuple[list, str]:
    examples = read_folder(data)
    settings_path = model_dir / "training_config.json"
    settings = json.loads(settings_path.read_text()) if settings_path.is_file() else {}
    trained_on = settings.get("data")
    if split == "auto":
        same = trained_on is not None and (REPO_ROOT / trained_on).resolve() == data.resolve()
        split = "val" if same else "all"
    if split == "val":
        if "val_fraction" not in settings:
            raise SystemExit(f"{settings_path} is missing: cannot rebuild the held-out split.")
        _, examples = split_by_group(examples, settings["val_fraction"], settings["seed"])
    return examples, split


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vision.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=default_data_dir(), help="labelled folder (default: %(default)s)"
    )
    parser.add_argument(
        "--model", type=Path, default=default_model_dir(), help="saved model folder (default: %(default)s)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("var/vision-eval"),
        help="where metrics.json and the PNGs go (default: %(default)s)",
    )
    parser.add_argument(
        "--split",
        choices=("auto", "all", "val"),
        default="auto",
        help="val: only the held-out split of the model's training folder; "
        "auto: val when DIR is that folder, else all (default: auto)",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: %(default)s)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    examples, split = _pick_split(args.data, args.model, args.split)
    model = load_model(args.model)
    spec = Preprocess.load(args.model)
    calibration = Calibration.load(args.model)
    images = [load_rgb(e.path, 288) for e in tqdm(examples, desc="decoding photos")]
    verdicts = torch.tensor([VERDICTS.index(e.label) for e in examples])
    logits = collect_logits(model, images, spec, progress=True)
    groups = [e.group for e in examples]
    report: dict[str, Any] = held_out_report(
        model, images, verdicts, spec, calibration, logits, progress=True, groups=groups
    )
    report["evaluated"] = {"data": str(args.data), "split": split, "model": str(args.model)}

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    plot_confusion(report["held_out"]["confusion_matrix"], args.out / "confusion_matrix.png")
    damage = calibrated_damage(logits, group_slices(model.config.id2label), calibration).numpy()
    keep = ((verdicts == DAMAGED) | (verdicts == INTACT)).numpy()
    is_damaged = (verdicts == DAMAGED).numpy()[keep]
    plot_reliability(damage[keep], is_damaged, args.out / "reliability_diagram.png")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
