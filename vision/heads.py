"""What the classifier's outputs mean.

One standard image-classification head carries three softmax groups side by side, so the
model stays a plain ``*ForImageClassification`` that any Hugging Face checkpoint can
initialise: the verdict (intact / damaged / unusable), the severity of a damaged item
(minor / severe) and its damage type. ``id2label`` names each logit ``group:name``; the
groups are derived from those names, never stored twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

VERDICTS = ("intact", "damaged", "unusable")
SEVERITIES = ("minor", "severe")
DAMAGE_TYPES = ("crushed", "dented", "torn", "punctured", "broken", "wet", "other")
GROUPS = {"verdict": VERDICTS, "severity": SEVERITIES, "damage_type": DAMAGE_TYPES}

INTACT, DAMAGED, UNUSABLE = range(3)
IGNORE = -100


def id2label() -> dict[int, str]:
    names = [f"{group}:{name}" for group, values in GROUPS.items() for name in values]
    return dict(enumerate(names))


def group_slices(labels: Mapping[Any, str] | None) -> dict[str, slice]:
    """Where each group sits in the logit vector, read from a config's ``id2label``."""
    if not labels:
        raise ValueError("The model config has no id2label: it is not a damage model.")
    ordered = [labels[key] for key in sorted(labels, key=int)]
    slices = {}
    for group, values in GROUPS.items():
        start = ordered.index(f"{group}:{values[0]}")
        slices[group] = slice(start, start + len(values))
    return slices


@dataclass(frozen=True)
class Target:
    """Training target for one photo; ``IGNORE`` where a head has no label."""

    verdict: int
    severity: int = IGNORE
    damage_type: int = IGNORE

    @classmethod
    def from_names(cls, label: str, severity: str = "", damage_type: str = "") -> Target:
        verdict = VERDICTS.index(label)
        if verdict != DAMAGED:
            return cls(verdict)
        return cls(
            verdict,
            SEVERITIES.index(severity) if severity in SEVERITIES else IGNORE,
            DAMAGE_TYPES.index(damage_type) if damage_type in DAMAGE_TYPES else IGNORE,
        )

    def as_tensor(self) -> torch.Tensor:
        return torch.tensor([self.verdict, self.severity, self.damage_type])


def multitask_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    slices: dict[str, slice],
    label_smoothing: float = 0.0,
    aux_weight: float = 0.3,
) -> torch.Tensor:
    """Cross-entropy on the verdict plus down-weighted severity/type terms on damaged photos."""
    loss = F.cross_entropy(logits[:, slices["verdict"]], targets[:, 0], label_smoothing=label_smoothing)
    for column, group in ((1, "severity"), (2, "damage_type")):
        labelled = targets[:, column] != IGNORE
        if labelled.any():
            aux = F.cross_entropy(logits[labelled, slices[group]], targets[labelled, column])
            loss = loss + aux_weight * aux
    return loss


@dataclass(frozen=True)
class HeadProbabilities:
    verdict: torch.Tensor  # (N, 3)
    severity: torch.Tensor  # (N, 2), given damaged
    damage_type: torch.Tensor  # (N, len(DAMAGE_TYPES)), given damaged


def probabilities(
    logits: torch.Tensor,
    slices: dict[str, slice],
    temperature: float = 1.0,
    verdict_bias: Sequence[float] | None = None,
) -> HeadProbabilities:
    """Softmax per group; the calibration (bias, then temperature) applies to the verdict only."""
    verdict = logits[:, slices["verdict"]]
    if verdict_bias is not None:
        verdict = verdict + torch.tensor(verdict_bias, dtype=verdict.dtype)
    return HeadProbabilities(
        verdict=torch.softmax(verdict / temperature, dim=-1),
        severity=torch.softmax(logits[:, slices["severity"]], dim=-1),
        damage_type=torch.softmax(logits[:, slices["damage_type"]], dim=-1),
    )


def damage_score(verdict_probs: torch.Tensor) -> torch.Tensor:
    """P(damaged | the photo shows a product): the unusable class is left out."""
    damaged = verdict_probs[:, DAMAGED]
    return damaged / (damaged + verdict_probs[:, INTACT]).clamp_min(1e-12)
