"""POST /api/v1/carrier/webhook: HMAC signature, duplicate events, lifecycle transitions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from api.models import AuditLog, Pickup, ReturnRequest
from tests.api.helpers import carrier_event, count, create_return, email, rows, signed, sqlite_only

URL = "/api/v1/carrier/webhook"


def status() -> str:
    return str(rows(ReturnRequest)[0].status)


def test_picked_up_then_delivered_moves_the_return(client: Any) -> None:
    ret = create_return(client)
    ref = ret["pickup"]["reference"]
    r = carrier_event(client, ref, "dispatched", "evt-0")
    assert r.status_code == 200 and r.json()["return_status"] == "pickup_scheduled"
    r = carrier_event(client, ref, "picked_up", "evt-1")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "rma": ret["rma"], "return_status": "picked_up"}
    assert [p.status for p in rows(Pickup)] == ["picked_up"]
    r = carrier_event(client, ref, "delivered_to_warehouse", "evt-2")
    assert r.status_code == 200 and r.json()["return_status"] == "received"
    assert status() == "received"
    actions = [a.action for a in rows(AuditLog, AuditLog.entity_id == ret["rma"])]
    assert actions[-2:] == ["status:picked_up", "status:received"]
    assert {a.actor for a in rows(AuditLog, AuditLog.entity_type == "carrier_event")} == {"carrier"}


def test_duplicate_event_changes_nothing(client: Any) -> None:
    ret = create_return(client)
    ref = ret["pickup"]["reference"]
    assert carrier_event(client, ref, "picked_up", "evt-dup").status_code == 200
    audit_rows = count(AuditLog)
    again = carrier_event(client, ref, "picked_up", "evt-dup")
    assert again.status_code == 200 and again.json() == {"status": "duplicate", "event_id": "evt-dup"}
    # even a different event under a seen id is ignored
    other = carrier_event(client, ref, "delivered_to_warehouse", "evt-dup")
    assert other.json()["status"] == "duplicate"
    assert count(AuditLog) == audit_rows
    assert status() == "picked_up"


@sqlite_only
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Courier-Signature": "sha256=" + "0" * 64},
        {"X-Courier-Signature": "not-even-the-format"},
    ],
)
def test_bad_signature_is_403_and_changes_nothing(client: Any, headers: dict[str, str]) -> None:
    ret = create_return(client)
    body = json.dumps({"event_id": "e1", "reference": ret["pickup"]["reference"], "event": "picked_up"})
    before = count(AuditLog)
    r = client.post(URL, content=body, headers={"Content-Type": "application/json", **headers})
    assert r.status_code == 403 and r.json() == {"detail": "Invalid signature."}
    assert count(AuditLog) == before and status() == "pickup_scheduled"


@sqlite_only
def test_signature_with_another_secret_or_another_body_is_403(client: Any) -> None:
    ret = create_return(client)
    event = {"event_id": "e1", "reference": ret["pickup"]["reference"], "event": "picked_up"}
    raw, headers = signed(event, secret="someone-elses-secret")
    assert client.post(URL, content=raw, headers=headers).status_code == 403
    raw, headers = signed(event)
    tampered = raw.replace(b"e1", b"e2")
    assert client.post(URL, content=tampered, headers=headers).status_code == 403
    assert status() == "pickup_scheduled"


@sqlite_only
def test_webhook_without_a_configured_secret_refuses_everything(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.settings import get_settings

    ret = create_return(client)
    monkeypatch.setenv("CARRIER_WEBHOOK_SECRET", "")
    get_settings.cache_clear()
    raw, headers = signed(
        {"event_id": "e", "reference": ret["pickup"]["reference"], "event": "picked_up"}, secret=""
    )
    assert client.post(URL, content=raw, headers=headers).status_code == 403


def test_unknown_reference_is_404(client: Any) -> None:
    create_return(client)
    r = carrier_event(client, "LCNOTREAL1", "picked_up", "evt-x")
    assert r.status_code == 404 and r.json() == {"detail": "Unknown pickup reference."}


@sqlite_only
@pytest.mark.parametrize(
    "body", [b"not json", json.dumps({"event_id": "e"}).encode(), json.dumps(["a", "list"]).encode()]
)
def test_malformed_event_is_422(client: Any, body: bytes) -> None:
    from api.security import hmac_hex

    r = client.post(
        URL, content=body, headers={"X-Courier-Signature": "sha256=" + hmac_hex("test-carrier-secret", body)}
    )
    assert r.status_code == 422 and "event_id" in r.json()["detail"]


def test_unknown_event_kind_is_422(client: Any) -> None:
    ret = create_return(client)
    r = carrier_event(client, ret["pickup"]["reference"], "teleported", "evt-t")
    assert r.status_code == 422 and "teleported" in r.json()["detail"]


def test_transition_not_allowed_is_409_and_changes_nothing(client: Any) -> None:
    ret = create_return(client)
    before = count(AuditLog)
    # received before it was picked up
    r = carrier_event(client, ret["pickup"]["reference"], "delivered_to_warehouse", "evt-early")
    assert r.status_code == 409
    assert "pickup scheduled cannot become received" in r.json()["detail"]
    assert status() == "pickup_scheduled" and count(AuditLog) == before
    # the refused event was not recorded, so the courier may send it again later
    carrier_event(client, ret["pickup"]["reference"], "picked_up", "evt-p")
    assert (
        carrier_event(client, ret["pickup"]["reference"], "delivered_to_warehouse", "evt-early").status_code
        == 200
    )


def test_pickup_of_a_cancelled_return_is_409(client: Any) -> None:
    ret = create_return(client)
    client.post(f"/api/v1/returns/{ret['rma']}/cancel", json={"email": email("100231")})
    r = carrier_event(client, ret["pickup"]["reference"], "picked_up", "evt-late")
    assert r.status_code == 409 and "cancelled cannot become picked up" in r.json()["detail"]
    assert status() == "cancelled"
    assert [p.status for p in rows(Pickup)] == ["cancelled"]


def test_lifecycle_table_allows_only_forward_moves() -> None:
    from api.models import TRANSITIONS, ReturnStatus

    final = {
        ReturnStatus.rejected,
        ReturnStatus.refunded,
        ReturnStatus.exchanged,
        ReturnStatus.credited,
        ReturnStatus.cancelled,
    }
    assert set(TRANSITIONS) == set(ReturnStatus)
    assert all(TRANSITIONS[s] == set() for s in final)
    assert ReturnStatus.cancelled not in TRANSITIONS[ReturnStatus.picked_up]
    assert TRANSITIONS[ReturnStatus.picked_up] == {ReturnStatus.received}


def test_service_transition_refuses_a_backwards_move(client: Any) -> None:
    from api.db import session_scope
    from api.models import ReturnStatus
    from api.services.returns import ReturnError, transition

    create_return(client)
    with session_scope() as session:
        ret = session.query(ReturnRequest).one()
        with pytest.raises(ReturnError) as err:
            transition(session, ret, ReturnStatus.requested, actor="test")
        assert err.value.status_code == 409
    assert status() == "pickup_scheduled"
