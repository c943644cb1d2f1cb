"""Temperature scaling of the verdict logits, fitted on held-out photos.

One scalar divides the verdict logits; it changes confidence, never the ranking, so AUROC
is untouched. ``calibration.json`` beside the model holds it with the ECE before and after.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from vision.metrics import top_label_ece

CALIBRATION_FILE = "calibration.json"


@dataclass(frozen=True)
class Calibration:
    temperature: float = 1.0
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
        return cls(**json.loads(path.read_text()))


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


def calibrate(logits: torch.Tensor, labels: torch.Tensor) -> Calibration:
    temperature = fit_temperature(logits, labels)
    before = torch.softmax(logits, dim=-1).numpy()
    after = torch.softmax(logits / temperature, dim=-1).numpy()
    return Calibration(
        temperature=round(temperature, 4),
        ece_before=round(top_label_ece(before, labels.numpy()), 4),
        ece_after=round(top_label_ece(after, labels.numpy()), 4),
        n_photos=len(labels),
    )
