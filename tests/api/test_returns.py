"""Returns: create (idempotent), look up behind proof, history, cancel, the merchant's list."""

from __future__ import annotations

from typing import Any

import pytest

from api.models import (
    AuditLog,
    Decision,
    IdempotencyRecord,
    OutboxMessage,
    Photo,
    Pickup,
    ReturnItem,
    ReturnRequest,
)
from tests.api.helpers import (
    SERVICE,
    WRONG_SERVICE,
    assessed_photo,
    carrier_event,
    count,
    create_return,
    draft,
    email,
    first_slot,
    other_merchant_headers,
    postcode,
    rows,
    sqlite_only,
)

URL = "/api/v1/returns"
RETURN_NOT_FOUND = {"detail": "We could not find a return with those details."}
TABLES = (ReturnRequest, ReturnItem, Decision, Pickup, AuditLog, OutboxMessage, IdempotencyRecord)


def snapshot() -> list[int]:
    return [count(m) for m in TABLES]


def full_draft(
    client: Any, order: str = "100231", reason: str = "doesnt_fit", **extra: Any
) -> dict[str, Any]:
    body = draft(client, order, reason, **extra)
    body.setdefault("pickup", first_slot(client, order))
    body.setdefault("address_confirmed", True)
    return body


def post(client: Any, body: dict[str, Any], key: str = "idem-key-0001", headers: Any = None) -> Any:
    return client.post(
        URL, json=body, headers={**(SERVICE if headers is None else headers), "Idempotency-Key": key}
    )


# --- create -------------------------------------------------------------------------------------


def test_create_approved_return_books_the_pickup(client: Any) -> None:
    body = full_draft(client)
    r = post(client, body)
    assert r.status_code == 201, r.text
    ret = r.json()
    assert ret["rma"].startswith("RMA-") and ret["order_number"] == "100231"
    assert ret["status"] == "pickup_scheduled"
    assert ret["refund_amount"] == "114.05" and ret["resolution"] == "refund"
    assert ret["decision"]["outcome"] == "approve" and ret["decision"]["reasons"]
    pickup = ret["pickup"]
    assert (pickup["date"], pickup["window"]) == (body["pickup"]["date"], body["pickup"]["window"])
    assert pickup["reference"].startswith("LC") and pickup["carrier"]
    assert pickup["address"]["postcode"] == "10001"
    assert ret["label_url"].endswith(
        f"/api/v1/returns/{ret['rma']}/label.pdf?token=" + rows(ReturnRequest)[0].label_token
    )

    [stored] = rows(ReturnRequest)
    assert stored.rma == ret["rma"] and stored.channel == "socketio"
    assert stored.conversation_id == "conv-test"
    assert count(ReturnItem) == 1 and count(Decision) == 1 and count(Pickup) == 1
    actions = [a.action for a in rows(AuditLog, AuditLog.entity_id == ret["rma"])]
    assert actions == ["created", "status:pickup_scheduled"]
    events = sorted(m.event for m in rows(OutboxMessage))
    assert events == ["pickup_scheduled", "return_approved"]
    assert all(m.to_address == "jane@example.com" and ret["rma"] in m.subject for m in rows(OutboxMessage))


def test_create_is_idempotent(client: Any) -> None:
    body = full_draft(client)
    first = post(client, body, key="retry-key-123")
    counts = snapshot()
    second = post(client, body, key="retry-key-123")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert snapshot() == counts  # no second return, pickup, email or audit line
    assert count(ReturnRequest) == 1


def test_idempotency_key_reused_for_another_request_is_409(client: Any) -> None:
    post(client, full_draft(client), key="reused-key-1")
    counts = snapshot()
    other = full_draft(client, item=1)  # the t-shirt this time
    r = post(client, other, key="reused-key-1")
    assert r.status_code == 409
    assert "Idempotency-Key" in r.json()["detail"]
    assert snapshot() == counts


def test_new_key_for_the_same_item_is_refused_as_already_returned(client: Any) -> None:
    post(client, full_draft(client), key="first-key-01")
    r = post(client, full_draft(client, pickup=first_slot(client, "100231", 1)), key="second-key-2")
    assert r.status_code == 422
    assert r.json()["decision"]["outcome"] == "reject"
    assert count(ReturnRequest) == 1


@sqlite_only
def test_create_needs_the_idempotency_key(client: Any) -> None:
    r = client.post(URL, json=full_draft(client), headers=SERVICE)
    assert r.status_code == 422
    assert "Idempotency-Key" in r.json()["detail"]
    r = post(client, full_draft(client), key="short")
    assert r.status_code == 422
    assert count(ReturnRequest) == 0


