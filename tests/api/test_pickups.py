"""Pickup slots and their capacity, rescheduling, and the label PDF behind its link token."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from api.models import AuditLog, OutboxMessage, Pickup, ReturnRequest
from tests.api.helpers import (
    SERVICE,
    assessed_photo,
    carrier_event,
    create_return,
    draft,
    email,
    first_slot,
    postcode,
    rows,
    sqlite_only,
)

SLOTS = "/api/v1/pickups/slots"


def slots(client: Any, code: str, **params: Any) -> list[dict[str, Any]]:
    r = client.get(SLOTS, params={"postcode": code, **params})
    assert r.status_code == 200, r.text
    return list(r.json())


# --- slots ----------------------------------------------------------------------------------------


def test_slots_are_the_next_business_days_morning_and_afternoon(client: Any) -> None:
    from api.services.returns import today

    found = slots(client, "10001")
    assert len(found) == 10
    days = sorted({date.fromisoformat(s["date"]) for s in found})
    assert len(days) == 5
    assert all(d > today() and d.weekday() < 5 for d in days)
    assert [s["window"] for s in found[:2]] == ["morning", "afternoon"]
    for s in found:
        assert s["available"] is True
        assert {"date", "window", "label", "available", "hours", "carrier"} <= set(s)
        assert s["window"] in s["label"] and s["hours"] in s["label"]
    assert len(slots(client, "10001", days=2)) == 4


@sqlite_only
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"postcode": "1"},
        {"postcode": "1" * 17},
        {"postcode": "10001", "days": 0},
        {"postcode": "10001", "days": 11},
    ],
)
def test_slots_bad_query_is_422(client: Any, params: dict[str, Any]) -> None:
    r = client.get(SLOTS, params=params)
    assert r.status_code == 422 and isinstance(r.json()["detail"], str)


def test_full_window_is_unavailable_and_refused(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.carrier.local import LocalCourier

    monkeypatch.setattr(LocalCourier, "capacity_per_window", 1)
    slot = first_slot(client, "100231")
    create_return(client, "100231", "doesnt_fit", pickup=slot)
    taken = next(
        s for s in slots(client, "10001") if (s["date"], s["window"]) == (slot["date"], slot["window"])
    )
    assert taken["available"] is False
    assert sum(not s["available"] for s in slots(client, "10001")) == 1
    assert all(s["available"] for s in slots(client, "94107"))  # another area is not affected

    body = draft(client, "100231", "doesnt_fit", item=1, pickup=slot, address_confirmed=True)
    r = client.post("/api/v1/returns", json=body, headers={**SERVICE, "Idempotency-Key": "second-return"})
    assert r.status_code == 409 and "full" in r.json()["detail"]
    assert len(rows(ReturnRequest)) == 1  # the refused return left nothing behind


def test_capacity_counts_per_window(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.carrier.local import LocalCourier

    monkeypatch.setattr(LocalCourier, "capacity_per_window", 2)
    slot = first_slot(client, "100231")
    create_return(client, "100231", "doesnt_fit", pickup=slot)
    assert first_slot(client, "100231") == slot  # one of two places taken: still offered
    create_return(client, "100231", "doesnt_fit", item=1, pickup=slot)
    assert first_slot(client, "100231") != slot


def test_pickup_outside_the_bookable_days_is_409(client: Any) -> None:
    body = draft(
        client,
        "100231",
        "doesnt_fit",
        pickup={"date": "2000-01-03", "window": "morning"},
        address_confirmed=True,
    )
    r = client.post("/api/v1/returns", json=body, headers={**SERVICE, "Idempotency-Key": "old-date-1"})
    assert r.status_code == 409 and "business days" in r.json()["detail"]
    assert rows(ReturnRequest) == []


# --- reschedule -----------------------------------------------------------------------------------


def reschedule(client: Any, rma: str, slot: dict[str, str], **proof: str) -> Any:
    return client.post(
        f"/api/v1/returns/{rma}/reschedule", json={**(proof or {"email": email("100231")}), **slot}
    )


def test_reschedule_moves_the_pickup(client: Any) -> None:
    ret = create_return(client)
    new_slot = first_slot(client, "100231", 3)
    r = reschedule(client, ret["rma"], new_slot, postcode=postcode("100231"))
    assert r.status_code == 200, r.text
    moved = r.json()
    assert (moved["pickup"]["date"], moved["pickup"]["window"]) == (new_slot["date"], new_slot["window"])
    assert moved["pickup"]["reference"] != ret["pickup"]["reference"]
    assert moved["status"] == "pickup_scheduled"
    pickups = {p.reference: p.status for p in rows(Pickup)}
    assert pickups == {ret["pickup"]["reference"]: "cancelled", moved["pickup"]["reference"]: "scheduled"}
    assert "pickup_rescheduled" in [a.action for a in rows(AuditLog, AuditLog.entity_id == ret["rma"])]
    mails = [m.dedupe_key for m in rows(OutboxMessage, OutboxMessage.event == "pickup_scheduled")]
    assert f"{ret['rma']}:pickup:{moved['pickup']['reference']}" in mails
    # the new reference is the one the label and the lookup show
    found = client.post("/api/v1/returns/lookup", json={"rma": ret["rma"], "email": email("100231")})
    assert found.json()[0]["pickup"]["reference"] == moved["pickup"]["reference"]


def test_reschedule_to_a_full_window_is_409_and_keeps_the_old_pickup(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.carrier.local import LocalCourier

    monkeypatch.setattr(LocalCourier, "capacity_per_window", 1)
    ret = create_return(client)
    full = first_slot(client, "100231", 1)
    create_return(client, "100231", "doesnt_fit", item=1, pickup=full)
    r = reschedule(client, ret["rma"], full)
    assert r.status_code == 409 and "full" in r.json()["detail"]
    found = client.post("/api/v1/returns/lookup", json={"rma": ret["rma"], "email": email("100231")})
    assert found.json()[0]["pickup"]["reference"] == ret["pickup"]["reference"]
    assert {p.status for p in rows(Pickup)} == {"scheduled"}


def test_reschedule_to_a_past_day_is_409_and_keeps_the_old_pickup(client: Any) -> None:
    ret = create_return(client)
    r = reschedule(client, ret["rma"], {"date": "2000-01-03", "window": "afternoon"})
    assert r.status_code == 409
    [pickup] = rows(Pickup)
    assert pickup.status == "scheduled" and pickup.reference == ret["pickup"]["reference"]


def test_reschedule_under_review_keeps_the_pickup_on_hold(client: Any) -> None:
    photos = [assessed_photo(client, 0.05, (10, 200, 10)), assessed_photo(client, 0.05, (10, 10, 200))]
    ret = create_return(client, "100234", "changed_mind", photo_ids=photos)
    r = reschedule(client, ret["rma"], first_slot(client, "100234", 2), email=email("100234"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "under_review" and r.json()["pickup"]["status"] == "on_hold"


def test_reschedule_wrong_proof_is_404(client: Any) -> None:
    ret = create_return(client)
    r = reschedule(client, ret["rma"], first_slot(client, "100231", 2), email="raj@example.com")
    assert r.status_code == 404
    assert r.json() == {"detail": "We could not find a return with those details."}
    assert reschedule(client, "RMA-NOPE", first_slot(client, "100231", 2)).status_code == 404


@sqlite_only
@pytest.mark.parametrize(
    "body",
    [
        {"email": "jane@example.com", "date": "tomorrow", "window": "morning"},
        {"email": "jane@example.com", "date": "2030-01-01", "window": "evening"},
        {"date": "2030-01-01", "window": "morning"},
    ],
)
def test_reschedule_invalid_body_is_422(client: Any, body: dict[str, Any]) -> None:
    ret = create_return(client)
    assert client.post(f"/api/v1/returns/{ret['rma']}/reschedule", json=body).status_code == 422


def test_reschedule_without_pickup_is_409(client: Any) -> None:
    keep = create_return(client, "100237", "changed_mind", pickup=None, address_confirmed=False)
    r = client.post(
        f"/api/v1/returns/{keep['rma']}/reschedule",
        json={"email": email("100237"), **first_slot(client, "100237")},
    )
    assert r.status_code == 409 and "no pickup" in r.json()["detail"]


def test_reschedule_after_cancel_or_pickup_is_409(client: Any) -> None:
    cancelled = create_return(client)
    client.post(f"/api/v1/returns/{cancelled['rma']}/cancel", json={"email": email("100231")})
    assert reschedule(client, cancelled["rma"], first_slot(client, "100231", 2)).status_code == 409
    picked = create_return(client, item=1, key="picked-up-return")
    carrier_event(client, picked["pickup"]["reference"], "picked_up", "evt-picked")
    assert reschedule(client, picked["rma"], first_slot(client, "100231", 2)).status_code == 409


# --- label ----------------------------------------------------------------------------------------


def label(client: Any, rma: str, token: str) -> Any:
    return client.get(f"/api/v1/returns/{rma}/label.pdf", params={"token": token})


def test_label_pdf_from_the_link(client: Any) -> None:
    ret = create_return(client)
    url = ret["label_url"].split("://", 1)[1].split("/", 1)[1]
    r = client.get("/" + url)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF") and r.content.rstrip().endswith(b"%%EOF")
    assert ret["rma"].encode() in r.content  # in the document title
    assert f"{ret['rma']}-label.pdf" in r.headers["content-disposition"]


def test_label_with_a_bad_token_is_404(client: Any) -> None:
    ret = create_return(client)
    token = rows(ReturnRequest)[0].label_token
    bad = label(client, ret["rma"], token[:-1] + ("A" if token[-1] != "A" else "B"))
    unknown = label(client, "RMA-00000000", token)
    empty = label(client, ret["rma"], "")
    assert bad.status_code == unknown.status_code == empty.status_code == 404
    assert bad.json() == unknown.json() == {"detail": "No such label."}
    assert client.get(f"/api/v1/returns/{ret['rma']}/label.pdf").status_code == 422  # no token at all


def test_label_of_a_return_without_pickup_is_409(client: Any) -> None:
    keep = create_return(client, "100237", "changed_mind", pickup=None, address_confirmed=False)
    token = rows(ReturnRequest)[0].label_token
    r = label(client, keep["rma"], token)
    assert r.status_code == 409 and "no pickup" in r.json()["detail"]
