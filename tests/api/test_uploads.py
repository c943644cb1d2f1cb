"""POST /api/v1/uploads: the malformed-upload corpus, cleaning (EXIF), content-addressed storage."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import ExifTags, Image

from api.models import Photo
from tests.api.helpers import count, image_bytes, rows, sqlite_only, upload
from tests.api.uploads_corpus import ACCEPTED, CASES, REFUSED, Case, exif_rotated_with_gps


def stored_files(var_dir: Path) -> list[Path]:
    root = var_dir / "uploads"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_corpus_is_big_enough_and_made_by_code() -> None:
    assert len(REFUSED) >= 15
    assert len({c.name for c in CASES}) == len(CASES)
    statuses = {c.status for c in CASES}
    assert {201, 413, 415, 422} <= statuses


@sqlite_only
@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.name)
def test_refused_upload_answers_status_and_reason_and_writes_nothing(
    client: Any, var_dir: Path, case: Case
) -> None:
    before = count(Photo)
    r = upload(client, case.make(), case.filename, case.content_type, conversation_id="conv-1")
    assert r.status_code == case.status, r.text
    body = r.json()
    assert set(body) == {"detail"}
    assert case.detail.lower() in body["detail"].lower()
    assert body["detail"].endswith(".")  # a sentence for the shopper, not an exception name
    assert count(Photo) == before
    assert stored_files(var_dir) == []  # no file, no temp file left behind


@sqlite_only
def test_heic_refusal_says_how_to_convert(client: Any) -> None:
    case = next(c for c in CASES if c.name == "heic")
    detail = upload(client, case.make(), case.filename, case.content_type).json()["detail"]
    assert "JPEG" in detail and "Settings > Camera > Formats > Most Compatible" in detail


@sqlite_only
@pytest.mark.parametrize("case", ACCEPTED, ids=lambda c: c.name)
def test_accepted_upload_is_cleaned_and_stored(client: Any, var_dir: Path, case: Case) -> None:
    r = upload(client, case.make(), case.filename, case.content_type, conversation_id="conv-1")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["photo_id"].startswith("ph_")
    assert body["content_type"] == case.stored_type
    assert (body["width"], body["height"]) == case.stored_size

    [photo] = rows(Photo, Photo.id == body["photo_id"])
    assert photo.conversation_id == "conv-1"
    assert photo.content_type == case.stored_type and photo.sha256 == body["sha256"]
    stored = (var_dir / "uploads" / photo.storage_key).read_bytes()
    assert hashlib.sha256(stored).hexdigest() == photo.sha256 == Path(photo.storage_key).stem
    assert photo.size_bytes == len(stored)
    img = Image.open(io.BytesIO(stored))
    assert img.size == case.stored_size
    assert getattr(img, "n_frames", 1) == 1
    if case.stored_mode:
        assert img.mode == case.stored_mode
    assert not img.getexif(), "EXIF must be stripped"


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_exif_orientation_is_applied_and_gps_removed(client: Any, var_dir: Path, fmt: str) -> None:
    original = exif_rotated_with_gps(fmt)
    exif = Image.open(io.BytesIO(original)).getexif()
    assert exif[ExifTags.Base.Orientation] == 6
    assert exif.get_ifd(ExifTags.IFD.GPSInfo)  # the test photo really carries a position

    r = upload(client, original, "p." + fmt.lower(), "image/" + fmt.lower())
    assert r.status_code == 201, r.text
    [photo] = rows(Photo, Photo.id == r.json()["photo_id"])
    stored = (var_dir / "uploads" / photo.storage_key).read_bytes()
    img = Image.open(io.BytesIO(stored)).convert("RGB")
    # Stored 80x40 (red left, blue right) with "rotate 90 clockwise": upright it is 40x80, red on top.
    assert img.size == (40, 80)
    top, bottom = img.getpixel((20, 10)), img.getpixel((20, 70))
    assert top[0] > 150 and top[2] < 100, top
    assert bottom[2] > 150 and bottom[0] < 100, bottom
    assert not img.getexif()
    assert b"TestCam" not in stored and b"GPS" not in stored and b"Exif" not in stored


def test_same_photo_twice_is_stored_once(client: Any, var_dir: Path) -> None:
    data = image_bytes(color=(1, 2, 3))
    first = upload(client, data, conversation_id="a").json()
    second = upload(client, data, "again.jpg", conversation_id="b").json()
    other = upload(client, image_bytes(color=(250, 250, 0))).json()

    assert first["photo_id"] != second["photo_id"]  # two uploads, two photos ...
    assert first["sha256"] == second["sha256"] != other["sha256"]
    photos = {p.id: p for p in rows(Photo)}
    assert photos[first["photo_id"]].storage_key == photos[second["photo_id"]].storage_key
    assert len(stored_files(var_dir)) == 2  # ... but one file per distinct content
    assert {p.name for p in stored_files(var_dir)} == {f"{first['sha256']}.jpg", f"{other['sha256']}.jpg"}


@sqlite_only
def test_size_limit_comes_from_settings(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.settings import get_settings

    data = image_bytes(size=(256, 256))
    monkeypatch.setenv("UPLOAD_MAX_BYTES", str(len(data) - 1))
    get_settings.cache_clear()
    r = upload(client, data)
    assert r.status_code == 413
    assert "larger than" in r.json()["detail"]
    monkeypatch.setenv("UPLOAD_MAX_BYTES", str(len(data)))
    get_settings.cache_clear()
    assert upload(client, data).status_code == 201


@sqlite_only
def test_pixel_limit_comes_from_settings(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.settings import get_settings

    monkeypatch.setenv("UPLOAD_MAX_PIXELS", str(100 * 100))
    get_settings.cache_clear()
    assert upload(client, image_bytes(size=(100, 100))).status_code == 201
    r = upload(client, image_bytes(size=(101, 100)))
    assert r.status_code == 413 and "megapixels" in r.json()["detail"]


@sqlite_only
def test_upload_without_a_file_is_422(client: Any) -> None:
    r = client.post("/api/v1/uploads", data={"conversation_id": "c"})
    assert r.status_code == 422
    assert "file" in r.json()["detail"]


def test_conversation_id_too_long_is_422_and_writes_nothing(client: Any, var_dir: Path) -> None:
    r = upload(client, image_bytes(), conversation_id="c" * 129)
    assert r.status_code == 422
    assert count(Photo) == 0 and stored_files(var_dir) == []


def test_conversation_id_is_optional(client: Any) -> None:
    r = upload(client, image_bytes())
    assert r.status_code == 201
    [photo] = rows(Photo)
    assert photo.conversation_id is None


def test_failed_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LocalStorage writes to a temp file and renames: a crash mid-write leaves nothing behind."""
    import os

    from api.storage import LocalStorage

    storage = LocalStorage(tmp_path / "uploads")

    def boom(*_args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        storage.put("photos/ab/abc.jpg", b"x" * 1000)
    assert [p for p in (tmp_path / "uploads").rglob("*") if p.is_file()] == []
    assert not storage.exists("photos/ab/abc.jpg")


def test_storage_keys_cannot_escape_the_root(tmp_path: Path) -> None:
    from api.storage import LocalStorage

    storage = LocalStorage(tmp_path / "uploads")
    with pytest.raises(ValueError):
        storage.put("../outside.jpg", b"x")
    assert not (tmp_path / "outside.jpg").exists()
