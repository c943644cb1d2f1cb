"""Synthetic damage drawn onto intact photos, a training augmentation (PIL / numpy / torch).

The curated set has 113 damaged photos, nearly all real scenes of cardboard, and hundreds of
intact products on studio backdrops. A model can then score well by judging the scene instead
of the item. Drawing damage onto intact photos, studio renders included, gives it damaged
examples whose only difference from an intact one is the damage itself: folds and creases of a
crushed box, tears that show the inner layer or the dark inside, punctures, dents and water
stains. Everything is drawn inside the item (the foreground mask of a studio photo, the middle
of a scene photo) and from the photo's own colours, so that no colour or backdrop gives it away.

``draw_damage(image, mask, rng)`` returns the damaged copy and the kinds drawn. Training uses
it through ``PhotoDataset`` (``--synthetic-damage``, the share of intact photos drawn that are
turned into damaged ones); docs/model.md says what it did to the held-out numbers.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFilter

KINDS = ("crease", "tear", "puncture", "dent", "stain")
WEIGHTS = (0.35, 0.25, 0.15, 0.15, 0.10)


def draw_damage(
    image: Image.Image, mask: Image.Image | None, rng: np.random.Generator
) -> tuple[Image.Image, list[str]]:
    """A copy of ``image`` with one to three damages drawn inside the item."""
    width, height = image.size
    region = _item_region(mask, width, height)
    canvas = _Canvas(np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0)
    kinds = [str(k) for k in rng.choice(KINDS, size=int(rng.integers(1, 4)), p=WEIGHTS)]
    scale = min(width, height) / 288  # sizes below are in pixels of a 288 px photo
    for kind in kinds:
        centre = _point_in(region, rng)
        _DRAW[kind](canvas, centre, scale, rng)
    return canvas.render(region), kinds


# ---------------------------------------------------------------- where


def _item_region(mask: Image.Image | None, width: int, height: int) -> np.ndarray:
    """Where damage may go, 0..1: the studio item's mask, else an ellipse in the middle."""
    if mask is not None:
        region = np.asarray(mask.resize((width, height)), dtype=np.float32) / 255.0
        if (region > 0.5).mean() >= 0.02:
            return region
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    inside = ((xs - width / 2) / (0.4 * width)) ** 2 + ((ys - height / 2) / (0.4 * height)) ** 2
    return np.clip(1.5 - inside, 0.0, 1.0)


