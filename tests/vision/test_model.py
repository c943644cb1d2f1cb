"""Generalised-mean pooling: what it computes, and that a saved model comes back with it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForImageClassification

from tests.vision.conftest import micro_training
from vision.assess import DamageAssessor
from vision.model import GeneralizedMeanPool, apply_pooling, build_model, load_model
from vision.train import train


def test_power_one_is_average_pooling_and_a_large_power_nears_the_maximum() -> None:
    features = torch.rand(2, 5, 4, 4)
    average = features.mean(dim=(-2, -1), keepdim=True)
    peak = features.amax(dim=(-2, -1), keepdim=True)
    assert torch.allclose(GeneralizedMeanPool(1.0)(features), average, atol=1e-6)
    cubic = GeneralizedMeanPool(3.0)(features)
    assert cubic.shape == (2, 5, 1, 1)
    assert bool((cubic > average).all() and (cubic < peak).all())
    assert torch.allclose(GeneralizedMeanPool(200.0)(features), peak, rtol=0.02)


def test_one_hot_spot_weighs_more_under_a_higher_power() -> None:
    """Damage in one corner of an otherwise quiet map: its share of the pooled value grows with p."""
    features = torch.full((1, 1, 5, 5), 0.1)
    features[0, 0, 0, 0] = 2.0
    pooled = [GeneralizedMeanPool(p)(features).item() for p in (1.0, 3.0, 6.0)]
    assert pooled[0] == pytest.approx((2.0 + 24 * 0.1) / 25)
    assert pooled[0] < pooled[1] < pooled[2] < 2.0


def test_saved_model_loads_with_its_pooling(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model("resnet-micro", pool_power=3.0).eval()
    model.save_pretrained(tmp_path)
    pixels = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        expected = model(pixel_values=pixels).logits
        served = load_model(tmp_path)
        assert isinstance(served.resnet.pooler, GeneralizedMeanPool) and served.resnet.pooler.power == 3.0
        assert torch.allclose(served(pixel_values=pixels).logits, expected, atol=1e-5)
        # Stock loading pools by average: the saved state dict is the stock one, the config says more.
        stock = AutoModelForImageClassification.from_pretrained(tmp_path).eval()
        assert isinstance(stock.resnet.pooler, torch.nn.AdaptiveAvgPool2d)
        assert not torch.allclose(stock(pixel_values=pixels).logits, expected, atol=1e-5)


def test_average_pooling_leaves_the_stock_model_alone() -> None:
    model = build_model("resnet-micro")
    assert "damage_pool_power" not in model.config.to_dict()
    assert isinstance(model.resnet.pooler, torch.nn.AdaptiveAvgPool2d)


def test_a_backbone_without_a_resnet_pooler_is_refused() -> None:
    model = build_model("convnextv2-atto")
    model.config.damage_pool_power = 3.0
    with pytest.raises(ValueError, match="needs a ResNet backbone, not ConvNextV2ForImageClassification"):
        apply_pooling(model)


def test_training_with_a_pool_power_serves_with_it(labelled_folder: Path, tmp_path: Path) -> None:
    train(micro_training(labelled_folder, tmp_path / "model", pool_power=3.0), progress=False)
    assessor = DamageAssessor(tmp_path / "model", threads=1)
    assert isinstance(assessor.model.resnet.pooler, GeneralizedMeanPool)
    assert "generalised-mean pooling of power 3" in (tmp_path / "model" / "README.md").read_text()
