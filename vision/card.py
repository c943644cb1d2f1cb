"""The model card (models/damage/README.md), written by every training run so its numbers
are always the saved model's own."""

from __future__ import annotations

from typing import Any

ATTRIBUTIONS = """\
The training photos come from `../shared/datasets/damage` (956 photos, relabelled by hand):

- **"Damaged Package Detection"** and **"Damaged-Intact-Box-Dataset"**, Roboflow Universe,
  exports of the Kaggle set "damaged and intact packages" (rahulm7323), via
  amey1994-ai/parcel-damage-detection @ 0d26d5486aea. Licence: **CC BY 4.0**; this model is a
  derivative work and this notice is the required attribution.
- **furniture-damage-detection**, wideflat/furniture-damage-detection @ d9eb4778afd8,
  **MIT licence, (c) 2024 Kohei Kudo**.
- **"Packages"** (joseph-nelson), Roboflow Universe, via supertaco343/Capstone-1-Security-System
  @ ad7d0b91052a: **Public Domain**.
"""


def render(model_version: str, metrics: dict[str, Any], calibration: Any, config: Any) -> str:
    held = metrics["held_out"]
    altered = metrics["backdrop_altered"]
    training = metrics["training"]
    counts = training["label_counts"]
    return f"""\
# Damage model `{model_version}`

Classifies a shopper's photo of a delivered item as **intact**, **damaged** or **unusable**
(not a usable product photo), with the severity (minor / severe) and damage type of a damaged
item. Used by the returns assistant's action server through `vision.assess.get_assessor()`;
the return policy (`policy/`) decides, the model only informs.

- Architecture: `transformers` {_arch(config)} built from a config and trained from scratch
  (no pretrained weights), input {_input(config)} RGB. One classification
  head holds three softmax groups (`verdict:*`, `severity:*`, `damage_type:*`; see
  `config.json` `id2label`).
- Views: {_views(config)}
- Files: `config.json`, `model.safetensors`, `preprocessor_config.json` (BitImageProcessor),
  `calibration.json` (temperature {calibration.temperature}), `metrics.json`,
  `training_config.json`.
- `damage_probability` = P(damaged) / (P(damaged) + P(intact)) after calibration
  ({_calibration(calibration)}); operating point {calibration.damage_threshold}.

## Training data

{ATTRIBUTIONS}
Split by near-duplicate group (`dup_group`), stratified, {config.val_fraction:.0%} of groups held out
(seed {config.seed}).

| split | damaged | intact | unusable |
| --- | --- | --- | --- |
| train | {counts["train"]["damaged"]} | {counts["train"]["intact"]} | {counts["train"]["unusable"]} |
| held out | {counts["val"]["damaged"]} | {counts["val"]["intact"]} | {counts["val"]["unusable"]} |

Training: {training["minutes"]} minutes wall clock, {training["cpu_minutes"]} CPU-minutes, on
2 CPU cores; {config.epochs} epochs, AdamW, cosine
schedule, weight EMA, damaged photos drawn {config.damaged_boost}x as often, label smoothing
{config.label_smoothing}. Augmentation: random crops, flips, small rotations, colour jitter,
grayscale, blur, JPEG re-compression, noise, and the backdrop guard below.

## Held-out results (`python -m vision.evaluate --split val`)

| metric | value |
| --- | --- |
| AUROC damaged vs intact | {held["auroc"]} |
| its 95% bootstrap interval (near-duplicate groups resampled) | {_interval(held.get("auroc_95"))} |
| accuracy at {held["threshold"]} (damaged vs intact) | {held["accuracy"]} |
| F1 / precision / recall (damaged) | {held["f1"]} / {held["precision"]} / {held["recall"]} |
| verdict accuracy (3 classes) | {held["verdict_accuracy"]} |
| verdict ECE, raw model / calibrated | {calibration.ece_before} / {calibration.ece_after} |
| damage_probability ECE (calibrated) | {held["ece_damage_probability"]} |

The temperature was fitted on the same held-out photos (one parameter); the calibrated ECE is
therefore optimistic. AUROC does not depend on the calibration.

{_real_scenes(metrics.get("real_scenes"))}

## Shortcut guard: "plain studio backdrop = intact"

Most intact photos are product renders on white; most damaged ones are real scenes. During
training, photos on a plain backdrop get it replaced (cut-out by a border flood fill) by
colours, gradients, textures, planks or real scenes half the time, and a quarter of all photos
are shrunk onto a random canvas, white included. Measured on a copy of the held-out photos with
plain backdrops swapped for clutter and scene photos shrunk onto white:

| | AUROC | verdicts changed |
| --- | --- | --- |
| held-out photos as they are | {held["auroc"]} | |
| backdrop-altered copy | {altered["auroc"]} | {altered["verdict_changed"]:.1%} |

## Known limits

- Small data: {counts["train"]["damaged"] + counts["val"]["damaged"]} damaged photos, mostly
  crushed or torn cardboard; dents, scratches on products, wet damage and broken contents are
  rare, so they are recognised less well. Furniture appears only a little.
- Trained from scratch: it has not seen the variety a pretrained backbone has. Expect lower
  accuracy on photos unlike these (other products, night shots, close-ups of labels).
- Severity and damage type are judged from small thumbnails by one annotator; treat them as
  hints for the merchant, not facts.
- The held-out split is small ({counts["val"]["damaged"]} damaged photos): the AUROC carries a
  few points of sampling error.
- Merchant review verdicts are meant to grow the data: `python -m vision.train --extra-data DIR`.
"""


def _interval(bounds: list[float] | None) -> str:
    return "n/a" if not bounds else f"{bounds[0]:.2f} to {bounds[1]:.2f}"


def _real_scenes(scenes: dict[str, Any] | None) -> str:
    """The held-out photos without a plain studio backdrop: the kind of photo shoppers send."""
    if not scenes:
        return "Real-scene subset: not measured for this model (`python -m vision.evaluate`)."
    photos = scenes["photos"]
    return (
        f"On the held-out photos that are real scenes (no plain studio backdrop; {photos['damaged']}\n"
        f"damaged, {photos['intact']} intact), the photos most like a shopper's: AUROC {scenes['auroc']}\n"
        f"({_interval(scenes['auroc_95'])}), damaged precision / recall {scenes['precision']} /"
        f" {scenes['recall']}."
    )


def _input(config: Any) -> str:
    side = config.image_size
    if not config.serve_size or config.serve_size == side:
        return f"{side}x{side}"
    serve = config.serve_size
    return f"{side}x{side} in training, {serve}x{serve} in serving and evaluation (`--serve-size`)"


def _views(config: Any) -> str:
    crops = config.corner_crops
    if not crops:
        return "the whole photo resized (no centre crop)."
    return (
        f"the whole photo resized (no centre crop) and its four corner crops of {crops:.0%} of its\n"
        "  width and height, the logits averaged over the five (`damage_corner_crops` in\n"
        "  `preprocessor_config.json`): every part of the photo is also seen at a higher resolution."
    )


def _calibration(calibration: Any) -> str:
    if any(calibration.verdict_bias):
        return (
            f"verdict bias {list(calibration.verdict_bias)} undoing the damaged oversampling, then\n"
            f"  temperature {calibration.temperature}"
        )
    return f"temperature {calibration.temperature}; no prior correction"


def _arch(config: Any) -> str:
    if config.init_from:
        return f"image classifier initialised from `{config.init_from}`"
    return f"`{config.preset}` preset"
