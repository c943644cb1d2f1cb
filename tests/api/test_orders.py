"""POST /api/v1/orders/lookup: ownership proof, one 404 for every wrong guess, throttling."""

from __future__ import annotations

from typing import Any

import pytest

from api.models import LookupFailure
from tests.api.helpers import DEMO, count, sqlite_only

URL = "/api/v1/orders/lookup"
NOT_FOUND = {"detail": "We could not find an order with those details."}


@pytest.mark.parametrize("order", sorted(DEMO))
def test_lookup_by_email_returns_the_order(client: Any, order: str) -> None:
    r = client.post(URL, json={"order_number": order, "email": DEMO[order][0]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["order_number"] == order
    assert body["shipping_address"]["postcode"] == DEMO[order][1]
    assert body["items"]
    for item in body["items"]:
        assert {
            "id",
            "name",
            "sku",
            "category",
            "price",
            "quantity",
            "returnable_quantity",
            "final_sale",
            "fragile",
            "variants",
        } <= set(item)
        assert isinstance(item["price"], str)  # money as a decimal string, never a float
        assert item["returnable_quantity"] == item["quantity"] == 1


def test_demo_orders_match_the_design(client: Any) -> None:
    def get(order: str) -> dict[str, Any]:
        return client.post(URL, json={"order_number": order, "email": DEMO[order][0]}).json()

    shoes, shirt = get("100231")["items"]
    assert (shoes["name"], shoes["category"], shoes["price"]) == ("Running shoes", "footwear", "120.00")
    assert (shirt["category"], shirt["price"]) == ("apparel", "25.00")
    assert {v["name"]: v["in_stock"] for v in shoes["variants"]} == {
        "EU 41": True,
        "EU 42": True,
        "EU 43": False,
    }
    [vase] = get("100232")["items"]
    assert vase["fragile"] is True and vase["price"] == "60.00"
    [swimsuit] = get("100235")["items"]
    assert swimsuit["final_sale"] is True
    lamp_order = get("100236")
    assert lamp_order["status"] == "shipped" and lamp_order["delivered_at"] is None
    assert get("100234")["items"][0]["price"] == "349.00"


@sqlite_only
@pytest.mark.parametrize(
    "proof",
    [
        {"postcode": "10001"},
        {"postcode": " 10001 "},
        {"email": "JANE@example.com"},
        {"email": " jane@example.com "},
    ],
)
def test_lookup_proof_is_normalised(client: Any, proof: dict[str, str]) -> None:
    r = client.post(URL, json={"order_number": "100231", **proof})
    assert r.status_code == 200
    assert r.json()["order_number"] == "100231"


@sqlite_only
@pytest.mark.parametrize("number", ["#100231", "ORD-100231", "order no. 100231", " 100231 "])
def test_order_number_forms_seen_in_the_wild(client: Any, number: str) -> None:
    r = client.post(URL, json={"order_number": number, "email": "jane@example.com"})
    assert r.status_code == 200
    assert r.json()["order_number"] == "100231"


def test_wrong_number_and_wrong_proof_answer_the_same_404(client: Any) -> None:
    answers = [
        client.post(URL, json={"order_number": "999999", "email": "jane@example.com"}),
        client.post(URL, json={"order_number": "100231", "email": "raj@example.com"}),
        client.post(URL, json={"order_number": "100231", "postcode": "94107"}),
        client.post(URL, json={"order_number": "999999", "postcode": "10001"}),
    ]
    assert [r.status_code for r in answers] == [404] * 4
    assert all(r.json() == NOT_FOUND for r in answers)
    assert len({r.content for r in answers}) == 1  # byte for byte: nothing tells which part was wrong
    assert all("100231" not in r.text and "Jane" not in r.text for r in answers)


def test_shopper_data_only_after_proof(client: Any) -> None:
    r = client.post(URL, json={"order_number": "100231"})
    assert r.status_code == 422
    assert "email" in r.json()["detail"] and "postcode" in r.json()["detail"]
    assert "Jane" not in r.text and "350 5th Ave" not in r.text
    r = client.post(URL, json={"order_number": "100231", "email": "", "postcode": ""})
    assert r.status_code == 422
    ok = client.post(URL, json={"order_number": "100231", "email": "jane@example.com"})
    assert ok.json()["shipping_address"]["name"] == "Jane Doe"


@sqlite_only
@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "jane@example.com"},
        {"order_number": "", "email": "jane@example.com"},
        {"order_number": "1" * 41, "email": "jane@example.com"},
        {"order_number": "100231", "email": "jane@example.com", "extra": 1},
    ],
)
def test_malformed_lookup_is_422(client: Any, body: dict[str, Any]) -> None:
    r = client.post(URL, json=body)
    assert r.status_code == 422
    assert isinstance(r.json()["detail"], str)


