"""Grad-CAM: where in the photo the model found its evidence of damage, as a PNG overlay.

Works for any backbone whose last hidden state is a (batch, channels, height, width) map
(ResNet, ConvNeXt V2, MobileViT V2). The explained score is logit(damaged) - logit(intact).
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image
from transformers import PreTrainedModel

from vision.heads import DAMAGED, INTACT

OVERLAY_SIDE = 512


def grad_cam(model: PreTrainedModel, pixels: torch.Tensor, verdict: slice) -> np.ndarray:
    """Class-activation map in [0, 1] at the backbone's output resolution."""
    with torch.enable_grad():
        output = model(pixel_values=pixels, output_hidden_states=True)
        features = output.hidden_states[-1]
        logits = output.logits[0, verdict]
        evidence = logits[DAMAGED] - logits[INTACT]
        (gradients,) = torch.autograd.grad(evidence, features)
    weights = gradients.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * features).sum(dim=1))[0].detach().numpy()
    peak = cam.max()
    return cam / peak if peak > 0 else cam


def jet(values: np.ndarray) -> np.ndarray:
    """The classic blue-cyan-yellow-red ramp for values in [0, 1], as uint8 RGB."""
    channels = [np.clip(1.5 - np.abs(4 * values - shift), 0, 1) for shift in (3, 2, 1)]
    return (np.stack(channels, axis=-1) * 255).astype(np.uint8)


def overlay(image: Image.Image, cam: np.ndarray) -> Image.Image:
    base = image.copy()
    base.thumbnail((OVERLAY_SIDE, OVERLAY_SIDE))
    heat = Image.fromarray((cam * 255).astype(np.uint8)).resize(base.size, Image.Resampling.BILINEAR)
    heat_values = np.asarray(heat, dtype=np.float32)[..., None] / 255
    alpha = 0.15 + 0.5 * heat_values  # cool areas stay readable, hot areas glow
    blended = np.asarray(base, dtype=np.float32) * (1 - alpha) + jet(heat_values[..., 0]) * alpha
    return Image.fromarray(blended.astype(np.uint8))


def to_png(image: Image.Image) -> bytes:
    """zlib level 3: ~20 ms for a 512 px overlay and ~15 % larger than Pillow's `optimize=True`,
    which took ~330 ms, twenty times the model's own assessment, on every photo."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()
