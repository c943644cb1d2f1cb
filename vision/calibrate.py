"""Calibration of the verdict: a prior correction, then temperature scaling on held-out photos.

Training draws damaged photos ``damaged_boost`` times as often as they occur, so the model's
damaged logit is too high by log(boost); that is subtracted first (``verdict_bias``). Then one
temperature, fitted by likelihood on the held-out photos, divides the verdict logits. Neither
changes the ranking of damaged against intact, so AUROC is untouched. ``calibration.json``
beside the model holds both, with the ECE of the raw model and of the calibrated one.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from vision.heads import DAMAGED
from vision.metrics import top_label_ece

CALIBRATION_FILE = "calibration.json"


@dataclass(frozen=True)
class Calibration:
    temperature: float = 1.0
    verdict_bias: tuple[float, ...] = (0.0, 0.0, 0.0)  # added to the verdict logits first
    ece_before: float | None = None
    ece_after: float | None = None
    n_photos: int = 0
    damage_threshold: float = 0.5  # the operating point on the calibrated damage_probability

    def save(self, directory: Path) -> None:
        (directory / CALIBRATION_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path) -> Calibration:
        path = directory / CALIBRATION_FILE
        if not path.is_file():
            return cls()
        values = json.loads(path.read_text())
        values["verdict_bias"] = tuple(values.get("verdict_bias", cls.verdict_bias))
        return cls(**values)


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The temperature minimising negative log-likelihood: coarse grid, then refinement."""
    values = logits.detach().double().numpy()
    truth = labels.numpy()

    def nll(temperature: float) -> float:
        scaled = values / temperature
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(scaled).sum(axis=1))
        return float((log_norm - scaled[np.arange(len(truth)), truth]).mean())

    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 200))
    best = float(grid[np.argmin([nll(t) for t in grid])])
    fine = np.linspace(best * 0.95, best * 1.05, 101)
    return float(fine[np.argmin([nll(t) for t in fine])])


def sampling_bias(damaged_boost: float) -> tuple[float, float, float]:
    """The verdict bias that undoes drawing damaged photos ``damaged_boost`` times as often."""
    bias = [0.0, 0.0, 0.0]
    bias[DAMAGED] = -math.log(damaged_boost)
    return (bias[0], bias[1], bias[2])


def calibrate(
    logits: torch.Tensor, labels: torch.Tensor, verdict_bias: tuple[float, ...] = (0.0, 0.0, 0.0)
) -> Calibration:
    shifted = logits + torch.tensor(verdict_bias, dtype=logits.dtype)
    temperature = fit_temperature(shifted, labels)
    before = torch.softmax(logits, dim=-1).numpy()
    after = torch.softmax(shifted / temperature, dim=-1).numpy()
    return Calibration(
        temperature=round(temperature, 4),
        verdict_bias=tuple(round(b, 4) for b in verdict_bias),
        ece_before=round(top_label_ece(before, labels.numpy()), 4),
        ece_after=round(top_label_ece(after, labels.numpy()), 4),
        n_photos=len(labels),
    )
