"""Plain numpy metrics (no scikit-learn here): AUROC, F1, confusion matrix, calibration error."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def auroc(scores: np.ndarray, positives: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties counted half); nan with one class."""
    scores = np.asarray(scores, dtype=np.float64)
    positives = np.asarray(positives, dtype=bool)
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    start = 0
    while start < len(scores):
        end = start
        while end + 1 < len(scores) and sorted_scores[end + 1] == sorted_scores[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    u = ranks[positives].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def auroc_interval(
    scores: np.ndarray,
    positives: np.ndarray,
    groups: list[str] | None = None,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Bootstrap percentile interval of the AUROC; None with one class.

    Resamples whole groups (photos of one item move together, so near-duplicates do not
    pretend to be independent evidence); without groups every photo is its own group.
    """
    scores = np.asarray(scores, dtype=np.float64)
    positives = np.asarray(positives, dtype=bool)
    if not positives.any() or positives.all():
        return None
    names = list(range(len(scores))) if groups is None else list(groups)
    if len(names) != len(scores):
        raise ValueError(f"{len(names)} groups for {len(scores)} scores")
    members: dict[object, list[int]] = {}
    for index, name in enumerate(names):
        members.setdefault(name, []).append(index)
    clusters = [np.array(indices) for indices in members.values()]
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        picked = np.concatenate([clusters[i] for i in rng.integers(0, len(clusters), len(clusters))])
        value = auroc(scores[picked], positives[picked])
        if not np.isnan(value):
            values.append(value)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class BinaryReport:
    threshold: float
    accuracy: float
    precision: float
    recall: float
    f1: float


def binary_report(scores: np.ndarray, positives: np.ndarray, threshold: float) -> BinaryReport:
    predicted = np.asarray(scores) >= threshold
    positives = np.asarray(positives, dtype=bool)
    tp = int((predicted & positives).sum())
    fp = int((predicted & ~positives).sum())
    fn = int((~predicted & positives).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = float((predicted == positives).mean()) if len(positives) else float("nan")
    return BinaryReport(threshold, accuracy, precision, recall, f1)


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(true), np.asarray(predicted)), 1)
    return matrix


@dataclass(frozen=True)
class ReliabilityBins:
    edges: np.ndarray  # (n_bins + 1,)
    confidence: np.ndarray  # mean confidence per bin (nan where empty)
    accuracy: np.ndarray  # fraction correct per bin (nan where empty)
    counts: np.ndarray

    @property
    def ece(self) -> float:
        filled = self.counts > 0
        if not filled.any():
            return float("nan")
        gaps = np.abs(self.accuracy[filled] - self.confidence[filled])
        return float((gaps * self.counts[filled]).sum() / self.counts.sum())


def reliability(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> ReliabilityBins:
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    counts = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, confidence, n_bins) / counts
        mean_acc = np.bincount(which, correct, n_bins) / counts
    return ReliabilityBins(edges, mean_conf, mean_acc, counts)


def top_label_ece(probs: np.ndarray, labels: np.ndarray, n_bins: int = 10) -> float:
    """Expected calibration error of the most probable class."""
    probs = np.asarray(probs)
    bins = reliability(probs.max(axis=1), probs.argmax(axis=1) == np.asarray(labels), n_bins)
    return bins.ece
