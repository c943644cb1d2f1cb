"""Serve the damage model: one assessor per process, safe to call from many threads.

    from vision.assess import get_assessor
    assessment = get_assessor().assess(photo_bytes)
    assessment.to_dict()  # the contract in docs/interfaces.md

After loading nothing is mutated, so concurrent ``assess`` calls need no lock; only the
first ``get_assessor()`` takes one, so the model is loaded once.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from vision.calibrate import Calibration
from vision.heads import DAMAGE_TYPES, SEVERITIES, UNUSABLE, damage_score, group_slices, probabilities
from vision.heatmap import grad_cam, overlay, to_png
from vision.images import ImageSource, load_photo
from vision.model import load_model
from vision.paths import default_model_dir
from vision.quality import QualityReport, assess_quality
from vision.transforms import Preprocess

THREADS_ENV = "VISION_TORCH_THREADS"
# Torch threads per assessment in the served process (the action server). One: there, photos are
# assessed side by side in their own threads, beside Rasa and the API on the same cores, and a
# second intra-op thread per photo slowed every turn once the cores were busy (docs/benchmarks.md).
SERVING_THREADS = 1
DAMAGE_TYPE_MIN_PROBABILITY = 0.5  # below this the type is reported as unknown (None)


@dataclass(frozen=True)
class Assessment:
    damage_probability: float
    severity: str  # "none" | "minor" | "severe"
    damage_type: str | None
    confidence: float
    unusable_probability: float
    quality: QualityReport
    model_version: str
    latency_ms: float

    def to_dict(self) -> dict[str, object]:
        return {
            "damage_probability": round(self.damage_probability, 4),
            "severity": self.severity,
            "damage_type": self.damage_type,
            "confidence": round(self.confidence, 4),
            "unusable_probability": round(self.unusable_probability, 4),
            "quality": self.quality.to_dict(),
            "model_version": self.model_version,
            "latency_ms": round(self.latency_ms, 1),
        }


class DamageAssessor:
    def __init__(self, model_dir: Path | str | None = None, threads: int | None = None) -> None:
        directory = Path(model_dir) if model_dir else default_model_dir()
        if not (directory / "config.json").is_file():
            raise FileNotFoundError(
                f"No damage model in {directory}: train one with `python -m vision.train`."
            )
        if threads:
            torch.set_num_threads(threads)
        self.model = load_model(directory)
        self.preprocess = Preprocess.load(directory)
        self.calibration = Calibration.load(directory)
        self.slices = group_slices(self.model.config.id2label)
        self.model_version: str = getattr(self.model.config, "model_version", directory.name)

    def assess(self, source: ImageSource) -> Assessment:
        """Raises :class:`vision.images.ImageError` when the input is not a readable image."""
        started = time.perf_counter()
        photo = load_photo(source)
        with torch.inference_mode():
            views = self.preprocess.views(photo.image)
            logits = self.model(pixel_values=views).logits.mean(dim=0, keepdim=True)
        calibration = self.calibration
        heads = probabilities(logits, self.slices, calibration.temperature, calibration.verdict_bias)
        damage = float(damage_score(heads.verdict)[0])
        unusable = float(heads.verdict[0, UNUSABLE])
        damaged = damage >= self.calibration.damage_threshold
        type_probability, type_index = heads.damage_type[0].max(dim=0)
        quality = assess_quality(photo.image, unusable, photo.original_size)
        return Assessment(
            damage_probability=damage,
            severity=SEVERITIES[int(heads.severity[0].argmax())] if damaged else "none",
            damage_type=(
                DAMAGE_TYPES[int(type_index)]
                if damaged and float(type_probability) >= DAMAGE_TYPE_MIN_PROBABILITY
                else None
            ),
            confidence=damage if damaged else 1 - damage,
            unusable_probability=unusable,
            quality=quality,
            model_version=self.model_version,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    def heatmap_png(self, source: ImageSource) -> bytes:
        """PNG of the photo with a Grad-CAM overlay of where the model sees damage."""
        image = load_photo(source).image
        cam = grad_cam(self.model, self.preprocess(image)[None], self.slices["verdict"])
        return to_png(overlay(image, cam))


_assessor: DamageAssessor | None = None
_lock = threading.Lock()


def serving_threads(environ: Mapping[str, str] | None = None) -> int:
    """Torch threads for the served assessor: $VISION_TORCH_THREADS, else SERVING_THREADS."""
    raw = (os.environ if environ is None else environ).get(THREADS_ENV, "").strip()
    if not raw:
        return SERVING_THREADS
    try:
        threads = int(raw)
    except ValueError:
        raise ValueError(f"{THREADS_ENV} must be a whole number of threads, 1 or more, not {raw!r}") from None
    if threads < 1:
        raise ValueError(f"{THREADS_ENV} must be 1 or more, not {threads}")
    return threads


def get_assessor() -> DamageAssessor:
    """The process-wide assessor, loaded from models/damage (or $DAMAGE_MODEL_DIR) once."""
    global _assessor
    if _assessor is None:
        with _lock:
            if _assessor is None:
                _assessor = DamageAssessor(threads=serving_threads())
    return _assessor
