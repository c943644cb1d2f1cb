"""POST /api/v1/returns/quote: the seven demo orders decide as DESIGN.md says, and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest

from api.models import AuditLog, Decision, OutboxMessage, Photo, ReturnRequest
from tests.api.helpers import (
    SERVICE,
    WRONG_SERVICE,
    assess,
    assessed_photo,
    count,
    draft,
    rows,
    sqlite_only,
    upload_photo,
)

URL = "/api/v1/returns/quote"


def quote(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post(URL, json=body, headers=SERVICE)
    assert r.status_code == 200, r.text
    return dict(r.json())


def codes(decision: dict[str, Any]) -> set[str]:
    return {rule["code"] for rule in decision["rules"]}


def test_100231_normal_return_is_approved(client: Any) -> None:
    d = quote(client, draft(client, "100231", "doesnt_fit"))
    assert d["outcome"] == "approve"
    assert d["keep_item"] is False
    assert set(d["resolutions"]) == {"refund", "exchange", "store_credit"}
    assert d["refund_amount"] == "114.05"  # 120.00 less the 5.95 return shipping (shopper at fault)
    assert d["shopper_summary"]


def test_100231_size_exchange_in_stock(client: Any) -> None:
    from tests.api.helpers import lookup

    shoes = lookup(client, "100231")["items"][0]
    in_stock = next(v for v in shoes["variants"] if v["in_stock"] and v["name"] == "EU 41")
    body = draft(client, "100231", "doesnt_fit", resolution="exchange")
    body["items"][0]["exchange_variant_id"] = in_stock["id"]
    d = quote(client, body)
    assert d["outcome"] == "approve" and "exchange" in d["resolutions"]


def test_100232_damaged_vase_with_damage_assessment_is_approved(client: Any) -> None:
    photo = assessed_photo(client, damage=0.93)
    d = quote(client, draft(client, "100232", "damaged_on_arrival", photo_ids=[photo]))
    assert d["outcome"] == "approve"
    assert "damage.confirmed" in codes(d)
    assert d["refund_amount"] == "60.00"  # the shop's fault: no fees
    assert d["fees"] == []


def test_100232_damaged_vase_without_photo_needs_photos(client: Any) -> None:
    d = quote(client, draft(client, "100232", "damaged_on_arrival"))
    assert d["outcome"] == "need_photos"
    assert d["ask_for"]["photos"] == 1
    assert "photo" in d["ask_for"]["message"].lower()


def test_100232_photo_without_assessment_goes_to_review(client: Any) -> None:
    d = quote(client, draft(client, "100232", "damaged_on_arrival", photo_ids=[upload_photo(client)]))
    assert d["outcome"] == "review"
    assert "damage.unassessed" in codes(d)


def test_100232_unclear_assessment_goes_to_review(client: Any) -> None:
    photo = upload_photo(client)
    assess(client, photo, damage=0.5, severity="minor", confidence=0.4)
    d = quote(client, draft(client, "100232", "damaged_on_arrival", photo_ids=[photo]))
    assert d["outcome"] == "review"
    assert "damage.unclear" in codes(d)


def test_100232_unusable_photo_is_asked_again(client: Any) -> None:
    photo = upload_photo(client, (5, 5, 5))
    assess(
        client,
        photo,
        damage=0.1,
        severity="none",
        unusable_probability=0.9,
        quality={"ok": False, "issues": ["too_dark"], "message": "That photo is too dark."},
    )
    d = quote(client, draft(client, "100232", "damaged_on_arrival", photo_ids=[photo]))
    assert d["outcome"] == "need_photos"
    assert d["ask_for"]["reason"] == "retake"
    assert "too dark" in d["ask_for"]["message"]


def test_100233_outside_the_window_is_rejected(client: Any) -> None:
    d = quote(client, draft(client, "100233", "changed_mind"))
    assert d["outcome"] == "reject"
    assert "window.expired" in codes(d)
    assert d["resolutions"] == []


def test_100234_high_value_goes_to_review(client: Any) -> None:
    photos = [assessed_photo(client, 0.05, (10, 200, 10)), assessed_photo(client, 0.05, (10, 10, 200))]
    d = quote(client, draft(client, "100234", "changed_mind", photo_ids=photos))
    assert d["outcome"] == "review"
    assert "value.high" in codes(d)


def test_100234_high_value_asks_for_two_photos_first(client: Any) -> None:
    d = quote(client, draft(client, "100234", "changed_mind"))
    assert d["outcome"] == "need_photos"
    assert d["ask_for"]["photos"] == 2


def test_100235_final_sale_is_rejected(client: Any) -> None:
    d = quote(client, draft(client, "100235", "changed_mind"))
    assert d["outcome"] == "reject"
    assert "final_sale" in codes(d)


def test_100236_not_delivered_is_rejected(client: Any) -> None:
    d = quote(client, draft(client, "100236", "changed_mind"))
    assert d["outcome"] == "reject"
    assert "not_delivered" in codes(d)


def test_100237_low_value_is_refunded_without_return(client: Any) -> None:
    d = quote(client, draft(client, "100237", "changed_mind"))
    assert d["outcome"] == "approve"
    assert d["keep_item"] is True
    assert "keep_it" in codes(d)


@sqlite_only
def test_every_rule_cites_a_reason(client: Any) -> None:
    d = quote(client, draft(client, "100233", "changed_mind"))
    for rule in d["rules"]:
        assert rule["shopper_message"] and rule["merchant_detail"]
        assert rule["effect"] in {"approve", "reject", "review", "info", "need_photos"}
    assert d["policy_version"]


def test_quote_writes_nothing(client: Any) -> None:
    photo = assessed_photo(client, damage=0.93)
    before = [count(m) for m in (ReturnRequest, Decision, AuditLog, OutboxMessage)]
    quote(client, draft(client, "100232", "damaged_on_arrival", photo_ids=[photo]))
    quote(client, draft(client, "100231", "doesnt_fit"))
    assert [count(m) for m in (ReturnRequest, Decision, AuditLog, OutboxMessage)] == before
    assert rows(Photo, Photo.id == photo)[0].return_item_id is None


def test_quote_needs_the_service_token(client: Any) -> None:
    body = draft(client, "100231", "doesnt_fit")
    r = client.post(URL, json=body)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert r.json() == {"detail": "Authentication required."}
    r = client.post(URL, json=body, headers=WRONG_SERVICE)
    assert r.status_code == 403 and set(r.json()) == {"detail"}


def test_quote_a_merchant_token_is_not_the_service_token(client: Any, merchant_headers: Any) -> None:
    r = client.post(URL, json=draft(client, "100231", "doesnt_fit"), headers=merchant_headers)
    assert r.status_code == 403


def test_quote_wrong_proof_is_the_order_404(client: Any) -> None:
    body = draft(client, "100231", "doesnt_fit")
    body["email"] = "raj@example.com"
    r = client.post(URL, json=body, headers=SERVICE)
    assert r.status_code == 404
    assert r.json() == {"detail": "We could not find an order with those details."}


@sqlite_only
@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda b: b["items"][0].update(order_item_id=99999), "is not part of order"),
        (lambda b: b["items"].append(dict(b["items"][0])), "listed twice"),
        (lambda b: b["items"][0].update(photo_ids=["ph_does_not_exist"]), "does not exist"),
        (lambda b: b["items"][0].update(quantity=2), "can still be returned"),
    ],
)
def test_quote_impossible_drafts_are_422(client: Any, mutate: Any, fragment: str) -> None:
    body = draft(client, "100231", "doesnt_fit")
    mutate(body)
    r = client.post(URL, json=body, headers=SERVICE)
    assert r.status_code == 422, r.text
    assert fragment in r.json()["detail"]


@sqlite_only
@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b["items"][0].update(reason_code="because"),
        lambda b: b.update(items=[]),
        lambda b: b["items"][0].update(quantity=0),
        lambda b: b.update(resolution="cash"),
        lambda b: b.pop("email"),
        lambda b: b["items"][0].update(photo_ids=[f"ph_{i}" for i in range(11)]),
    ],
)
def test_quote_invalid_bodies_are_422(client: Any, mutate: Any) -> None:
    body = draft(client, "100231", "doesnt_fit")
    mutate(body)
    r = client.post(URL, json=body, headers=SERVICE)
    assert r.status_code == 422
    assert isinstance(r.json()["detail"], str) and r.json()["errors"]


def test_quote_with_a_photo_of_another_return_is_409(client: Any) -> None:
    from tests.api.helpers import create_return

    photo = assessed_photo(client, damage=0.95)
    create_return(client, "100232", "damaged_on_arrival", photo_ids=[photo])
    r = client.post(URL, json=draft(client, "100231", "doesnt_fit", photo_ids=[photo]), headers=SERVICE)
    assert r.status_code == 409 and "already belongs to another return" in r.json()["detail"]