def test_repeated_failures_get_429_with_retry_after(client: Any) -> None:
    from api.settings import get_settings

    limit = get_settings().lookup_max_failures
    for _ in range(limit):
        r = client.post(URL, json={"order_number": "100231", "email": "guess@example.com"})
        assert r.status_code == 404
    assert count(LookupFailure) == limit  # the failures are recorded although the request failed

    r = client.post(URL, json={"order_number": "100231", "email": "guess@example.com"})
    assert r.status_code == 429
    wait = int(r.headers["Retry-After"])
    assert 0 < wait <= get_settings().lookup_window_seconds + 1
    assert "wait" in r.json()["detail"].lower()
    # while throttled, even the right proof is refused (no oracle for the guesser)
    r = client.post(URL, json={"order_number": "100231", "email": "jane@example.com"})
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_successes_do_not_count_towards_the_limit(client: Any) -> None:
    from api.settings import get_settings

    for _ in range(get_settings().lookup_max_failures + 2):
        assert client.post(URL, json={"order_number": "100231", "postcode": "10001"}).status_code == 200
    assert count(LookupFailure) == 0


def test_throttle_is_per_client(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.settings import get_settings

    monkeypatch.setenv("ENVIRONMENT", "production")  # behind the proxy: X-Forwarded-For names the client
    get_settings.cache_clear()
    guesser = {"X-Forwarded-For": "203.0.113.7, 10.0.0.1"}
    for _ in range(get_settings().lookup_max_failures):
        client.post(URL, json={"order_number": "100231", "email": "x@example.com"}, headers=guesser)
    assert (
        client.post(
            URL, json={"order_number": "100231", "email": "jane@example.com"}, headers=guesser
        ).status_code
        == 429
    )
    other = {"X-Forwarded-For": "198.51.100.2"}
    assert (
        client.post(
            URL, json={"order_number": "100231", "email": "jane@example.com"}, headers=other
        ).status_code
        == 200
    )


def test_failures_expire_after_the_window(client: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from api.db import session_scope
    from api.settings import get_settings

    settings = get_settings()
    for _ in range(settings.lookup_max_failures):
        client.post(URL, json={"order_number": "1", "email": "x@example.com"})
    assert client.post(URL, json={"order_number": "100231", "postcode": "10001"}).status_code == 429
    with session_scope() as session:
        session.execute(
            update(LookupFailure).values(
                created_at=datetime.now(UTC) - timedelta(seconds=settings.lookup_window_seconds + 5)
            )
        )
    assert client.post(URL, json={"order_number": "100231", "postcode": "10001"}).status_code == 200


def test_the_action_server_is_throttled_per_conversation_not_as_one_client(
    client: Any, service_headers: dict[str, str]
) -> None:
    guesser = {**service_headers, "X-Conversation-Id": "conv-guesser"}
    for _ in range(8):
        client.post(
            "/api/v1/orders/lookup",
            json={"order_number": "100232", "email": "x@example.com"},
            headers=guesser,
        )
    blocked = client.post(
        "/api/v1/orders/lookup", json={"order_number": "100232", "email": "raj@example.com"}, headers=guesser
    )
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    other = {**service_headers, "X-Conversation-Id": "conv-honest-shopper"}
    ok = client.post(
        "/api/v1/orders/lookup", json={"order_number": "100232", "email": "raj@example.com"}, headers=other
    )
    assert ok.status_code == 200