def test_create_needs_the_service_token(client: Any) -> None:
    body = full_draft(client)
    assert post(client, body, headers={}).status_code == 401
    assert post(client, body, headers=WRONG_SERVICE).status_code == 403
    assert count(ReturnRequest) == 0


def test_create_wrong_proof_is_404(client: Any) -> None:
    body = full_draft(client)
    body["postcode"], body["email"] = "94107", None
    r = post(client, body)
    assert r.status_code == 404
    assert r.json() == {"detail": "We could not find an order with those details."}


@pytest.mark.parametrize(
    "order, reason, outcome",
    [
        ("100233", "changed_mind", "reject"),
        ("100235", "changed_mind", "reject"),
        ("100236", "changed_mind", "reject"),
        ("100232", "damaged_on_arrival", "need_photos"),
    ],
)
def test_create_refused_by_the_policy_is_422_with_the_decision(
    client: Any, order: str, reason: str, outcome: str
) -> None:
    r = post(client, full_draft(client, order, reason))
    assert r.status_code == 422
    assert r.json()["decision"]["outcome"] == outcome
    assert r.json()["detail"] == r.json()["decision"]["shopper_summary"]
    assert snapshot() == [0] * len(TABLES)  # nothing half-written


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"pickup": None}, "pickup date"),
        ({"address_confirmed": False}, "address"),
    ],
)
def test_create_without_pickup_or_address_is_422(client: Any, change: dict[str, Any], fragment: str) -> None:
    body = full_draft(client)
    body.update(change)
    r = post(client, body)
    assert r.status_code == 422 and fragment in r.json()["detail"]
    assert snapshot() == [0] * len(TABLES)


def test_resolution_not_allowed_is_422(client: Any) -> None:
    r = post(client, full_draft(client, "100231", "arrived_late", resolution="exchange"))
    assert r.status_code == 422
    assert "exchange is not available" in r.json()["detail"]


def test_create_damaged_vase_attaches_the_photo(client: Any) -> None:
    photo = assessed_photo(client, damage=0.95)
    ret = create_return(client, "100232", "damaged_on_arrival", photo_ids=[photo])
    assert ret["status"] == "pickup_scheduled" and ret["refund_amount"] == "60.00"
    assert ret["items"][0]["photo_ids"] == [photo]
    [stored_photo] = rows(Photo, Photo.id == photo)
    assert stored_photo.return_item_id is not None and stored_photo.merchant_id is not None


def test_photo_already_in_a_return_is_409(client: Any) -> None:
    photo = assessed_photo(client, damage=0.95)
    create_return(client, "100232", "damaged_on_arrival", photo_ids=[photo])
    body = full_draft(client, "100231", "doesnt_fit", photo_ids=[photo])
    r = post(client, body, key="other-key-99")
    assert r.status_code == 409 and "already belongs" in r.json()["detail"]
    assert count(ReturnRequest) == 1


def test_high_value_return_waits_for_review_with_pickup_on_hold(client: Any) -> None:
    photos = [assessed_photo(client, 0.05, (10, 200, 10)), assessed_photo(client, 0.05, (10, 10, 200))]
    ret = create_return(client, "100234", "changed_mind", photo_ids=photos)
    assert ret["status"] == "under_review" and ret["review_hours"] == 48
    assert ret["decision"]["outcome"] == "review"
    assert ret["pickup"]["status"] == "on_hold"
    assert [m.event for m in rows(OutboxMessage)] == ["return_under_review"]


def test_keep_item_return_needs_no_pickup(client: Any) -> None:
    body = draft(client, "100237", "changed_mind")
    r = post(client, body)
    assert r.status_code == 201, r.text
    ret = r.json()
    assert ret["status"] == "approved" and ret["keep_item"] is True
    assert ret["pickup"] is None and ret["label_url"] is None
    assert ret["refund_amount"] == "15.00"
    assert count(Pickup) == 0


def test_store_credit_and_exchange_resolutions_are_recorded(client: Any) -> None:
    ret = create_return(client, "100231", "doesnt_fit", resolution="store_credit")
    assert ret["resolution"] == "store_credit"
    assert rows(ReturnItem)[0].resolution == "store_credit"


# --- shopper lookup and history -------------------------------------------------------------------


