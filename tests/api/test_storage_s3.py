"""S3Storage against a real S3 HTTP endpoint on loopback (moto's server), directly and through the API."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from api.models import Photo
from api.storage import S3Storage, StorageError, get_storage
from tests.api.helpers import SERVICE, rows, sqlite_only, upload
from tests.support import demo_photo, free_port

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key-never-logged"
REGION = "us-east-1"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(s3_endpoint: str) -> Any:
    """An independent client, to look at the bucket behind S3Storage's back."""
    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"photos-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def storage(endpoint: str, bucket: str, prefix: str = "") -> S3Storage:
    return S3Storage(
        bucket,
        prefix=prefix,
        endpoint_url=endpoint,
        region=REGION,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        max_attempts=1,
    )


def object_keys(s3: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


# --- S3Storage ----------------------------------------------------------------------------------


def test_put_get_exists_round_trip(s3_endpoint: str, s3: Any, bucket: str) -> None:
    store = storage(s3_endpoint, bucket)
    data = bytes(range(256)) * 40
    assert not store.exists("photos/ab/abc.jpg")
    store.put("photos/ab/abc.jpg", data)
    assert store.exists("photos/ab/abc.jpg")
    assert store.get("photos/ab/abc.jpg") == data
    assert object_keys(s3, bucket) == ["photos/ab/abc.jpg"]
    store.put("photos/ab/abc.jpg", b"replaced")  # overwrite, as LocalStorage does
    assert store.get("photos/ab/abc.jpg") == b"replaced"


def test_prefix_is_applied_to_every_key(s3_endpoint: str, s3: Any, bucket: str) -> None:
    store = storage(s3_endpoint, bucket, prefix="/returns/prod/")
    store.put("heatmaps/ab/abc-v1.png", b"\x89PNG...")
    assert object_keys(s3, bucket) == ["returns/prod/heatmaps/ab/abc-v1.png"]
    body = s3.get_object(Bucket=bucket, Key="returns/prod/heatmaps/ab/abc-v1.png")["Body"].read()
    assert body == b"\x89PNG..."
    assert store.exists("heatmaps/ab/abc-v1.png") and store.get("heatmaps/ab/abc-v1.png") == body
    # the same key without the prefix is another object, and is absent
    assert not storage(s3_endpoint, bucket).exists("heatmaps/ab/abc-v1.png")


def test_missing_key_raises_file_not_found(s3_endpoint: str, bucket: str) -> None:
    store = storage(s3_endpoint, bucket)
    with pytest.raises(FileNotFoundError):
        store.get("photos/ab/nothing.jpg")
    assert store.exists("photos/ab/nothing.jpg") is False


@pytest.mark.parametrize(
    "key",
    [
        "../outside.jpg",
        "photos/../../outside.jpg",
        "/etc/passwd",
        "photos/./a.jpg",
        "photos//a.jpg",
        "photos\\..\\a.jpg",
        "",
    ],
)
def test_escaping_keys_are_refused(s3_endpoint: str, s3: Any, bucket: str, key: str) -> None:
    store = storage(s3_endpoint, bucket, prefix="returns")
    with pytest.raises(ValueError):
        store.put(key, b"x")
    with pytest.raises(ValueError):
        store.get(key)
    with pytest.raises(ValueError):
        store.exists(key)
    assert object_keys(s3, bucket) == []


def test_missing_bucket_gives_a_clear_error(s3_endpoint: str) -> None:
    store = storage(s3_endpoint, "no-such-bucket-" + uuid.uuid4().hex[:8])
    with pytest.raises(StorageError, match=r"bucket 'no-such-bucket-.*' does not exist.*S3_BUCKET"):
        store.put("photos/ab/abc.jpg", b"x")
    with pytest.raises(StorageError, match="does not exist"):
        store.get("photos/ab/abc.jpg")
    assert store.check() == f"bucket {store.bucket!r} does not exist"


def test_check_passes_for_an_existing_bucket_and_names_an_unreachable_endpoint(
    s3_endpoint: str, bucket: str
) -> None:
    assert storage(s3_endpoint, bucket).check() is None
    dead = storage(f"http://127.0.0.1:{free_port()}", bucket)
    assert (dead.check() or "").startswith("S3 endpoint unreachable")


def test_repr_and_logs_never_show_the_secret(
    s3_endpoint: str, bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="api.storage")
    store = storage(s3_endpoint, bucket)
    store.put("photos/ab/abc.jpg", b"x")
    assert SECRET_KEY not in repr(store)
    assert "api.storage" in {r.name for r in caplog.records}
    assert SECRET_KEY not in caplog.text


# --- settings and get_storage() ------------------------------------------------------------------


def s3_env(monkeypatch: pytest.MonkeyPatch, endpoint: str, bucket: str, prefix: str = "") -> None:
    from api.settings import get_settings

    monkeypatch.setenv("STORAGE_BACKEND", "s3")
    monkeypatch.setenv("S3_BUCKET", bucket)
    monkeypatch.setenv("S3_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("S3_REGION", REGION)
    monkeypatch.setenv("S3_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("S3_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("S3_PREFIX", prefix)
    get_settings.cache_clear()


def test_settings_refuse_an_unknown_backend_and_s3_without_a_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from api.settings import Settings

    monkeypatch.setenv("STORAGE_BACKEND", "gcs")
    with pytest.raises(ValidationError, match="STORAGE_BACKEND must be 'local' or 's3'"):
        Settings()
    monkeypatch.setenv("STORAGE_BACKEND", "s3")
    monkeypatch.setenv("S3_BUCKET", "")
    with pytest.raises(ValidationError, match="STORAGE_BACKEND=s3 needs S3_BUCKET"):
        Settings()
    monkeypatch.setenv("S3_SECRET_ACCESS_KEY", SECRET_KEY)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert SECRET_KEY not in str(refused.value)  # the error never quotes the other settings
    monkeypatch.setenv("STORAGE_BACKEND", " S3 ")
    monkeypatch.setenv("S3_BUCKET", "photos")
    settings = Settings()
    assert settings.storage_backend == "s3" and settings.s3_bucket == "photos"
    assert SECRET_KEY not in repr(settings)


def test_half_a_key_pair_is_refused() -> None:
    with pytest.raises(StorageError, match="S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY"):
        S3Storage("photos", access_key_id="AKIA-only-half")
    with pytest.raises(StorageError, match="S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY"):
        S3Storage("photos", secret_access_key=SECRET_KEY)


def test_get_storage_follows_the_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, s3_endpoint: str, bucket: str
) -> None:
    from api.settings import get_settings
    from api.storage import LocalStorage

    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.setenv("STORAGE_BACKEND", "local")
    get_settings.cache_clear()
    try:
        local = get_storage()
        assert isinstance(local, LocalStorage) and get_storage() is local
        s3_env(monkeypatch, s3_endpoint, bucket, prefix="p")
        first = get_storage()
        assert isinstance(first, S3Storage) and (first.bucket, first.prefix) == (bucket, "p")
        assert get_storage() is first and first.client is first.client  # one client per process
        get_settings.cache_clear()
        assert get_storage() is not first  # fresh settings: fresh storage and client
    finally:
        get_settings.cache_clear()


# --- through the API ------------------------------------------------------------------------------


@pytest.fixture
def s3_api(database: str, monkeypatch: pytest.MonkeyPatch, s3_endpoint: str, bucket: str) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from api.main import create_app

    s3_env(monkeypatch, s3_endpoint, bucket, prefix="returns")
    with TestClient(create_app()) as test_client:
        yield test_client


@sqlite_only
def test_upload_lands_in_the_bucket_and_is_served_from_it(
    s3_api: Any, s3: Any, bucket: str, var_dir: Path
) -> None:
    r = upload(s3_api, demo_photo().read_bytes(), conversation_id="conv-s3")
    assert r.status_code == 201, r.text
    body = r.json()
    photo = rows(Photo, Photo.id == body["photo_id"])[0]
    key = f"returns/{photo.storage_key}"
    assert object_keys(s3, bucket) == [key]
    stored = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == body["sha256"] == photo.sha256

    r = s3_api.get(f"/api/v1/photos/{photo.id}", headers=SERVICE)
    assert r.status_code == 200 and r.headers["content-type"] == body["content_type"]
    assert r.content == stored

    # the same photo again: content-addressed, so no second object
    assert upload(s3_api, demo_photo().read_bytes()).status_code == 201
    assert object_keys(s3, bucket) == [key]
    uploads = var_dir / "uploads"
    assert not uploads.exists() or [p for p in uploads.rglob("*") if p.is_file()] == []


@sqlite_only
def test_heatmap_lands_in_the_bucket(s3_api: Any, s3: Any, bucket: str) -> None:
    import base64

    from tests.api.helpers import image_bytes

    photo_id = upload(s3_api, image_bytes()).json()["photo_id"]
    png = image_bytes("PNG", size=(16, 16), color=(255, 0, 0))
    r = s3_api.post(
        f"/api/v1/photos/{photo_id}/assessment",
        headers=SERVICE,
        json={
            "damage_probability": 0.9,
            "severity": "severe",
            "damage_type": "crushed",
            "confidence": 0.9,
            "unusable_probability": 0.01,
            "quality": {"ok": True, "issues": [], "message": ""},
            "model_version": "damage-test-1",
            "latency_ms": 1.0,
            "heatmap_png_b64": base64.b64encode(png).decode(),
        },
    )
    assert r.status_code == 201 and r.json()["heatmap"] is True
    keys = object_keys(s3, bucket)
    assert len(keys) == 2 and any(k.startswith("returns/heatmaps/") for k in keys)
    r = s3_api.get(f"/api/v1/photos/{photo_id}/heatmap.png", headers=SERVICE)
    assert r.status_code == 200 and r.content == png


@sqlite_only
def test_healthz_checks_the_bucket(
    s3_api: Any, s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch, s3_endpoint: str
) -> None:
    r = s3_api.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "database": "ok", "storage": "ok"}
    s3_env(monkeypatch, s3_endpoint, "gone-" + uuid.uuid4().hex[:8])
    r = s3_api.get("/healthz")
    assert r.status_code == 503
    assert r.json()["status"] == "error" and "does not exist" in r.json()["storage"]
