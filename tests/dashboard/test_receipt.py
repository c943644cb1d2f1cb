"""The warehouse receipt from the dashboard: the condition found, then the refund follows; the same
service as POST /api/v1/returns/{rma}/receive, behind the session's CSRF token."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from api.models import ReturnRequest
from tests.dashboard import helpers


def _post(client: Any, path: str, token: str, **data: Any) -> Any:
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def _state(rma: str) -> dict[str, Any]:
    from api.db import session_scope
    from api.models import AuditLog, LedgerEntry, OutboxMessage

    with session_scope() as db:
        ret = db.scalar(select(ReturnRequest).where(ReturnRequest.rma == rma))
        assert ret is not None
        return {
            "status": ret.status,
            "conditions": [i.condition_received for i in ret.items],
            "ledger": [
                (e.kind, e.amount_minor, e.currency)
                for e in db.scalars(select(LedgerEntry).where(LedgerEntry.return_id == ret.id))
            ],
            "emails": [
                m.event
                for m in db.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.dedupe_key.like(f"{rma}:%"))
                    .order_by(OutboxMessage.id)
                )
            ],
            "audit": [
                (a.action, a.actor, a.data)
                for a in db.scalars(select(AuditLog).where(AuditLog.entity_id == rma).order_by(AuditLog.id))
            ],
        }


def _on_its_way(client: Any) -> dict[str, Any]:
    """An approved return of order 100231 with its pickup booked (shoes, 120.00, refund 114.05)."""
    return helpers.create_return(
        client,
        order_number="100231",
        email="jane@example.com",
        reason="doesnt_fit",
        photos=0,
        expect="pickup_scheduled",
    )


def test_the_return_page_offers_the_receipt_and_it_refunds(
    client: Any, shops: dict[str, Any], reviewer: str
) -> None:
    ret = _on_its_way(client)
    rma = ret["rma"]
    item_id = ret["items"][0]["order_item_id"]
    page = client.get(f"/merchant/returns/{rma}").text
    assert f'action="/merchant/returns/{rma}/receive"' in page
    assert 'data-testid="receive-form"' in page
    for condition in ("as_expected", "used", "damaged", "wrong_item", "missing_parts"):
        assert f'<option value="{condition}">' in page
    assert 'placeholder="114.05"' in page

    # No CSRF token: refused, nothing changes.
    forged = client.post(
        f"/merchant/returns/{rma}/receive", data={"condition": "used"}, follow_redirects=False
    )
    assert forged.status_code == 403
    assert _state(rma)["status"] == "pickup_scheduled"

    # More than the quoted amount, or not a number: said, nothing changes.
    too_much = _post(client, f"/merchant/returns/{rma}/receive", reviewer, refund_amount="500")
    assert too_much.status_code == 303
    assert "The amount must be between 0 and 114.05." in client.get(too_much.headers["location"]).text
    not_a_number = _post(client, f"/merchant/returns/{rma}/receive", reviewer, refund_amount="lots")
    assert "must be a number" in client.get(not_a_number.headers["location"]).text
    assert _state(rma)["status"] == "pickup_scheduled" and _state(rma)["ledger"] == []

    done = _post(
        client,
        f"/merchant/returns/{rma}/receive",
        reviewer,
        condition="used",
        refund_amount="100,00",  # a decimal comma, as shops in Europe write it
        note="Worn outdoors.",
        item=str(item_id),
        item_condition="",
    )
    assert done.status_code == 303 and done.headers["location"] == f"/merchant/returns/{rma}"
    after = client.get(done.headers["location"]).text
    assert f"Received {rma} (used): refund issued." in after
    assert 'data-testid="receive-form"' not in after  # settled: nothing left to receive

    state = _state(rma)
    user = f"user:{shops['acme_reviewer']}"
    assert state["status"] == "refunded"
    assert state["conditions"] == ["used"]
    assert state["ledger"] == [("refund", 10000, "USD")]
    assert state["emails"][-2:] == ["received_at_warehouse", "refund_issued"]
    received = [data for action, actor, data in state["audit"] if action == "warehouse:received"]
    assert received == [{"conditions": {str(item_id): "used"}, "note": "Worn outdoors."}]
    assert [a for a, actor, _ in state["audit"] if actor == user] == [
        "status:picked_up",
        "status:received",
        "warehouse:received",
        "status:refunded",
        "payment:refund",
    ]

    # Sent twice (a double click): the second changes nothing.
    again = _post(client, f"/merchant/returns/{rma}/receive", reviewer, condition="as_expected")
    assert "already settled" in client.get(again.headers["location"]).text
    assert _state(rma)["ledger"] == [("refund", 10000, "USD")] and _state(rma)["conditions"] == ["used"]


def test_a_return_not_on_its_way_back_has_no_receipt(
    client: Any, flagged: dict[str, Any], reviewer: str, shops: dict[str, Any]
) -> None:
    rma = flagged["rma"]  # under review: the pickup is on hold
    page = client.get(f"/merchant/returns/{rma}").text
    assert 'data-testid="receive-form"' not in page
    assert "Nothing to receive while the return is under review" in page
    refused = _post(client, f"/merchant/returns/{rma}/receive", reviewer, condition="as_expected")
    assert refused.status_code == 303
    assert "only a return on its way back" in client.get(refused.headers["location"]).text
    assert _state(rma)["status"] == "under_review"


def test_another_shops_return_cannot_be_received(client: Any, shops: dict[str, Any]) -> None:
    ret = _on_its_way(client)
    token = helpers.login(client, "boss@globex.example")
    response = _post(client, f"/merchant/returns/{ret['rma']}/receive", token, condition="as_expected")
    assert response.status_code == 404
    assert _state(ret["rma"])["status"] == "pickup_scheduled"