def test_lookup_by_rma_and_by_order_behind_proof(client: Any) -> None:
    ret = create_return(client)
    by_rma = client.post(f"{URL}/lookup", json={"rma": ret["rma"].lower(), "email": email("100231")})
    assert by_rma.status_code == 200 and [r["rma"] for r in by_rma.json()] == [ret["rma"]]
    by_order = client.post(f"{URL}/lookup", json={"order_number": "#100231", "postcode": postcode("100231")})
    assert by_order.status_code == 200 and by_order.json() == by_rma.json()
    found = by_rma.json()[0]
    assert found["status"] == "pickup_scheduled" and found["pickup"]["reference"]
    assert found["refund_amount"] == "114.05"


def test_lookup_wrong_rma_and_wrong_proof_are_the_same_404(client: Any) -> None:
    ret = create_return(client)
    wrong_proof = client.post(f"{URL}/lookup", json={"rma": ret["rma"], "email": "raj@example.com"})
    wrong_rma = client.post(f"{URL}/lookup", json={"rma": "RMA-00000000", "email": email("100231")})
    assert wrong_proof.status_code == wrong_rma.status_code == 404
    assert wrong_proof.json() == wrong_rma.json() == RETURN_NOT_FOUND
    other_order = client.post(f"{URL}/lookup", json={"order_number": "100231", "email": "raj@example.com"})
    assert other_order.status_code == 404 and ret["rma"] not in other_order.text


def test_lookup_of_an_order_without_returns_is_an_empty_list(client: Any) -> None:
    r = client.post(f"{URL}/lookup", json={"order_number": "100232", "email": email("100232")})
    assert r.status_code == 200 and r.json() == []


def test_return_lookup_is_throttled_like_the_order_lookup(client: Any) -> None:
    from api.settings import get_settings

    create_return(client)
    for _ in range(get_settings().lookup_max_failures):
        r = client.post(f"{URL}/lookup", json={"order_number": "100231", "postcode": "99999"})
        assert r.status_code == 404
    r = client.post(f"{URL}/lookup", json={"order_number": "100231", "postcode": postcode("100231")})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert "RMA-" not in r.text
    # one budget per client for every proof check: the order lookup is closed too
    r = client.post("/api/v1/orders/lookup", json={"order_number": "100231", "email": email("100231")})
    assert r.status_code == 429


@sqlite_only
@pytest.mark.parametrize("body", [{"email": "jane@example.com"}, {"rma": "RMA-1"}, {}])
def test_lookup_without_proof_or_reference_is_422(client: Any, body: dict[str, Any]) -> None:
    assert client.post(f"{URL}/lookup", json=body).status_code == 422


def test_history_lists_every_state_change(client: Any) -> None:
    ret = create_return(client)
    client.post(f"{URL}/{ret['rma']}/cancel", json={"email": email("100231")})
    r = client.post(f"{URL}/{ret['rma']}/history", json={"postcode": postcode("100231")})
    assert r.status_code == 200
    assert [h["action"] for h in r.json()] == ["created", "status:pickup_scheduled", "status:cancelled"]
    assert [h["status"] for h in r.json()] == [None, "pickup_scheduled", "cancelled"]
    assert all(h["at"] for h in r.json())


def test_history_behind_proof(client: Any) -> None:
    ret = create_return(client)
    r = client.post(f"{URL}/{ret['rma']}/history", json={"email": "raj@example.com"})
    assert r.status_code == 404 and r.json() == RETURN_NOT_FOUND
    assert client.post(f"{URL}/RMA-NOPE/history", json={"email": email("100231")}).json() == RETURN_NOT_FOUND
    assert client.post(f"{URL}/{ret['rma']}/history", json={}).status_code == 422


# --- cancel ---------------------------------------------------------------------------------------


def test_cancel_with_proof(client: Any) -> None:
    ret = create_return(client)
    r = client.post(f"{URL}/{ret['rma']}/cancel", json={"email": email("100231")})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled" and r.json()["pickup"] is None
    assert [p.status for p in rows(Pickup)] == ["cancelled"]
    assert "return_cancelled" in [m.event for m in rows(OutboxMessage)]
    # the item can be returned again once the first return is cancelled
    lookup = client.post("/api/v1/orders/lookup", json={"order_number": "100231", "email": email("100231")})
    assert lookup.json()["items"][0]["returnable_quantity"] == 1