def _point_in(region: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    ys, xs = np.nonzero(region > 0.5)
    if len(xs) == 0:
        return region.shape[1] / 2, region.shape[0] / 2
    index = int(rng.integers(len(xs)))
    return float(xs[index]), float(ys[index])


# ---------------------------------------------------------------- the drawing surface


class _Canvas:
    """The photo plus what the damages add: a shading factor, painted layers, a displacement."""

    def __init__(self, pixels: np.ndarray) -> None:
        self.pixels = pixels
        height, width = pixels.shape[:2]
        self.shade = np.ones((height, width), dtype=np.float32)
        self.paint = np.zeros((height, width, 3), dtype=np.float32)
        self.alpha = np.zeros((height, width), dtype=np.float32)
        self.shift = np.zeros((2, height, width), dtype=np.float32)  # dx, dy in pixels
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        self.xs, self.ys = xs, ys

    def window(self, centre: tuple[float, float], reach: float) -> tuple[slice, slice]:
        """The rows and columns within ``reach`` pixels of ``centre``: damages are drawn there."""
        height, width = self.shade.shape
        x, y, r = int(centre[0]), int(centre[1]), int(np.ceil(reach))
        return slice(max(0, y - r), min(height, y + r + 1)), slice(max(0, x - r), min(width, x + r + 1))

    def local_colour(self, centre: tuple[float, float], radius: float) -> np.ndarray:
        x, y = int(centre[0]), int(centre[1])
        r = max(2, int(radius))
        patch = self.pixels[max(0, y - r) : y + r, max(0, x - r) : x + r]
        return patch.reshape(-1, 3).mean(axis=0)

    def layer(self, window: tuple[slice, slice], colour: np.ndarray, alpha: np.ndarray) -> None:
        """Paint ``colour`` (the window's shape plus 3, or 3) over the window, with ``alpha``."""
        self.paint[window] = self.paint[window] * (1 - alpha[..., None]) + colour * alpha[..., None]
        self.alpha[window] = self.alpha[window] + alpha * (1 - self.alpha[window])

    def render(self, region: np.ndarray) -> Image.Image:
        pixels = _displace(self.pixels, self.shift * region)
        shade = 1 + (self.shade - 1) * region
        out = pixels * shade[..., None]
        alpha = (self.alpha * region)[..., None]
        out = out * (1 - alpha) + self.paint * alpha
        return Image.fromarray((np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8))


def _displace(pixels: np.ndarray, shift: np.ndarray) -> np.ndarray:
    if not shift.any():
        return pixels
    height, width = pixels.shape[:2]
    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    sample_x = (xs + torch.from_numpy(shift[0])) / max(width - 1, 1) * 2 - 1
    sample_y = (ys + torch.from_numpy(shift[1])) / max(height - 1, 1) * 2 - 1
    grid = torch.stack([sample_x, sample_y], dim=-1)[None].float()
    source = torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))[None]
    moved = F.grid_sample(source, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return moved[0].numpy().transpose(1, 2, 0)


def _polygon_mask(window: tuple[slice, slice], points: list[tuple[float, float]], blur: float) -> np.ndarray:
    height, width = window[0].stop - window[0].start, window[1].stop - window[1].start
    image = Image.new("L", (width, height), 0)
    ImageDraw.Draw(image).polygon([(x - window[1].start, y - window[0].start) for x, y in points], fill=255)
    if blur > 0:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(image, dtype=np.float32) / 255.0


def _jagged_outline(
    centre: tuple[float, float], radius: float, rng: np.random.Generator, elongation: float
) -> list[tuple[float, float]]:
    count = int(rng.integers(16, 40))
    angles = np.linspace(0, 2 * np.pi, count, endpoint=False) + rng.uniform(0, 0.2, count)
    # a lumpy outline (a few low harmonics) with a ragged edge (a little per-vertex jitter)
    lumps = sum(rng.uniform(0, 0.25) * np.cos(k * angles + rng.uniform(0, 2 * np.pi)) for k in range(1, 4))
    radii = radius * (1 + lumps) * rng.uniform(0.85, 1.15, count)
    turn = rng.uniform(0, np.pi)
    x = radii * np.cos(angles) * elongation
    y = radii * np.sin(angles) / elongation
    rx = centre[0] + x * np.cos(turn) - y * np.sin(turn)
    ry = centre[1] + x * np.sin(turn) + y * np.cos(turn)
    return list(zip(rx.tolist(), ry.tolist(), strict=True))


def _walk(
    centre: tuple[float, float], length: float, rng: np.random.Generator, steps: int = 10
) -> np.ndarray:
    """A gently bending line through ``centre``, as (steps + 1, 2) points."""
    heading = rng.uniform(0, 2 * np.pi)
    turns = np.cumsum(rng.normal(0, 0.25, steps))
    step = length / steps
    offsets = np.cumsum(np.stack([np.cos(heading + turns), np.sin(heading + turns)], 1) * step, axis=0)
    points = np.vstack([[0.0, 0.0], offsets])
    return points - points[steps // 2] + np.asarray(centre)


def _signed_distance(
    canvas: _Canvas, line: np.ndarray, window: tuple[slice, slice]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every pixel of the window: its distance to the polyline, signed by the side it lies on; its
    position along the line (0..1); and the unit vector from the line to it, as (2, H, W)."""
    xs, ys = canvas.xs[window], canvas.ys[window]
    best = np.full(xs.shape, np.inf, dtype=np.float32)
    signed = np.zeros_like(best)
    along = np.zeros_like(best)
    away = np.zeros((2, *best.shape), dtype=np.float32)
    for index, (a, b) in enumerate(itertools.pairwise(line)):
        segment = b - a
        length_sq = float(segment @ segment) or 1.0
        px, py = xs - a[0], ys - a[1]
        t = np.clip((px * segment[0] + py * segment[1]) / length_sq, 0, 1)
        dx, dy = px - t * segment[0], py - t * segment[1]
        distance = np.sqrt(dx * dx + dy * dy)
        closer = distance < best
        side = np.sign(segment[0] * py - segment[1] * px)
        best = np.where(closer, distance, best)
        signed = np.where(closer, side * distance, signed)
        along = np.where(closer, (index + t) / (len(line) - 1), along)
        away = np.where(closer, np.stack([dx, dy]) / np.maximum(distance, 1e-3), away)
    return signed, along, away


# ---------------------------------------------------------------- the damages


def _crease(canvas: _Canvas, centre: tuple[float, float], scale: float, rng: np.random.Generator) -> None:
    """A crushed box: a few folds near each other, each a light ridge beside a dark shadow,
    with the surface pulled into the fold."""
    for _ in range(int(rng.integers(1, 5))):
        start = (centre[0] + rng.normal(0, 18 * scale), centre[1] + rng.normal(0, 18 * scale))
        length = rng.uniform(40, 150) * scale
        width = rng.uniform(1.5, 5.0) * scale
        window = canvas.window(start, length / 2 + 12 * width)
        line = _walk(start, length, rng)
        signed, along, away = _signed_distance(canvas, line, window)
        fade = np.sqrt(np.sin(np.pi * along))  # the fold fades out at its ends
        u = signed / width
        ridge = rng.uniform(0.25, 0.6) * (-u * np.exp(0.5 - 0.5 * u * u)) * fade
        canvas.shade[window] *= 1 + ridge
        # sampling from further out pulls the surface into the fold
        pull = rng.uniform(0.5, 2.5) * scale * np.exp(-0.5 * (u / 3) ** 2) * fade
        canvas.shift[(slice(None), *window)] += away * pull


def _tear(canvas: _Canvas, centre: tuple[float, float], scale: float, rng: np.random.Generator) -> None:
    """A tear: a ragged hole showing the dark inside, the corrugated layer or torn paper,
    with a light frayed rim and the flap's shadow."""
    radius = rng.uniform(8, 38) * scale
    elongation = rng.uniform(1.0, 2.5)
    window = canvas.window(centre, radius * 1.6 * elongation + 8 * scale)
    outline = _jagged_outline(centre, radius, rng, elongation)
    hole = _polygon_mask(window, outline, blur=0.6)
    rim = np.clip(_polygon_mask(window, outline, blur=2.5 * scale) * 1.8 - hole, 0, 1)
    colour = canvas.local_colour(centre, radius)
    shape = hole.shape
    inside = str(rng.choice(("dark", "corrugated", "paper")))
    if inside == "dark":
        fill = np.broadcast_to(colour * rng.uniform(0.1, 0.35), (*shape, 3))
    elif inside == "corrugated":
        angle = rng.uniform(0, np.pi)
        period = rng.uniform(3, 7) * scale
        xs, ys = canvas.xs[window], canvas.ys[window]
        wave = np.sin(2 * np.pi * (xs * np.cos(angle) + ys * np.sin(angle)) / period)
        base = np.clip(colour * 0.6 + rng.uniform(0.25, 0.45), 0, 1)
        fill = base * (1 + 0.12 * wave)[..., None]
    else:
        fill = np.broadcast_to(np.clip(0.8 + rng.normal(0, 0.05, 3), 0, 1), (*shape, 3))
    grain = rng.normal(0, 0.04, (*shape, 1)).astype(np.float32)
    canvas.layer(window, np.clip(fill + grain, 0, 1), hole)
    canvas.layer(window, np.clip(colour * 0.4 + 0.55 + grain, 0, 1), rim * rng.uniform(0.5, 0.9))
    offset = (int(rng.integers(-4, 5) * scale), int(rng.integers(-4, 5) * scale))
    shadow = np.roll(hole, offset, (0, 1))
    canvas.shade[window] *= 1 - 0.35 * np.clip(shadow - hole, 0, 1)


def _puncture(canvas: _Canvas, centre: tuple[float, float], scale: float, rng: np.random.Generator) -> None:
    """A small dark hole with a light rim and short cracks running out of it."""
    radius = rng.uniform(3, 10) * scale
    window = canvas.window(centre, radius * 2 + 26 * scale)
    outline = _jagged_outline(centre, radius, rng, elongation=rng.uniform(1.0, 1.6))
    hole = _polygon_mask(window, outline, blur=0.5)
    rim = np.clip(_polygon_mask(window, outline, blur=1.5 * scale) * 1.6 - hole, 0, 1)
    colour = canvas.local_colour(centre, radius * 2)
    for _ in range(int(rng.integers(2, 6))):
        crack = _walk(centre, rng.uniform(8, 25) * scale, rng, steps=4)
        signed, _, _ = _signed_distance(canvas, crack - (crack[0] - np.asarray(centre)), window)
        canvas.shade[window] *= 1 - 0.45 * np.exp(-0.5 * (signed / (0.7 * scale)) ** 2)
    canvas.layer(window, np.broadcast_to(colour * rng.uniform(0.05, 0.25), (*hole.shape, 3)), hole)
    canvas.layer(window, np.broadcast_to(np.clip(colour * 0.5 + 0.5, 0, 1), (*hole.shape, 3)), rim * 0.7)


def _dent(canvas: _Canvas, centre: tuple[float, float], scale: float, rng: np.random.Generator) -> None:
    """A dent: the surface pushed in, lit from one side."""
    radius = rng.uniform(12, 45) * scale
    window = canvas.window(centre, radius * 2)
    dx, dy = canvas.xs[window] - centre[0], canvas.ys[window] - centre[1]
    squash = rng.uniform(0.6, 1.0)
    bowl = np.exp(-2 * (dx * dx + (dy / squash) ** 2) / (radius * radius))
    light = rng.uniform(0, 2 * np.pi)
    slope = (dx * np.cos(light) + dy * np.sin(light)) / radius
    canvas.shade[window] *= 1 + rng.uniform(0.3, 0.7) * slope * bowl
    canvas.shift[(slice(None), *window)] += np.stack([dx, dy]) * bowl * rng.uniform(0.05, 0.15)


def _stain(canvas: _Canvas, centre: tuple[float, float], scale: float, rng: np.random.Generator) -> None:
    """A water stain: an irregular darker patch with a darker tide line."""
    radius = rng.uniform(15, 50) * scale
    window = canvas.window(centre, radius * 1.6)
    dx, dy = canvas.xs[window] - centre[0], canvas.ys[window] - centre[1]
    coarse = Image.fromarray(rng.normal(0, 1, (6, 6)).astype(np.float32))
    noise = np.asarray(coarse.resize((dx.shape[1], dx.shape[0]), Image.Resampling.BICUBIC))
    field = np.sqrt(dx * dx + dy * dy) / radius + 0.3 * noise
    blot = 1 / (1 + np.exp(np.clip((field - 1) * 12, -30, 30)))
    tide = np.exp(-0.5 * ((field - 1) / 0.05) ** 2)
    canvas.shade[window] *= 1 - rng.uniform(0.15, 0.35) * blot - rng.uniform(0.1, 0.25) * tide


_DRAW = {"crease": _crease, "tear": _tear, "puncture": _puncture, "dent": _dent, "stain": _stain}
