"""Score a damage sweep's models several ways: the side, the corner views, a mirror image, ensembles.

    python scripts/scoring_options.py --runs var/damage-sweep --variants base init2 init3 --seeds 1 2 13

Reads the model folders ``RUNS/VARIANT-seedSEED`` that ``scripts/damage_sweep.py`` writes, scores
each split's held-out damaged and intact photos with every model of that split under each scoring
option (the weights untouched), and prints per option the mean over the models of the held-out
AUROC, the real-scene AUROC (no plain backdrop) and the backdrop-altered AUROC, then the AUROC
of the ensemble of the variants (damage log-odds averaged), the mean over the splits. Give the
variants several ``--init-seed``s of one recipe to measure what an ensemble adds. AUROC is of the
uncalibrated damage score, which ranks photos as the calibrated probability does.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers import PreTrainedModel

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from vision.data import PhotoDataset, read_folder, split_by_group  # noqa: E402
from vision.evaluate import backdrop_altered  # noqa: E402
from vision.heads import damage_score, group_slices  # noqa: E402
from vision.metrics import auroc  # noqa: E402
from vision.model import load_model  # noqa: E402
from vision.train import load_config  # noqa: E402
from vision.transforms import Preprocess, plain_backdrop_mask  # noqa: E402


@dataclass(frozen=True)
class Option:
    size: int | None = None  # None: the model's own side
    corner_crops: float | None = None
    mirror: bool = False
    corner_size: int | None = None  # corner views' side; None: the whole photo's, 0: the model's own


OPTIONS = {
    "one view (the model's own)": Option(),
    "and its mirror image": Option(mirror=True),
    "one view at 192 px": Option(size=192),
    "one view at 224 px": Option(size=224),
    "224 px and its mirror image": Option(size=224, mirror=True),
    "five views (0.7 corner crops)": Option(corner_crops=0.7),
    "five views (0.6 corner crops)": Option(corner_crops=0.6),
    "five views at 224 px": Option(size=224, corner_crops=0.7),
    "224 px, corner views at the model's side": Option(size=224, corner_crops=0.7, corner_size=0),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, required=True, help="the sweep's --out folder")
    parser.add_argument("--variants", nargs="+", required=True, help="variant names of the sweep")
    parser.add_argument("--seeds", type=int, nargs="+", required=True, help="split seeds of the sweep")
    parser.add_argument("--out", type=Path, default=None, help="also write the numbers as JSON here")
    args = parser.parse_args(argv)
    missing = [
        f"{v}-seed{s}" for v in args.variants for s in args.seeds if not (args.runs / f"{v}-seed{s}").is_dir()
    ]
    if missing:
        parser.error(f"no model folder in {args.runs} for: {', '.join(missing)}")
    return args


def damage_log_odds(
    model: PreTrainedModel,
    images: list[Image.Image],
    spec: Preprocess,
    mirror: bool,
    corners: Preprocess | None = None,
) -> np.ndarray:
    """One damage log-odds per photo, the logits averaged over its views (and their mirror images).

    With ``corners``, the whole photo is scored by ``spec`` and the corner views by ``corners``
    (another side), one forward pass each, every view weighing the same in the mean.
    """
    verdict = group_slices(model.config.id2label)["verdict"]
    rows = []
    with torch.inference_mode():
        for image in images:
            batches = (
                [spec.views(image)] if corners is None else [spec(image)[None], corners.views(image)[1:]]
            )
            if mirror:
                batches = [torch.cat([views, views.flip(-1)]) for views in batches]
            rows.append(torch.cat([model(pixel_values=views).logits for views in batches]).mean(dim=0))
    score = damage_score(torch.softmax(torch.stack(rows)[:, verdict], dim=-1)).double().clamp(1e-9, 1 - 1e-9)
    return torch.log(score / (1 - score)).numpy()


def score_split(args: argparse.Namespace, seed: int) -> dict[str, dict[str, dict[str, float]]]:
    """{option: {variant or "ensemble": {"all", "scenes", "altered"}}} for one split."""
    config = load_config(args.runs / f"{args.variants[0]}-seed{seed}")
    _, held_out = split_by_group(read_folder(Path(config.data)), config.val_fraction, config.seed)
    held_out = [e for e in held_out if e.label in ("damaged", "intact")]
    images = PhotoDataset(held_out, Preprocess(), progress=False).images
    damaged = np.array([e.label == "damaged" for e in held_out])
    masks = [plain_backdrop_mask(image) for image in images]
    scenes = np.array([mask is None for mask in masks])
    altered = backdrop_altered(images, masks=masks)
    result: dict[str, dict[str, dict[str, float]]] = {name: {} for name in OPTIONS}
    ensemble = {name: (np.zeros(len(images)), np.zeros(len(images))) for name in OPTIONS}
    for variant in args.variants:
        folder = args.runs / f"{variant}-seed{seed}"
        model, own_side = load_model(folder), Preprocess.load(folder).size
        for name, option in OPTIONS.items():
            spec = Preprocess(size=option.size or own_side, corner_crops=option.corner_crops)
            corners = None
            if option.corner_size is not None:
                corners = Preprocess(size=option.corner_size or own_side, corner_crops=option.corner_crops)
            scores = damage_log_odds(model, images, spec, option.mirror, corners)
            scores_altered = damage_log_odds(model, altered, spec, option.mirror, corners)
            result[name][variant] = _aurocs(scores, scores_altered, damaged, scenes)
            ensemble[name][0][:] += scores
            ensemble[name][1][:] += scores_altered
    for name, (scores, scores_altered) in ensemble.items():
        result[name]["ensemble"] = _aurocs(scores, scores_altered, damaged, scenes)
    return result


def _aurocs(
    scores: np.ndarray, altered: np.ndarray, damaged: np.ndarray, scenes: np.ndarray
) -> dict[str, float]:
    return {
        "all": auroc(scores, damaged),
        "scenes": auroc(scores[scenes], damaged[scenes]),
        "altered": auroc(altered, damaged),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(2)
    splits = {seed: score_split(args, seed) for seed in args.seeds}
    summary: dict[str, dict[str, float]] = {}
    for name in OPTIONS:
        singles = [splits[s][name][v] for s in args.seeds for v in args.variants]
        ensembles = [splits[s][name]["ensemble"] for s in args.seeds]
        summary[name] = {
            **{key: float(np.nanmean([r[key] for r in singles])) for key in ("all", "scenes", "altered")},
            "ensemble": float(np.nanmean([r["all"] for r in ensembles])),
        }
    width = max(map(len, OPTIONS))
    print(f"{'scored as':{width}}  held-out  real scenes  altered  ensemble of {len(args.variants)}")
    for name, row in summary.items():
        print(
            f"{name:{width}}  {row['all']:8.3f}  {row['scenes']:11.3f}  "
            f"{row['altered']:7.3f}  {row['ensemble']:8.3f}"
        )
    if args.out:
        args.out.write_text(json.dumps({"summary": summary, "splits": splits}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
