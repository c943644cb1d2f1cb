"""Train the damage classifier from scratch (or from a checkpoint) and save it for serving.

    python -m vision.train                       # the curated set -> models/damage/
    python -m vision.train --extra-data var/exports/reviews-2026-12   # plus merchant verdicts

Writes config.json + model.safetensors (save_pretrained), preprocessor_config.json,
calibration.json, metrics.json, training_config.json and the model card README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import re
import resource
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, cast

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, WeightedRandomSampler
from tqdm import tqdm
from transformers import PreTrainedModel

from vision import card
from vision.calibrate import Calibration, calibrate, sampling_bias
from vision.data import PhotoDataset, read_folder, split_by_group
from vision.evaluate import collect_logits, damage_auroc, held_out_report
from vision.heads import group_slices, multitask_loss
from vision.model import PRESETS, build_model, channels_last, from_checkpoint
from vision.paths import REPO_ROOT, default_data_dir, default_model_dir
from vision.transforms import Augment, Preprocess


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass
class TrainConfig:
    data: Path = field(
        default_factory=default_data_dir,
        metadata=_help("labelled folder (labels.csv) to train and validate on"),
    )
    extra_data: tuple[Path, ...] = field(
        default=(),
        metadata=_help("extra labelled folders (merchant-review exports), training side only; repeatable"),
    )
    out: Path = field(default_factory=default_model_dir, metadata=_help("where to save the model"))
    preset: str = field(default="resnet-tiny", metadata=_help(f"architecture preset: {', '.join(PRESETS)}"))
    init_from: str | None = field(
        default=None,
        metadata=_help("initialise from a Hugging Face checkpoint (local path or hub id; needs a network)"),
    )
    image_size: int = field(default=160, metadata=_help("square input side in pixels"))
    corner_crops: float = field(
        default=0.0,
        metadata=_help(
            "also score each photo on its four corner crops of this side, e.g. 0.7 (more accurate, "
            "about 18 ms more per photo; docs/model.md); 0: the whole photo only"
        ),
    )
    serve_size: int = field(
        default=0,
        metadata=_help(
            "square side photos are scored at in evaluation and serving; 0: --image-size. Larger "
            "shows objects at the scale training's random crops taught (docs/model.md)"
        ),
    )
    crop_min: float = field(
        default=0.4, metadata=_help("smallest share of a photo's area that a random training crop keeps")
    )
    epochs: int = field(default=120, metadata=_help("passes over the training photos"))
    batch_size: int = field(default=32, metadata=_help("photos per step"))
    lr: float = field(default=1e-3, metadata=_help("peak AdamW learning rate"))
    weight_decay: float = field(default=0.05, metadata=_help("AdamW weight decay"))
    warmup: float = field(default=0.03, metadata=_help("share of training spent on the linear warm-up"))
    label_smoothing: float = field(default=0.1, metadata=_help("label smoothing on the verdict"))
    damaged_boost: float = field(default=3.0, metadata=_help("how much more often a damaged photo is drawn"))
    ema_decay: float = field(default=0.998, metadata=_help("decay of the weight average that is saved"))
    backdrop_guard: bool = field(
        default=True, metadata=_help("replace plain backdrops / shrink onto random canvases")
    )
    val_fraction: float = field(
        default=0.2, metadata=_help("share of near-duplicate groups held out for validation")
    )
    seed: int = field(default=13, metadata=_help("random seed (split, init, augmentation)"))
    init_seed: int | None = field(
        default=None,
        metadata=_help(
            "seed for the initialisation and augmentation alone (unset: --seed's); another "
            "value trains another model on the same split"
        ),
    )
    workers: int = field(default=1, metadata=_help("data-loading worker processes"))
    threads: int = field(default=2, metadata=_help("torch CPU threads"))
    device: str = field(
        default="cpu",
        metadata=_help("where the network trains: cpu, cuda, cuda:N, or auto (cuda when there is one)"),
    )
    eval_every: int = field(default=10, metadata=_help("report held-out AUROC every N epochs"))
    max_minutes: float = field(
        default=27.0,
        metadata=_help("time budget for the run: the schedule compresses to end within it on a busy machine"),
    )
    max_steps: int | None = field(default=None, metadata=_help("stop after this many steps (smoke tests)"))


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    parser = argparse.ArgumentParser(prog="python -m vision.train", description=__doc__.split("\n\n")[0])
    for spec in dataclasses.fields(TrainConfig):
        flag = "--" + spec.name.replace("_", "-")
        factory = spec.default_factory
        default = factory() if factory is not dataclasses.MISSING else spec.default
        help_text = f"{spec.metadata['help']} (default: {default})"
        if spec.type == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=help_text)
        elif spec.name == "extra_data":
            parser.add_argument(flag, type=Path, action="append", default=[], help=spec.metadata["help"])
        else:
            kind = {"Path": Path, "int": int, "float": float, "int | None": int}.get(str(spec.type), str)
            parser.add_argument(flag, type=kind, default=default, help=help_text)
    args = vars(parser.parse_args(argv))
    args["extra_data"] = tuple(args["extra_data"])
    if args["serve_size"] < 0:
        parser.error("--serve-size must be 0 (the training side) or a side in pixels")
    if args["preset"] not in PRESETS:
        parser.error(f"--preset {args['preset']!r} is not one of: {', '.join(PRESETS)}")
    if not 0 < args["crop_min"] <= 1:
        parser.error("--crop-min must be above 0 and at most 1")
    try:
        args["device"] = str(resolve_device(args["device"]))
    except ValueError as error:
        parser.error(str(error))
    return TrainConfig(**args)


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda when torch sees a GPU, else cpu; a named device must exist."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        known = "cpu, cuda, cuda:N, auto"
        raise ValueError(f"--device {name!r} is not a device torch knows ({known})") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {name}: torch sees no CUDA GPU on this machine (use cpu or auto)")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"--device {name}: only cpu and cuda are supported")
    return device


def train(config: TrainConfig, progress: bool = True) -> dict[str, Any]:
    init_seed = config.seed if config.init_seed is None else config.init_seed
    torch.manual_seed(init_seed)
    torch.set_num_threads(config.threads)
    started = time.monotonic()

    examples = read_folder(config.data)
    train_examples, val_examples = split_by_group(examples, config.val_fraction, config.seed)
    for folder in config.extra_data:
        train_examples += read_folder(folder)

    model = from_checkpoint(config.init_from) if config.init_from else build_model(config.preset)
    spec = Preprocess(size=config.serve_size or config.image_size, corner_crops=config.corner_crops or None)
    crops = Preprocess(size=config.image_size)
    guard = {} if config.backdrop_guard else {"backdrop_swap": 0.0, "shrink": 0.0}
    augment = Augment(crops, crop_scale=(config.crop_min, 1.0), **guard)
    train_set = PhotoDataset(train_examples, augment, seed=init_seed, progress=progress)
    val_set = PhotoDataset(val_examples, spec, progress=progress)

    ema = _fit(model, train_set, val_set, spec, config, started, progress)
    ema.module.to("cpu")  # calibrated, scored and saved on the CPU, where it is served
    final = cast(PreTrainedModel, ema.module).eval()

    calibration, report = calibrate_and_score(final, val_set, spec, sampling_bias(config.damaged_boost))
    metrics: dict[str, Any] = {
        **report,
        "training": {
            "minutes": round((time.monotonic() - started) / 60, 1),
            "cpu_minutes": round(_cpu_seconds() / 60, 1),
            "train_photos": len(train_examples),
            "val_photos": len(val_examples),
            "label_counts": _counts(train_examples, val_examples),
        },
    }
    Path(config.out).mkdir(parents=True, exist_ok=True)
    final.config.model_version = scoring_version(model_version(final, config.preset), config)
    final.save_pretrained(config.out)
    save_companions(final.config.model_version, spec, calibration, metrics, config)
    return metrics


def model_version(model: PreTrainedModel, preset: str) -> str:
    """``damage-PRESET-YYYY.MM.DD-HASH``: the day of training and the first 8 hex digits of the
    weights' SHA-256, so two models trained on the same day never share a version (assessments
    record it, and a decision must point at the one model that made it)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return f"damage-{preset}-{date.today():%Y.%m.%d}-{digest.hexdigest()[:8]}"


