"""Is this photo good enough to judge damage? If not, what should the shopper do?

Pixel checks (size, light, sharpness) need no model; "not a product photo" comes from the
model's ``unusable`` class. The thresholds were set on the curated photos (none of which
should fail) and on darkened, brightened and blurred copies of them (which should).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps

MIN_SIDE = 128  # pixels; below this there is nothing to see at the model's 160 px input
DARK_MEAN = 45  # mean luma (0-255)
DARK_BRIGHTEST = 90  # 99th percentile luma: nothing in the photo is lit
OVEREXPOSED_DARKEST = 230  # 10th percentile luma: 90% of the photo is washed out to white
BLUR_EDGES = 30  # 99th percentile |Laplacian| after contrast stretch, at 384 px
UNUSABLE_PROBABILITY = 0.5
ANALYSIS_SIDE = 384

# In order of what to fix first; the message names the first issue found.
RETAKE_MESSAGES = {
    "too_small": "That photo is too small to see any damage, please send a larger, closer photo.",
    "too_dark": "That photo is too dark, please retake it in better light.",
    "overexposed": (
        "That photo is too bright and washed out, please retake it away from direct light or flash."
    ),
    "blurred": "That photo is blurry, please hold the phone steady and retake it.",
    "not_product_photo": (
        "That doesn't look like a photo of the item, please take a photo of the item itself."
    ),
}


@dataclass(frozen=True)
class QualityReport:
    issues: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def message(self) -> str:
        return RETAKE_MESSAGES[self.issues[0]] if self.issues else ""

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "issues": list(self.issues), "message": self.message}


def pixel_issues(image: Image.Image, original_size: tuple[int, int] | None = None) -> list[str]:
    """Issues visible from the pixels alone, in ``RETAKE_MESSAGES`` order."""
    width, height = original_size or image.size
    if min(width, height) < MIN_SIDE:
        return ["too_small"]
    gray = ImageOps.grayscale(image)
    gray.thumbnail((ANALYSIS_SIDE, ANALYSIS_SIDE))
    luma = np.asarray(gray, dtype=np.float32)
    if luma.mean() < DARK_MEAN or np.percentile(luma, 99) < DARK_BRIGHTEST:
        return ["too_dark"]  # sharpness cannot be judged in the dark
    issues = []
    if np.percentile(luma, 10) >= OVEREXPOSED_DARKEST:
        issues.append("overexposed")
    elif edge_strength(gray) < BLUR_EDGES:
        issues.append("blurred")
    return issues


def edge_strength(gray: Image.Image) -> float:
    """High percentile of the Laplacian on a contrast-stretched image: low means no sharp edge."""
    luma = np.asarray(ImageOps.autocontrast(gray, cutoff=1), dtype=np.float32)
    if min(luma.shape) < 3:
        return 0.0
    laplacian = 4 * luma[1:-1, 1:-1] - luma[:-2, 1:-1] - luma[2:, 1:-1] - luma[1:-1, :-2] - luma[1:-1, 2:]
    return float(np.percentile(np.abs(laplacian), 99))


def assess_quality(
    image: Image.Image,
    unusable_probability: float,
    original_size: tuple[int, int] | None = None,
) -> QualityReport:
    issues = pixel_issues(image, original_size)
    # On an unreadable photo the model's opinion is noise: fix the pixels first.
    if not issues and unusable_probability >= UNUSABLE_PROBABILITY:
        issues.append("not_product_photo")
    return QualityReport(issues)
