"""Preprocessing and augmentation with PIL, numpy and torch (torchvision does not import here).

Inference: :class:`Preprocess` resizes the whole photo to a square (no centre crop, so damage
at the edge of a shopper's photo is not cut away) and normalises; it round-trips through a
standard ``preprocessor_config.json``. :meth:`Preprocess.views` adds four overlapping corner
crops of the photo (each ``corner_crops`` of its width and height), so a model that sees the
photo at 160 px also looks at every part of it at a higher resolution; the model's logits are
averaged over the views.

Training: :class:`Augment` adds the usual crops, flips and colour changes, and breaks the
shortcut this data invites (studio white background = intact): photos on a plain backdrop
get their backdrop replaced, and any photo may be shrunk onto a plain or cluttered canvas, so
background says nothing about the label.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PREPROCESSOR_FILE = "preprocessor_config.json"
CORNER_CROPS_KEY = "damage_corner_crops"  # ours, beside the standard keys; transformers ignores it


@dataclass(frozen=True)
class Preprocess:
    size: int = 160
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    corner_crops: float | None = None  # side of the four corner views, as a share; None: whole photo only

    def __call__(self, image: Image.Image) -> torch.Tensor:
        return to_tensor(image.resize((self.size, self.size), Image.Resampling.BICUBIC), self)

    def views(self, image: Image.Image) -> torch.Tensor:
        """(V, 3, size, size): the whole photo, then its four corner crops when configured."""
        views = [self(image)]
        if self.corner_crops:
            # Resize once to the square the crops are cut from: cheaper than resizing each crop.
            big = round(self.size / self.corner_crops)
            square = image.resize((big, big), Image.Resampling.BICUBIC)
            far = big - self.size
            for left in (0, far):
                for top in (0, far):
                    views.append(to_tensor(square.crop((left, top, left + self.size, top + self.size)), self))
        return torch.stack(views)

    def save(self, directory: Path) -> None:
        """Write a ``BitImageProcessor`` config, readable by ``AutoImageProcessor``."""
        config = {
            "image_processor_type": "BitImageProcessor",
            "do_resize": True,
            "size": {"height": self.size, "width": self.size},
            "resample": int(Image.Resampling.BICUBIC),
            "do_center_crop": False,
            "do_rescale": True,
            "rescale_factor": 1 / 255,
            "do_normalize": True,
            "image_mean": list(self.mean),
            "image_std": list(self.std),
            "do_convert_rgb": True,
            CORNER_CROPS_KEY: self.corner_crops,
        }
        (directory / PREPROCESSOR_FILE).write_text(json.dumps(config, indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path) -> Preprocess:
        config = json.loads((directory / PREPROCESSOR_FILE).read_text())
        size = config["size"]
        side = size.get("height") or size.get("shortest_edge")
        return cls(
            int(side), tuple(config["image_mean"]), tuple(config["image_std"]), config.get(CORNER_CROPS_KEY)
        )


def to_tensor(image: Image.Image, spec: Preprocess) -> torch.Tensor:
    array = np.asarray(image, dtype=np.float32) / 255.0
    mean = np.asarray(spec.mean, dtype=np.float32)
    std = np.asarray(spec.std, dtype=np.float32)
    return torch.from_numpy(((array - mean) / std).transpose(2, 0, 1).copy())


# ---------------------------------------------------------------- backdrops


def plain_backdrop_mask(image: Image.Image, tolerance: int = 28) -> Image.Image | None:
    """Foreground mask ("L", 255 = object) for a photo on a plain backdrop, else None.

    The backdrop is the region of near-border-colour pixels connected to the border,
    found by a vectorised flood fill at low resolution.
    """
    small = np.asarray(image.convert("RGB").resize((96, 96), Image.Resampling.BILINEAR))
    small = small.astype(np.int16)
    border = np.concatenate([small[0], small[-1], small[:, 0], small[:, -1]])
    colour = np.median(border, axis=0)
    if (np.abs(border - colour).max(axis=-1) <= tolerance).mean() < 0.85:
        return None
    close = np.abs(small - colour).max(axis=-1) <= tolerance
    backdrop = np.zeros_like(close)
    backdrop[[0, -1], :] = close[[0, -1], :]
    backdrop[:, [0, -1]] = close[:, [0, -1]]
    while True:
        grown = backdrop.copy()
        grown[1:] |= backdrop[:-1]
        grown[:-1] |= backdrop[1:]
        grown[:, 1:] |= backdrop[:, :-1]
        grown[:, :-1] |= backdrop[:, 1:]
        grown &= close
        if (grown == backdrop).all():
            break
        backdrop = grown
    foreground = ~backdrop
    if not 0.05 <= foreground.mean() <= 0.95:
        return None
    mask = Image.fromarray((foreground * 255).astype(np.uint8))
    return mask.resize(image.size, Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(1))


BACKDROPS = ("plain", "light", "gradient", "texture", "planks", "scene")


def random_backdrop(
    size: tuple[int, int],
    rng: np.random.Generator,
    scenes: list[Image.Image] | None = None,
    kinds: tuple[str, ...] = BACKDROPS,
) -> Image.Image:
    """A plain, light, patterned, noisy or real-photo background of the given size."""
    width, height = size
    kind = str(rng.choice(kinds))
    if kind == "scene" and scenes:
        scene = scenes[int(rng.integers(len(scenes)))]
        return random_resized_crop(scene, (width, height), rng, scale=(0.2, 0.6))
    if kind == "scene":
        kind = "texture"
    colour = rng.integers(0, 256, size=3)
    if kind == "light":
        return Image.new("RGB", size, tuple(int(v) for v in rng.integers(225, 256, size=3)))
    if kind == "plain":
        return Image.new("RGB", size, tuple(int(v) for v in colour))
    if kind == "gradient":
        other = rng.integers(0, 256, size=3)
        t = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
        rows = (1 - t) * colour + t * other
        return Image.fromarray(np.broadcast_to(rows, (height, width, 3)).astype(np.uint8))
    if kind == "planks":
        count = int(rng.integers(3, 9))
        shades = np.clip(colour + rng.normal(0, 25, size=(count, 3)), 0, 255)
        bands = np.repeat(shades, -(-height // count), axis=0)[:height]
        grain = rng.normal(0, 8, size=(height, width, 1))
        return Image.fromarray(np.clip(bands[:, None, :] + grain, 0, 255).astype(np.uint8))
    coarse = rng.normal(colour, 40, size=(6, 6, 3)).clip(0, 255).astype(np.uint8)
    base = np.asarray(Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC), np.float32)
    return Image.fromarray(np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8))


def replace_backdrop(image: Image.Image, mask: Image.Image, backdrop: Image.Image) -> Image.Image:
    return Image.composite(image, backdrop.resize(image.size), mask)


def shrink_onto(
    image: Image.Image, backdrop: Image.Image, scale: float, rng: np.random.Generator
) -> Image.Image:
    """Place a shrunken copy of the photo somewhere on the backdrop (same canvas size)."""
    canvas = backdrop.resize(image.size)
    width = max(1, round(image.width * scale))
    height = max(1, round(image.height * scale))
    left = int(rng.integers(0, image.width - width + 1))
    top = int(rng.integers(0, image.height - height + 1))
    canvas.paste(image.resize((width, height), Image.Resampling.BILINEAR), (left, top))
    return canvas


# ---------------------------------------------------------------- geometry and colour


def random_resized_crop(
    image: Image.Image,
    size: tuple[int, int],
    rng: np.random.Generator,
    scale: tuple[float, float] = (0.4, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
) -> Image.Image:
    area = image.width * image.height
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = np.exp(rng.uniform(np.log(ratio[0]), np.log(ratio[1])))
        width = round(np.sqrt(target * aspect))
        height = round(np.sqrt(target / aspect))
        if 0 < width <= image.width and 0 < height <= image.height:
            left = int(rng.integers(0, image.width - width + 1))
            top = int(rng.integers(0, image.height - height + 1))
            box = (left, top, left + width, top + height)
            return image.resize(size, Image.Resampling.BILINEAR, box=box)
    return image.resize(size, Image.Resampling.BILINEAR)


def jitter_colour(image: Image.Image, rng: np.random.Generator, strength: float) -> Image.Image:
    for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        image = enhancer(image).enhance(float(rng.uniform(1 - strength, 1 + strength)))
    shift = int(rng.integers(-12, 13))  # of 255: about +-17 degrees of hue
    if shift:
        hue, saturation, value = image.convert("HSV").split()
        hue = hue.point(lambda h: (h + shift) % 256)
        image = Image.merge("HSV", (hue, saturation, value)).convert("RGB")
    return image


def recompress(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


@dataclass
class Augment:
    """Random training view of one photo; probabilities are per photo."""

    spec: Preprocess = field(default_factory=Preprocess)
    backdrop_swap: float = 0.5
    shrink: float = 0.25
    colour_strength: float = 0.3
    grayscale: float = 0.15
    blur: float = 0.15
    jpeg: float = 0.2
    noise: float = 0.15
    rotate: float = 0.2
    crop_scale: tuple[float, float] = (0.4, 1.0)  # share of the area a random crop keeps

    def __call__(
        self,
        image: Image.Image,
        mask: Image.Image | None,
        rng: np.random.Generator,
        scenes: list[Image.Image] | None = None,
    ) -> torch.Tensor:
        return to_tensor(self.view(image, mask, rng, scenes), self.spec)

    def view(
        self,
        image: Image.Image,
        mask: Image.Image | None,
        rng: np.random.Generator,
        scenes: list[Image.Image] | None = None,
    ) -> Image.Image:
        if mask is not None and rng.random() < self.backdrop_swap:
            image = replace_backdrop(image, mask, random_backdrop(image.size, rng, scenes))
        if rng.random() < self.shrink:
            backdrop = random_backdrop(image.size, rng, scenes)
            image = shrink_onto(image, backdrop, float(rng.uniform(0.5, 0.9)), rng)
        if rng.random() < self.rotate:
            fill = tuple(int(v) for v in rng.integers(0, 256, size=3))
            image = image.rotate(float(rng.uniform(-15, 15)), Image.Resampling.BILINEAR, fillcolor=fill)
        side = self.spec.size
        image = random_resized_crop(image, (side, side), rng, scale=self.crop_scale)
        if rng.random() < 0.5:
            image = ImageOps.mirror(image)
        image = jitter_colour(image, rng, self.colour_strength)
        if rng.random() < self.grayscale:
            image = ImageOps.grayscale(image).convert("RGB")
        if rng.random() < self.blur:
            image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.2, 1.5))))
        if rng.random() < self.jpeg:
            image = recompress(image, int(rng.integers(30, 90)))
        if rng.random() < self.noise:
            array = np.asarray(image, dtype=np.float32)
            noisy = array + rng.normal(0, rng.uniform(3, 12), array.shape)
            image = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
        return image
