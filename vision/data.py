"""Labelled photos: reading ``labels.csv`` folders, the group-aware split, and the dataset.

A labelled folder holds ``labels.csv`` with the columns ``file, label, severity, damage_type,
dup_group, source`` (``file`` relative to the folder). The curated set and the merchant-review
exports share this format (see docs/model.md). A folder without ``labels.csv`` but with
``damaged/``, ``intact/`` (and optionally ``unusable/``) sub-folders is read by folder name.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from vision.heads import DAMAGE_TYPES, SEVERITIES, VERDICTS, Target
from vision.images import load_rgb
from vision.transforms import Augment, Preprocess, plain_backdrop_mask

LABELS_FILE = "labels.csv"
COLUMNS = ("file", "label", "severity", "damage_type", "dup_group", "source")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


@dataclass(frozen=True)
class Example:
    path: Path
    label: str
    severity: str = ""
    damage_type: str = ""
    group: str = ""
    source: str = ""

    @property
    def target(self) -> Target:
        return Target.from_names(self.label, self.severity, self.damage_type)


class LabelError(ValueError):
    """A labels.csv row that does not follow the format."""


def read_folder(root: Path) -> list[Example]:
    """Examples from ``labels.csv`` if present, else from class-named sub-folders."""
    root = Path(root)
    if (root / LABELS_FILE).is_file():
        return read_labels_csv(root)
    examples = [
        Example(path, label, group=f"{root.name}/{label}/{path.name}")
        for label in VERDICTS
        if (root / label).is_dir()
        for path in sorted((root / label).rglob("*"))
        if path.suffix.lower() in IMAGE_SUFFIXES
    ]
    if not examples:
        raise LabelError(f"{root} has neither {LABELS_FILE} nor damaged/ intact/ folders.")
    return examples


def read_labels_csv(root: Path) -> list[Example]:
    with open(root / LABELS_FILE, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [_example(root, row, line) for line, row in enumerate(rows, start=2)]


def _example(root: Path, row: dict[str, str], line: int) -> Example:
    where = f"{root / LABELS_FILE}:{line}"
    label = (row.get("label") or "").strip()
    severity = (row.get("severity") or "").strip()
    damage_type = (row.get("damage_type") or "").strip()
    if not row.get("file"):
        raise LabelError(f"{where}: empty 'file'.")
    if label not in VERDICTS:
        raise LabelError(f"{where}: label {label!r} is not one of {', '.join(VERDICTS)}.")
    if severity not in ("", "none", *SEVERITIES):
        raise LabelError(f"{where}: severity {severity!r} is not none, minor or severe.")
    if damage_type not in ("", *DAMAGE_TYPES):
        raise LabelError(f"{where}: damage_type {damage_type!r} is not one of {DAMAGE_TYPES}.")
    file = row["file"].strip()
    # Rows without a near-duplicate group are their own group.
    group = (row.get("dup_group") or "").strip() or f"file:{file}"
    return Example(root / file, label, severity, damage_type, f"{root.name}:{group}", row.get("source", ""))


def split_by_group(
    examples: list[Example], val_fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """Stratified split that keeps every near-duplicate group on one side."""
    groups: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        groups[example.group].append(example)
    # Stratify on the rarest label in the group, so damaged photos reach both sides.
    rarity = {label: -sum(e.label == label for e in examples) for label in VERDICTS}
    by_stratum: dict[str, list[str]] = defaultdict(list)
    for name, members in sorted(groups.items()):
        by_stratum[max((e.label for e in members), key=rarity.__getitem__)].append(name)
    rng = np.random.default_rng(seed)
    val_groups: set[str] = set()
    for names in by_stratum.values():
        order = [names[i] for i in rng.permutation(len(names))]
        wanted = val_fraction * sum(len(groups[n]) for n in names)
        taken = 0
        for name in order:
            if taken >= wanted:
                break
            val_groups.add(name)
            taken += len(groups[name])
    train = [e for e in examples if e.group not in val_groups]
    val = [e for e in examples if e.group in val_groups]
    return train, val


class PhotoDataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Photos decoded once into memory at a reduced size; augmented per item when training."""

    def __init__(
        self,
        examples: list[Example],
        transform: Augment | Preprocess,
        base_side: int = 288,
        seed: int = 0,
        progress: bool = True,
    ) -> None:
        self.examples = examples
        self.transform = transform
        self.seed = seed
        self.images = [
            load_rgb(e.path, base_side)
            for e in tqdm(examples, desc="decoding photos", disable=not progress, leave=False)
        ]
        self.targets = torch.stack([e.target.as_tensor() for e in examples])
        if isinstance(transform, Augment):
            self.masks = [plain_backdrop_mask(image) for image in self.images]
            # Real scenes to paste cut-out products onto; never damaged photos, whose
            # damage would then sit behind an intact product.
            self.scenes = [
                image
                for image, e, mask in zip(self.images, examples, self.masks, strict=True)
                if e.label != "damaged" and mask is None
            ]
        self._rng: tuple[int, np.random.Generator] | None = None

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = self.images[index]
        if isinstance(self.transform, Augment):
            pixels = self.transform(image, self.masks[index], self.rng, self.scenes)
        else:
            pixels = self.transform(image)
        return pixels, self.targets[index]

    @property
    def rng(self) -> np.random.Generator:
        # One generator per worker process, seeded from torch's per-worker seed.
        if self._rng is None or self._rng[0] != os.getpid():
            seed = [self.seed, torch.initial_seed() % 2**32]
            self._rng = (os.getpid(), np.random.default_rng(seed))
        return self._rng[1]

    def sample_weights(self, damaged_boost: float) -> torch.Tensor:
        weights = torch.ones(len(self.examples))
        weights[self.targets[:, 0] == VERDICTS.index("damaged")] = damaged_boost
        return weights
