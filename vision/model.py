"""The network: a stock ``transformers`` image classifier, built from a config or a checkpoint.

Nothing here downloads: presets build random weights from a config; ``from_checkpoint``
accepts a local folder or, where a network exists, any Hugging Face model id.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

import torch
from transformers import (
    AutoModelForImageClassification,
    ConvNextV2Config,
    PretrainedConfig,
    PreTrainedModel,
    ResNetConfig,
)

from vision.heads import id2label


def _resnet_tiny() -> PretrainedConfig:
    return ResNetConfig(
        embedding_size=32, hidden_sizes=[32, 64, 128, 256], depths=[1, 1, 2, 1], layer_type="basic"
    )


def _resnet18_half() -> PretrainedConfig:
    """ResNet-18's layout at half its width."""
    return ResNetConfig(
        embedding_size=32, hidden_sizes=[32, 64, 128, 256], depths=[2, 2, 2, 2], layer_type="basic"
    )


def _resnet_small() -> PretrainedConfig:
    return ResNetConfig(
        embedding_size=32, hidden_sizes=[48, 96, 192, 384], depths=[2, 2, 2, 2], layer_type="basic"
    )


def _resnet_micro() -> PretrainedConfig:
    """For tests only: a few thousand weights."""
    return ResNetConfig(
        embedding_size=8, hidden_sizes=[8, 8, 16, 16], depths=[1, 1, 1, 1], layer_type="basic"
    )


def _convnextv2_atto() -> PretrainedConfig:
    return ConvNextV2Config(hidden_sizes=[40, 80, 160, 320], depths=[2, 2, 6, 2])


PRESETS: dict[str, Callable[[], PretrainedConfig]] = {
    "resnet-tiny": _resnet_tiny,
    "resnet-18-half": _resnet18_half,
    "resnet-small": _resnet_small,
    "resnet-micro": _resnet_micro,
    "convnextv2-atto": _convnextv2_atto,
}


def _label_kwargs() -> dict[str, object]:
    labels = id2label()
    return {
        "num_labels": len(labels),
        "id2label": labels,
        "label2id": {name: index for index, name in labels.items()},
    }


def build_model(preset: str) -> PreTrainedModel:
    """A randomly initialised classifier with the damage heads."""
    config = PRESETS[preset]()
    for key, value in _label_kwargs().items():
        setattr(config, key, value)
    config.damage_preset = preset
    return AutoModelForImageClassification.from_config(config)


def from_checkpoint(name_or_path: str) -> PreTrainedModel:
    """Any image-classification checkpoint, its head replaced by the damage heads."""
    return AutoModelForImageClassification.from_pretrained(
        name_or_path, ignore_mismatched_sizes=True, **_label_kwargs()
    )


def load_model(directory: Path) -> PreTrainedModel:
    model = AutoModelForImageClassification.from_pretrained(directory, local_files_only=True)
    return channels_last(model).eval()


def channels_last(model: PreTrainedModel) -> PreTrainedModel:
    """Convolution weights stored channels-last: the same results; on these CPUs a one-photo
    forward pass about a quarter faster and a training run about a tenth (docs/model.md,
    "Serving" and "Two more runs")."""
    module = cast(torch.nn.Module, model)
    # Module.to takes memory_format at run time; torch's type stubs leave it out.
    return cast(PreTrainedModel, module.to(memory_format=torch.channels_last))  # type: ignore[call-overload]
