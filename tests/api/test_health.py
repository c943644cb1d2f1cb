"""GET /healthz, GET /api/v1/policy, the OpenAPI docs, the error format, the live server."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import sqlite_only

REASON_CODES = {
    "damaged_on_arrival",
    "defective",
    "wrong_item",
    "doesnt_fit",
    "not_as_described",
    "changed_mind",
    "arrived_late",
    "other",
}


def test_healthz_when_the_database_answers(client: Any) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "database": "ok"}


@sqlite_only
def test_healthz_is_503_when_the_database_does_not_answer(
    client: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import api.routers.health as health
    from api.db import make_engine

    dead = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    monkeypatch.setattr(health, "get_engine", lambda: dead)
    r = client.get("/healthz")
    assert r.status_code == 503 and r.json()["database"] == "unreachable"


def test_policy_is_public(client: Any) -> None:
    r = client.get("/api/v1/policy")
    assert r.status_code == 200
    body = r.json()
    assert body["version"] and body["summary"]
    assert {reason["code"] for reason in body["reasons"]} == REASON_CODES
    assert body["windows"]["default"] == 30 and body["windows"]["electronics"] == 14


@sqlite_only
def test_openapi_documents_the_contract_endpoints(client: Any) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/healthz",
        "/api/v1/orders/lookup",
        "/api/v1/uploads",
        "/api/v1/auth/token",
        "/api/v1/returns",
        "/api/v1/returns/quote",
        "/api/v1/returns/lookup",
        "/api/v1/returns/{rma}/cancel",
        "/api/v1/returns/{rma}/reschedule",
        "/api/v1/returns/{rma}/label.pdf",
        "/api/v1/pickups/slots",
        "/api/v1/handoffs",
        "/api/v1/photos/{photo_id}",
        "/api/v1/photos/{photo_id}/assessment",
        "/api/v1/policy",
    ):
        assert path in paths, path


@sqlite_only
def test_unknown_route_is_404_with_detail(client: Any) -> None:
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and set(r.json()) == {"detail"}


@sqlite_only
def test_validation_errors_are_one_sentence_plus_fields(client: Any) -> None:
    r = client.post(
        "/api/v1/orders/lookup", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422
    assert isinstance(r.json()["detail"], str) and isinstance(r.json()["errors"], list)


def test_contract_over_real_http(live_api: str) -> None:
    """The contract endpoints through uvicorn, as the action server and the widget call them."""
    import httpx

    from tests.api.helpers import image_bytes

    with httpx.Client(base_url=live_api, timeout=10) as http:
        assert http.get("/healthz").json()["status"] == "ok"
        r = http.post("/api/v1/orders/lookup", json={"order_number": "100231", "email": "jane@example.com"})
        assert r.status_code == 200 and r.json()["order_number"] == "100231"
        r = http.post(
            "/api/v1/uploads",
            files={"file": ("p.jpg", image_bytes(), "image/jpeg")},
            data={"conversation_id": "live"},
        )
        assert r.status_code == 201 and r.json()["photo_id"].startswith("ph_")
        heic = b"\x00\x00\x00\x18ftypheic"
        r = http.post("/api/v1/uploads", files={"file": ("p.heic", heic, "image/heic")})
        assert r.status_code == 415 and "JPEG" in r.json()["detail"]
