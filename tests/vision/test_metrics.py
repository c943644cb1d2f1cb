"""Metrics against brute force, and temperature scaling on logits with a known temperature."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vision.calibrate import Calibration, calibrate, fit_temperature, sampling_bias
from vision.heads import Target, group_slices, id2label, multitask_loss
from vision.metrics import auroc, auroc_interval, binary_report, confusion_matrix, reliability, top_label_ece


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=2, max_size=30))
def test_auroc_equals_the_pairwise_definition(pairs: list[tuple[int, bool]]) -> None:
    scores = np.array([s for s, _ in pairs], float)
    positives = np.array([p for _, p in pairs])
    pos, neg = scores[positives], scores[~positives]
    if len(pos) == 0 or len(neg) == 0:
        assert np.isnan(auroc(scores, positives))
        return
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    assert np.isclose(auroc(scores, positives), wins / (len(pos) * len(neg)))


def test_binary_report_and_confusion_matrix() -> None:
    report = binary_report(np.array([0.9, 0.8, 0.3, 0.1]), np.array([True, False, True, False]), 0.5)
    assert (report.precision, report.recall, report.f1, report.accuracy) == (0.5, 0.5, 0.5, 0.5)
    assert confusion_matrix(np.array([0, 1, 1]), np.array([0, 1, 2]), 3).tolist() == [
        [1, 0, 0],
        [0, 1, 1],
        [0, 0, 0],
    ]


def test_ece_is_zero_when_confidence_matches_accuracy() -> None:
    confidence = np.full(10, 0.7)
    correct = np.array([1] * 7 + [0] * 3)
    assert np.isclose(reliability(confidence, correct).ece, 0.0)
    assert np.isclose(reliability(np.full(10, 0.9), correct).ece, 0.2)


def test_temperature_scaling_recovers_a_known_temperature_and_lowers_ece() -> None:
    generator = torch.Generator().manual_seed(0)
    true_logits = torch.randn(4000, 3, generator=generator) * 2
    labels = torch.multinomial(torch.softmax(true_logits, -1), 1, generator=generator)[:, 0]
    overconfident = true_logits * 3
    assert abs(fit_temperature(overconfident, labels) - 3) < 0.3
    result = calibrate(overconfident, labels)
    assert result.ece_after < result.ece_before
    probs = torch.softmax(overconfident / result.temperature, -1).numpy()
    assert np.isclose(top_label_ece(probs, labels.numpy()), result.ece_after, atol=1e-4)


def test_calibration_file_round_trips(tmp_path: Path) -> None:
    saved = Calibration(temperature=1.7, verdict_bias=(0.0, -1.1, 0.0), ece_before=0.2, n_photos=9)
    saved.save(tmp_path)
    assert Calibration.load(tmp_path) == saved
    assert Calibration.load(tmp_path / "missing") == Calibration()


def test_oversampling_is_undone_by_the_prior_correction() -> None:
    # A model trained with damaged photos drawn 4x as often: its damaged logit is log(4) too high.
    generator = torch.Generator().manual_seed(1)
    true_logits = torch.randn(6000, 3, generator=generator)
    labels = torch.multinomial(torch.softmax(true_logits, -1), 1, generator=generator)[:, 0]
    trained = true_logits + torch.tensor([0.0, math.log(4), 0.0])
    bias = sampling_bias(4.0)
    assert bias == pytest.approx((0.0, -math.log(4), 0.0))
    result = calibrate(trained, labels, bias)
    assert abs(result.temperature - 1) < 0.1 and result.ece_after < result.ece_before


def test_loss_ignores_missing_severity_and_type() -> None:
    slices = group_slices(id2label())
    logits = torch.zeros(2, len(id2label()), requires_grad=True)
    targets = torch.stack(
        [Target.from_names("intact").as_tensor(), Target.from_names("damaged", "severe", "").as_tensor()]
    )
    loss = multitask_loss(logits, targets, slices)
    loss.backward()
    assert torch.isfinite(loss)
    assert logits.grad[:, slices["damage_type"]].abs().sum() == 0
    assert logits.grad[1, slices["severity"]].abs().sum() > 0


def _overlapping_scores(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    positives = np.arange(n) % 4 == 0
    scores = rng.normal(size=n) + positives * 1.0
    return scores, positives


def test_auroc_interval_brackets_the_estimate_and_narrows_with_more_photos() -> None:
    few = _overlapping_scores(40, seed=1)
    many = _overlapping_scores(800, seed=1)
    low_few, high_few = auroc_interval(*few) or (0.0, 0.0)
    low_many, high_many = auroc_interval(*many) or (0.0, 0.0)
    assert low_few <= auroc(*few) <= high_few
    assert low_many <= auroc(*many) <= high_many
    assert high_many - low_many < (high_few - low_few) / 2
    assert 0.5 < low_many < high_many < 1


def test_auroc_interval_edge_cases() -> None:
    assert auroc_interval(np.array([0.1, 0.9]), np.array([True, True])) is None
    assert auroc_interval(np.array([0.1, 0.2, 0.8, 0.9]), np.array([False, False, True, True])) == (1.0, 1.0)
    with pytest.raises(ValueError, match="3 groups for 4 scores"):
        auroc_interval(np.zeros(4), np.array([True, False, True, False]), ["a", "b", "c"])


def test_auroc_interval_resamples_near_duplicates_together() -> None:
    """Five copies of each photo are no more evidence than one, when they are one group."""
    scores, positives = _overlapping_scores(60, seed=2)
    copies = np.repeat(scores, 5), np.repeat(positives, 5)
    groups = [str(i) for i in np.repeat(np.arange(60), 5)]
    alone = auroc_interval(scores, positives)
    assert alone is not None
    assert auroc_interval(*copies, groups) == pytest.approx(alone)
    naive = auroc_interval(*copies)  # as if they were 300 independent photos
    assert naive is not None
    assert naive[1] - naive[0] < (alone[1] - alone[0]) * 0.7