_SCORING_SUFFIX = re.compile(r"(?:-crops[0-9.]+)?(?:-[0-9]+px)?$")


def scoring_version(version: str, config: TrainConfig) -> str:
    """The weights' version plus how photos are scored when that is not one view at the training
    side: ``-crops0.7`` for the corner views, ``-224px`` for another serving side. The same weights
    give other probabilities then, and an assessment's version must say which (a previous suffix
    is replaced, so ``vision.rescore`` back to the defaults gives the weights' version again)."""
    base = _SCORING_SUFFIX.sub("", version, count=1)
    if config.corner_crops:
        base += f"-crops{config.corner_crops:g}"
    if config.serve_size and config.serve_size != config.image_size:
        base += f"-{config.serve_size}px"
    return base


def _fit(
    model: PreTrainedModel,
    train_set: PhotoDataset,
    val_set: PhotoDataset,
    spec: Preprocess,
    config: TrainConfig,
    started: float,
    progress: bool,
) -> AveragedModel:
    sampler = WeightedRandomSampler(
        train_set.sample_weights(config.damaged_boost).tolist(), num_samples=len(train_set), replacement=True
    )
    loader = DataLoader(
        train_set,
        batch_size=config.batch_size,
        sampler=sampler,
        num_workers=config.workers,
        persistent_workers=config.workers > 0,
        drop_last=True,
    )
    total_steps = config.epochs * len(loader)
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps)
    budget = config.max_minutes * 60
    device = torch.device(config.device)
    cast(torch.nn.Module, channels_last(model)).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True)
    slices = group_slices(model.config.id2label)

    # Progress is steps done or time spent, whichever is further along, so a busy machine
    # shortens training but the learning rate still anneals to zero within the budget.
    step, progress_done, epoch = 0, 0.0, 0
    bar = tqdm(total=100, desc="training", disable=not progress, unit="%", bar_format=_BAR)
    while progress_done < 1.0:
        epoch += 1
        model.train()
        for pixels, targets in loader:
            progress_done = max(step / total_steps, (time.monotonic() - started) / budget)
            if progress_done >= 1.0:
                break
            for group in optimizer.param_groups:
                group["lr"] = config.lr * _warmup_cosine(progress_done, config.warmup)
            pixels, targets = pixels.to(device, non_blocking=True), targets.to(device, non_blocking=True)
            loss = multitask_loss(model(pixel_values=pixels).logits, targets, slices, config.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            ema.update_parameters(model)
            step += 1
            progress_done = max(step / total_steps, (time.monotonic() - started) / budget)
            bar.update(round(100 * progress_done) - bar.n)
            bar.set_postfix(epoch=epoch, step=step, loss=f"{loss.item():.3f}")
        if epoch % config.eval_every == 0 or progress_done >= 1.0:
            auc = _quick_auroc(cast(PreTrainedModel, ema.module), val_set, spec, slices)
            minutes = (time.monotonic() - started) / 60
            tqdm.write(
                f"epoch {epoch} step {step}: loss {loss.item():.3f}, "
                f"held-out AUROC {auc:.3f}, {minutes:.1f} min"
            )
    bar.close()
    if step < total_steps:
        tqdm.write(f"time budget reached after {step} of {total_steps} planned steps ({epoch} epochs)")
    return ema


_BAR = "{l_bar}{bar}| {n_fmt}% [{elapsed}<{remaining}{postfix}]"


def _warmup_cosine(progress: float, warmup: float) -> float:
    if progress < warmup:
        return (progress + 1e-3) / warmup
    return 0.5 * (1 + math.cos(math.pi * (progress - warmup) / (1 - warmup)))


def _quick_auroc(
    model: PreTrainedModel, val_set: PhotoDataset, spec: Preprocess, slices: dict[str, slice]
) -> float:
    model.eval()
    logits = collect_logits(model, val_set.images, spec)
    return damage_auroc(logits, val_set.targets[:, 0], slices)


def _cpu_seconds() -> float:
    """CPU time of this process and its finished data-loading workers."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def _counts(*splits: list) -> dict[str, dict[str, int]]:
    names = ("train", "val")
    return {
        name: {label: sum(e.label == label for e in split) for label in ("damaged", "intact", "unusable")}
        for name, split in zip(names, splits, strict=True)
    }


def calibrate_and_score(
    model: PreTrainedModel,
    val_set: PhotoDataset,
    spec: Preprocess,
    verdict_bias: tuple[float, ...],
    progress: bool = False,
) -> tuple[Calibration, dict[str, dict[str, Any]]]:
    """Fit the calibration on the held-out photos (scored on ``spec``'s views), then score them."""
    logits = collect_logits(model, val_set.images, spec, progress=progress)
    slices = group_slices(model.config.id2label)
    verdicts = val_set.targets[:, 0]
    calibration = calibrate(logits[:, slices["verdict"]], verdicts, verdict_bias)
    groups = [e.group for e in val_set.examples]
    report = held_out_report(
        model, val_set.images, verdicts, spec, calibration, logits, progress=progress, groups=groups
    )
    return calibration, report


def save_companions(
    model_version: str,
    spec: Preprocess,
    calibration: Calibration,
    metrics: dict[str, Any],
    config: TrainConfig,
) -> None:
    """Everything beside the weights: preprocessing, calibration, metrics, settings, model card."""
    out = Path(config.out)
    spec.save(out)
    calibration.save(out)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(config).items()}
    settings["extra_data"] = [str(p) for p in config.extra_data]
    # Relative to the repository, so evaluate can recognise the folder on another checkout.
    settings["data"] = os.path.relpath(Path(config.data).resolve(), REPO_ROOT)
    settings["out"] = os.path.relpath(out.resolve(), REPO_ROOT)
    (out / "training_config.json").write_text(json.dumps(settings, indent=2) + "\n")
    (out / "README.md").write_text(card.render(model_version, metrics, calibration, config))


def load_config(model_dir: Path) -> TrainConfig:
    """The settings a saved model was trained with (training_config.json)."""
    settings = json.loads((model_dir / "training_config.json").read_text())
    known = {spec.name for spec in dataclasses.fields(TrainConfig)}
    values = {k: v for k, v in settings.items() if k in known}
    values["data"] = REPO_ROOT / values["data"]
    values["out"] = model_dir
    values["extra_data"] = tuple(Path(p) for p in values.get("extra_data", ()))
    return TrainConfig(**values)


def main(argv: list[str] | None = None) -> None:
    config = parse_args(argv)
    metrics = train(config)
    held_out = metrics["held_out"]
    print(json.dumps({"out": str(config.out), "held_out": held_out}, indent=2))


if __name__ == "__main__":
    main()
