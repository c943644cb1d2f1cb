"""Reviewer verdicts on photos, exported as labelled data the damage model trains on.

    python -m api.services.training_export OUT_DIR [--merchant SLUG]
    python -m vision.train --extra-data OUT_DIR

The folder follows vision/data.py's format: `labels.csv` with the columns
`file,label,severity,damage_type,dup_group,source` (file relative to the folder) and the images
under `images/<label>/`. Only each photo's newest verdict counts; the same image uploaded twice is
exported once. `export.json` beside it says what was exported and when, so the dashboard can tell
how many reviewed photos a training run used.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import Merchant, Photo, PhotoVerdict, ReturnItem, ReturnRequest
from api.settings import get_settings
from api.storage import get_storage

COLUMNS = ("file", "label", "severity", "damage_type", "dup_group", "source")
LABELS_FILE = "labels.csv"
MANIFEST_FILE = "export.json"
SOURCE_PREFIX = "merchant-review"
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


@dataclass(frozen=True)
class LabelledPhoto:
    photo: Photo
    verdict: PhotoVerdict
    rma: str
    merchant_slug: str

    @property
    def file(self) -> str:
        ext = EXTENSIONS.get(self.photo.content_type, ".jpg")
        return f"images/{self.verdict.label}/{self.photo.sha256[:16]}{ext}"

    def row(self) -> dict[str, str]:
        verdict = self.verdict
        severity = verdict.severity or ("none" if verdict.label == "intact" else "")
        return {
            "file": self.file,
            "label": verdict.label,
            "severity": severity if verdict.label != "unusable" else "",
            "damage_type": (verdict.damage_type or "") if verdict.label == "damaged" else "",
            # Photos of one returned item are near-duplicates of each other: keep them together.
            "dup_group": f"review-{self.photo.return_item_id or self.photo.sha256[:12]}",
            "source": f"{SOURCE_PREFIX}:{self.merchant_slug}:{self.rma}:{self.photo.id}:"
            f"user-{verdict.user_id}:{verdict.created_at:%Y-%m-%d}",
        }


def labelled_photos(db: Session, merchant_id: int | None = None) -> list[LabelledPhoto]:
    """Each reviewed photo once, with its newest verdict (one merchant, or all of them)."""
    stmt = (
        select(PhotoVerdict, Photo, ReturnRequest.rma, Merchant.slug)
        .join(Photo, PhotoVerdict.photo_id == Photo.id)
        .join(ReturnItem, Photo.return_item_id == ReturnItem.id)
        .join(ReturnRequest, ReturnItem.return_id == ReturnRequest.id)
        .join(Merchant, ReturnRequest.merchant_id == Merchant.id)
        .order_by(PhotoVerdict.id)
    )
    if merchant_id is not None:
        stmt = stmt.where(ReturnRequest.merchant_id == merchant_id, Photo.merchant_id == merchant_id)
    newest: dict[str, LabelledPhoto] = {}
    for verdict, photo, rma, slug in db.execute(stmt).all():
        # Keyed by content: the same image twice is one example, labelled by its newest verdict.
        newest[photo.sha256] = LabelledPhoto(photo, verdict, rma, slug)
    return sorted(newest.values(), key=lambda p: p.file)


def _manifest(photos: list[LabelledPhoto], merchant: str | None) -> dict[str, Any]:
    return {
        "format": "vision labels.csv (file,label,severity,damage_type,dup_group,source)",
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "merchant": merchant or "all",
        "photos": len(photos),
        "label_counts": dict(Counter(p.verdict.label for p in photos)),
        "train_with": "python -m vision.train --extra-data <this folder>",
    }


def _labels_csv(photos: list[LabelledPhoto]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for photo in photos:
        writer.writerow(photo.row())
    return out.getvalue()


def export_folder(
    db: Session, out_dir: Path, *, merchant_id: int | None = None, merchant_slug: str | None = None
) -> dict[str, Any]:
    """Write labels.csv, the images and export.json into out_dir; returns the manifest."""
    photos = labelled_photos(db, merchant_id)
    storage = get_storage()
    out_dir.mkdir(parents=True, exist_ok=True)
    for photo in photos:
        target = out_dir / photo.file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(storage.get(photo.photo.storage_key))
    (out_dir / LABELS_FILE).write_text(_labels_csv(photos), encoding="utf-8")
    manifest = _manifest(photos, merchant_slug)
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def export_zip(db: Session, *, merchant_id: int, merchant_slug: str) -> tuple[str, bytes, int]:
    """(file name, zip bytes, photo count): one top folder holding the labelled folder."""
    photos = labelled_photos(db, merchant_id)
    folder = f"reviews-{merchant_slug}-{datetime.now(UTC):%Y-%m-%d}"
    storage = get_storage()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{folder}/{LABELS_FILE}", _labels_csv(photos))
        archive.writestr(
            f"{folder}/{MANIFEST_FILE}", json.dumps(_manifest(photos, merchant_slug), indent=2) + "\n"
        )
        for photo in photos:
            # Images are already compressed: store them as they are.
            archive.writestr(
                zipfile.ZipInfo(f"{folder}/{photo.file}"),
                storage.get(photo.photo.storage_key),
                compress_type=zipfile.ZIP_STORED,
            )
    return f"{folder}.zip", buffer.getvalue(), len(photos)


# --- what the shipped model was trained on --------------------------------------------------


@dataclass
class ModelStatus:
    available: bool
    model_version: str = ""
    trained_at: datetime | None = None
    train_photos: int | None = None
    reviewed_photos: int | None = None  # merchant-review photos in the training run, when known
    extra_data: list[str] | None = None
    held_out: dict[str, Any] | None = None
    problem: str = ""


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _reviewed_rows(folder: Path) -> int | None:
    """Merchant-review rows of one --extra-data folder (export.json, else labels.csv)."""
    manifest = _read_json(folder / MANIFEST_FILE)
    if manifest is not None and isinstance(manifest.get("photos"), int):
        return int(manifest["photos"])
    try:
        with open(folder / LABELS_FILE, newline="", encoding="utf-8") as handle:
            return sum(
                1 for row in csv.DictReader(handle) if (row.get("source") or "").startswith(SOURCE_PREFIX)
            )
    except OSError:
        return None


def _shown(path: Path) -> str:
    from api.settings import ROOT

    try:
        return str(path.resolve().relative_to(ROOT)) + "/"
    except ValueError:
        return str(path)


def model_status(model_dir: Path | None = None) -> ModelStatus:
    """When the damage model was last trained and on how many reviewed photos; tolerant of a
    missing or half-written models/damage/ (the dashboard then says so)."""
    model_dir = Path(model_dir or get_settings().damage_model_dir)
    metrics = _read_json(model_dir / "metrics.json")
    config = _read_json(model_dir / "config.json")
    training_config = _read_json(model_dir / "training_config.json")
    if metrics is None and config is None:
        return ModelStatus(False, problem=f"No trained damage model in {_shown(model_dir)}.")
    stamps = [
        p.stat().st_mtime
        for p in (model_dir / "model.safetensors", model_dir / "metrics.json", model_dir / "config.json")
        if p.exists()
    ]
    trained_at = datetime.fromtimestamp(max(stamps), UTC) if stamps else None
    training = (metrics or {}).get("training") or {}
    extra = [str(p) for p in (training_config or {}).get("extra_data") or []]
    reviewed: int | None = 0
    for folder in extra:
        rows = _reviewed_rows(Path(folder))
        if rows is None:
            reviewed = None  # the folder is gone: unknown
            break
        assert reviewed is not None
        reviewed += rows
    return ModelStatus(
        available=True,
        model_version=str((config or {}).get("model_version") or ""),
        trained_at=trained_at,
        train_photos=training.get("train_photos"),
        reviewed_photos=reviewed if training_config is not None else None,
        extra_data=extra,
        held_out=(metrics or {}).get("held_out"),
    )


def verdicts_since(db: Session, merchant_id: int, since: datetime | None) -> int:
    """Reviewed photos not yet seen by the model (verdicts newer than the last training)."""
    photos = labelled_photos(db, merchant_id)
    if since is None:
        return len(photos)
    return sum(1 for p in photos if p.verdict.created_at > since)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m api.services.training_export",
        description="Export reviewer verdicts on photos as labelled data for python -m vision.train.",
    )
    parser.add_argument("out_dir", type=Path, help="folder to write labels.csv and the images into")
    parser.add_argument("--merchant", help="only this merchant's reviews (slug); default: all merchants")
    args = parser.parse_args(argv)

    from api.db import session_scope

    with session_scope() as db:
        merchant_id = None
        if args.merchant:
            merchant = db.scalar(select(Merchant).where(Merchant.slug == args.merchant))
            if merchant is None:
                print(f"no merchant with slug {args.merchant!r}", file=sys.stderr)
                return 2
            merchant_id = merchant.id
        manifest = export_folder(db, args.out_dir, merchant_id=merchant_id, merchant_slug=args.merchant)
    counts = ", ".join(f"{n} {label}" for label, n in sorted(manifest["label_counts"].items())) or "none"
    print(f"exported {manifest['photos']} reviewed photos ({counts}) to {args.out_dir}")
    print(f"train with: python -m vision.train --extra-data {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