def test_cancel_frees_the_pickup_slot(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.carrier.local import LocalCourier

    monkeypatch.setattr(LocalCourier, "capacity_per_window", 1)
    slot = first_slot(client, "100231")
    ret = create_return(client, pickup=slot)
    assert first_slot(client, "100231") != slot
    client.post(f"{URL}/{ret['rma']}/cancel", json={"email": email("100231")})
    assert first_slot(client, "100231") == slot


def test_cancel_with_service_token_and_proof(client: Any) -> None:
    ret = create_return(client)
    r = client.post(f"{URL}/{ret['rma']}/cancel", json={"postcode": postcode("100231")}, headers=SERVICE)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"


def test_cancel_wrong_proof_is_404_and_changes_nothing(client: Any) -> None:
    ret = create_return(client)
    r = client.post(f"{URL}/{ret['rma']}/cancel", json={"email": "raj@example.com"})
    assert r.status_code == 404 and r.json() == RETURN_NOT_FOUND
    unknown = client.post(f"{URL}/RMA-FFFFFFFF/cancel", json={"email": email("100231")})
    assert unknown.status_code == 404 and unknown.json() == RETURN_NOT_FOUND
    assert rows(ReturnRequest)[0].status == "pickup_scheduled"


@sqlite_only
def test_cancel_without_proof_is_422(client: Any) -> None:
    ret = create_return(client)
    assert client.post(f"{URL}/{ret['rma']}/cancel", json={}).status_code == 422
    assert rows(ReturnRequest)[0].status == "pickup_scheduled"


def test_cancel_twice_is_409(client: Any) -> None:
    ret = create_return(client)
    client.post(f"{URL}/{ret['rma']}/cancel", json={"email": email("100231")})
    r = client.post(f"{URL}/{ret['rma']}/cancel", json={"email": email("100231")})
    assert r.status_code == 409 and "cancelled" in r.json()["detail"]


def test_cancel_after_pickup_is_409(client: Any) -> None:
    ret = create_return(client)
    assert carrier_event(client, ret["pickup"]["reference"], "picked_up", "evt-1").status_code == 200
    counts = snapshot()
    r = client.post(f"{URL}/{ret['rma']}/cancel", json={"email": email("100231")})
    assert r.status_code == 409
    assert "picked up" in r.json()["detail"] and "can no longer be cancelled" in r.json()["detail"]
    assert rows(ReturnRequest)[0].status == "picked_up"
    assert snapshot() == counts


# --- the merchant's list --------------------------------------------------------------------------


def test_merchant_lists_returns_by_order_number(client: Any, merchant_headers: Any) -> None:
    ret = create_return(client)
    keep = create_return(client, "100237", "changed_mind", pickup=None, address_confirmed=False)
    r = client.get(URL, params={"order_number": "100231"}, headers=merchant_headers)
    assert r.status_code == 200
    [listed] = r.json()
    assert listed["rma"] == ret["rma"] and listed["status"] == "pickup_scheduled"
    assert listed["decision"]["outcome"] == "approve" and listed["decision"]["reasons"]
    assert listed["pickup"]["reference"] == ret["pickup"]["reference"]
    everything = client.get(URL, headers=merchant_headers).json()
    assert [x["rma"] for x in everything] == [keep["rma"], ret["rma"]]  # newest first
    assert client.get(URL, params={"order_number": "ORD-100231"}, headers=merchant_headers).json() == [listed]
    by_status = client.get(URL, params={"status": "approved"}, headers=merchant_headers).json()
    assert [x["rma"] for x in by_status] == [keep["rma"]]
    assert client.get(URL, params={"order_number": "100232"}, headers=merchant_headers).json() == []


def test_merchant_list_needs_a_merchant_token(client: Any) -> None:
    create_return(client)
    anonymous = client.get(URL, params={"order_number": "100231"})
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"] == "Bearer"
    assert set(anonymous.json()) == {"detail"} and "RMA-" not in anonymous.text
    assert client.get(URL, params={"order_number": "100231"}, headers=SERVICE).status_code == 401
    bad = {"Authorization": "Bearer eyJzdWIiOjF9.forged"}
    assert client.get(URL, params={"order_number": "100231"}, headers=bad).status_code == 401


@sqlite_only
def test_merchant_list_rejects_an_expired_token(client: Any) -> None:
    from api.security import sign

    expired = sign({"sub": 1, "mid": 1, "role": "admin"}, -10, "access")
    r = client.get(URL, headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401


def test_merchant_sees_only_its_own_returns(client: Any) -> None:
    create_return(client)
    headers = other_merchant_headers(client)
    r = client.get(URL, params={"order_number": "100231"}, headers=headers)
    assert r.status_code == 200 and r.json() == []


@sqlite_only
def test_merchant_list_limit_is_validated(client: Any, merchant_headers: Any) -> None:
    assert client.get(URL, params={"limit": 0}, headers=merchant_headers).status_code == 422
    assert client.get(URL, params={"limit": 501}, headers=merchant_headers).status_code == 422
