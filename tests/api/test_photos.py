"""Photo retrieval (service / merchant), damage assessments and heatmaps."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from api.models import DamageAssessment, Photo
from tests.api.helpers import (
    SERVICE,
    WRONG_SERVICE,
    assess,
    assessed_photo,
    count,
    create_return,
    image_bytes,
    other_merchant_headers,
    rows,
    sqlite_only,
    upload_photo,
)

ASSESSMENT = {
    "damage_probability": 0.91,
    "severity": "severe",
    "damage_type": "crushed",
    "confidence": 0.88,
    "unusable_probability": 0.02,
    "quality": {"ok": True, "issues": [], "message": ""},
    "model_version": "damage-convnext-2026.11.26",
    "latency_ms": 31.2,
}


def png_b64() -> str:
    return base64.b64encode(image_bytes("PNG", size=(32, 32), color=(255, 0, 0))).decode()


# --- GET /api/v1/photos/{id} ------------------------------------------------------------------


def test_service_gets_the_cleaned_bytes(client: Any) -> None:
    photo_id = upload_photo(client)
    r = client.get(f"/api/v1/photos/{photo_id}", headers=SERVICE)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/jpeg"
    assert hashlib.sha256(r.content).hexdigest() == rows(Photo, Photo.id == photo_id)[0].sha256
    assert "private" in r.headers["cache-control"]


def test_photo_needs_authentication(client: Any) -> None:
    photo_id = upload_photo(client)
    r = client.get(f"/api/v1/photos/{photo_id}")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert client.get(f"/api/v1/photos/{photo_id}", headers=WRONG_SERVICE).status_code == 401


def test_unknown_photo_is_404(client: Any, merchant_headers: Any) -> None:
    assert client.get("/api/v1/photos/ph_nope", headers=SERVICE).status_code == 404
    r = client.get("/api/v1/photos/ph_nope", headers=merchant_headers)
    assert r.status_code == 404 and r.json() == {"detail": "No such photo."}


def test_merchant_sees_photos_of_its_returns_only(client: Any, merchant_headers: Any) -> None:
    loose = upload_photo(client, (9, 9, 9))
    attached = assessed_photo(client, damage=0.95)
    create_return(client, "100232", "damaged_on_arrival", photo_ids=[attached])
    assert client.get(f"/api/v1/photos/{attached}", headers=merchant_headers).status_code == 200
    # a photo not (yet) in any return is not the merchant's: the same 404 as an unknown id
    r = client.get(f"/api/v1/photos/{loose}", headers=merchant_headers)
    assert r.status_code == 404 and r.json() == {"detail": "No such photo."}
    # another merchant sees nothing of Acme's
    other = other_merchant_headers(client)
    assert client.get(f"/api/v1/photos/{attached}", headers=other).status_code == 404


def test_merchant_dashboard_cookie_works_for_photos(client: Any, merchant_token: str) -> None:
    attached = assessed_photo(client, damage=0.95)
    create_return(client, "100232", "damaged_on_arrival", photo_ids=[attached])
    client.cookies.set("access_token", merchant_token)
    try:
        assert client.get(f"/api/v1/photos/{attached}").status_code == 200
    finally:
        client.cookies.clear()


# --- POST /api/v1/photos/{id}/assessment ------------------------------------------------------


def test_store_assessment(client: Any) -> None:
    photo_id = upload_photo(client)
    r = client.post(f"/api/v1/photos/{photo_id}/assessment", json=ASSESSMENT, headers=SERVICE)
    assert r.status_code == 201, r.text
    assert r.json()["photo_id"] == photo_id and r.json()["heatmap"] is False
    [stored] = rows(DamageAssessment)
    assert stored.photo_id == photo_id and stored.model_version == ASSESSMENT["model_version"]
    assert stored.damage_probability == pytest.approx(0.91) and stored.severity == "severe"
    assert stored.quality_ok is True and stored.quality_issues == []


def test_assessment_with_heatmap(client: Any, var_dir: Any) -> None:
    photo_id = upload_photo(client)
    r = client.post(
        f"/api/v1/photos/{photo_id}/assessment",
        json={**ASSESSMENT, "heatmap_png_b64": png_b64()},
        headers=SERVICE,
    )
    assert r.status_code == 201 and r.json()["heatmap"] is True
    [stored] = rows(DamageAssessment)
    assert (var_dir / "uploads" / stored.heatmap_key).read_bytes().startswith(b"\x89PNG")
    r = client.get(f"/api/v1/photos/{photo_id}/heatmap.png", headers=SERVICE)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content == base64.b64decode(png_b64())


def test_heatmap_missing_is_404(client: Any) -> None:
    photo_id = upload_photo(client)
    r = client.get(f"/api/v1/photos/{photo_id}/heatmap.png", headers=SERVICE)
    assert r.status_code == 404 and "heatmap" in r.json()["detail"]
    assess(client, photo_id, damage=0.2, severity="none")
    assert client.get(f"/api/v1/photos/{photo_id}/heatmap.png", headers=SERVICE).status_code == 404
    assert client.get(f"/api/v1/photos/{photo_id}/heatmap.png").status_code == 401


def test_latest_assessment_counts(client: Any) -> None:
    photo_id = upload_photo(client)
    assess(client, photo_id, damage=0.1, severity="none")
    assess(client, photo_id, damage=0.9, severity="severe", model_version="damage-test-2")
    assert count(DamageAssessment) == 2
    from api.db import session_scope

    with session_scope() as session:
        photo = session.get(Photo, photo_id)
        assert photo is not None and photo.assessment.model_version == "damage-test-2"


def test_assessment_needs_the_service_token(client: Any, merchant_headers: Any) -> None:
    photo_id = upload_photo(client)
    url = f"/api/v1/photos/{photo_id}/assessment"
    assert client.post(url, json=ASSESSMENT).status_code == 401
    assert client.post(url, json=ASSESSMENT, headers=WRONG_SERVICE).status_code == 403
    assert client.post(url, json=ASSESSMENT, headers=merchant_headers).status_code == 403
    assert count(DamageAssessment) == 0


def test_assessment_of_unknown_photo_is_404(client: Any) -> None:
    r = client.post("/api/v1/photos/ph_missing/assessment", json=ASSESSMENT, headers=SERVICE)
    assert r.status_code == 404 and r.json() == {"detail": "No such photo."}


@sqlite_only
@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"damage_probability": 1.5}, "damage_probability"),
        ({"severity": "catastrophic"}, "severity"),
        ({"confidence": -0.1}, "confidence"),
        ({"model_version": None}, "model_version"),
        ({"heatmap_png_b64": "%%% not base64 %%%"}, "base64"),
        ({"heatmap_png_b64": base64.b64encode(b"GIF89a....").decode()}, "not a PNG"),
    ],
)
def test_invalid_assessment_is_422_and_writes_nothing(
    client: Any, var_dir: Any, change: dict[str, Any], fragment: str
) -> None:
    photo_id = upload_photo(client)
    r = client.post(f"/api/v1/photos/{photo_id}/assessment", json={**ASSESSMENT, **change}, headers=SERVICE)
    assert r.status_code == 422
    assert fragment in r.json()["detail"]
    assert count(DamageAssessment) == 0
    assert not (var_dir / "uploads" / "heatmaps").exists()
