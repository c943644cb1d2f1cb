"""Compare damage-model training settings over several held-out splits, not one.

    python scripts/damage_sweep.py --seeds 13 1 2 --parallel 3 \\
        --variant default= --variant big="--preset resnet-small --image-size 192"

One split of the curated set holds out about 17 damaged photos, so one run's AUROC moves by
several hundredths when a single photo changes side (docs/model.md). This script trains every
variant (``NAME=FLAGS``, the flags of ``python -m vision.train``) once per split seed (``--seed``
picks both the split and the initialisation), runs up to ``--parallel`` trainings at once, and
prints per variant the held-out AUROC of each split, their mean, and the pooled AUROC over all
held-out photos of all splits (each photo scored by the model that did not see it). Every run's
model folder, log and metrics.json stay under ``--out``; a variant/seed whose metrics.json is
already there is not trained again, so an interrupted sweep resumes.

Each run is ``vision.train`` with ``--max-minutes`` raised (several trainings share the cores,
and a budget would cut them short); add ``--device cuda`` to a variant's flags on a GPU machine.
A variant with ``--init-seed N`` in its flags trains another initialisation on the same splits,
which measures how far the initialisation alone moves a split's numbers.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from vision.data import read_folder, split_by_group  # noqa: E402
from vision.metrics import auroc  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--variant",
        action="append",
        required=True,
        metavar="NAME=FLAGS",
        help="a name and the vision.train flags it adds, e.g. big='--preset resnet-small'; repeatable",
    )
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[13, 1, 2], help="split seeds (default: 13 1 2)"
    )
    parser.add_argument("--parallel", type=int, default=1, help="trainings at once (default: 1)")
    parser.add_argument("--out", type=Path, default=REPO / "var" / "damage-sweep", help="where runs are kept")
    parser.add_argument("--data", type=Path, default=None, help="labelled folder (default: vision.train's)")
    args = parser.parse_args(argv)
    variants = {}
    for item in args.variant:
        name, sep, flags = item.partition("=")
        if not sep or not name or not name.replace("-", "").replace("_", "").isalnum():
            parser.error(f"--variant {item!r}: expected NAME=FLAGS with a name of letters, digits, - or _")
        variants[name] = shlex.split(flags)
    args.variants = variants
    if args.parallel < 1:
        parser.error("--parallel must be at least 1")
    return args


def run_one(name: str, flags: list[str], seed: int, args: argparse.Namespace) -> Path:
    folder = args.out / f"{name}-seed{seed}"
    if (folder / "metrics.json").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "vision.train", "--out", str(folder), "--seed", str(seed)]
    command += ["--max-minutes", "1000", "--threads", "1"]
    if args.data:
        command += ["--data", str(args.data)]
    command += flags
    started = time.monotonic()
    with open(folder / "train.log", "w") as log:
        done = subprocess.run(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, check=False)
    minutes = (time.monotonic() - started) / 60
    status = "ok" if done.returncode == 0 else f"FAILED (exit {done.returncode}, see {folder / 'train.log'})"
    print(f"{name} seed {seed}: {status}, {minutes:.1f} min", flush=True)
    return folder


def pooled_auroc(folders: list[Path]) -> float | None:
    """AUROC over the union of the held-out photos of every split, from each run's scores."""
    scores, labels = [], []
    for folder in folders:
        path = folder / "held_out_scores.json"
        if not path.exists():
            return None
        rows = json.loads(path.read_text())
        scores += [r["damage_probability"] for r in rows]
        labels += [r["label"] == "damaged" for r in rows]
    return auroc(np.array(scores), np.array(labels)) if labels else None


def write_scores(folder: Path) -> None:
    """Each held-out damaged/intact photo of this run's split with its calibrated damage probability
    (the data, split seed and share as the run's training_config.json records them)."""
    target = folder / "held_out_scores.json"
    if target.exists() or not (folder / "metrics.json").exists():
        return
    from vision.assess import DamageAssessor
    from vision.train import load_config

    config = load_config(folder)
    _, val = split_by_group(read_folder(config.data), config.val_fraction, config.seed)
    assessor = DamageAssessor(folder, threads=1)
    rows = []
    for example in val:
        if example.label in ("damaged", "intact"):
            probability = assessor.assess(example.path).damage_probability
            rows.append(
                {"file": str(example.path), "label": example.label, "damage_probability": probability}
            )
    target.write_text(json.dumps(rows) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = [(name, flags, seed) for name, flags in args.variants.items() for seed in args.seeds]
    with ThreadPoolExecutor(args.parallel) as pool:
        folders = list(pool.map(lambda job: run_one(*job, args), jobs))
    summary = {}
    failed = False
    for (name, _, seed), folder in zip(jobs, folders, strict=True):
        metrics_path = folder / "metrics.json"
        if not metrics_path.exists():
            failed = True
            continue
        write_scores(folder)
        metrics = json.loads(metrics_path.read_text())
        entry = summary.setdefault(name, {"flags": shlex.join(args.variants[name]), "runs": {}})
        entry["runs"][seed] = {
            "auroc": metrics["held_out"]["auroc"],
            "real_scenes": (metrics.get("real_scenes") or {}).get("auroc"),
            "altered": (metrics.get("backdrop_altered") or {}).get("auroc"),
            "minutes": metrics["training"]["minutes"],
        }
    for name, entry in summary.items():
        runs = entry["runs"]
        entry["mean_auroc"] = round(float(np.mean([r["auroc"] for r in runs.values()])), 4)
        pooled = pooled_auroc([args.out / f"{name}-seed{s}" for s in runs])
        entry["pooled_auroc"] = None if pooled is None else round(pooled, 4)
        per_seed = ", ".join(f"{s}: {r['auroc']:.3f}" for s, r in runs.items())
        print(f"{name:>16}  mean {entry['mean_auroc']:.3f}  pooled {entry['pooled_auroc']}  ({per_seed})")
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"summary: {args.out / 'summary.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
