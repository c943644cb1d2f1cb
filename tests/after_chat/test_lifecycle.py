"""Requested to refunded: every email as a real SMTP server receives it, the audit log, the ledger;
duplicate and late courier webhooks; the warehouse receipt route."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from api.models import AuditLog, LedgerEntry, OutboxMessage, ReturnItem, ReturnRequest
from tests.after_chat.conftest import Inbox
from tests.api.helpers import carrier_event, count, create_return, rows


def _status(rma: str) -> str:
    return rows(ReturnRequest, ReturnRequest.rma == rma)[0].status


def _statuses(rma: str) -> list[str]:
    return [
        a.action.split(":", 1)[1]
        for a in rows(AuditLog, AuditLog.entity_id == rma)
        if a.action.startswith("status:")
    ]


def test_whole_lifecycle_requested_to_refunded(
    client: Any, running_inbox: Inbox, merchant_headers: dict[str, str]
) -> None:
    from api.services import mailer

    inbox = running_inbox
    ret = create_return(client, "100231")
    rma, ref = ret["rma"], ret["pickup"]["reference"]
    mailer.deliver_emails()
    assert inbox.events() == ["return_approved", "pickup_scheduled"]

    steps = [
        ("dispatched", "courier_dispatched", "pickup_scheduled"),
        ("picked_up", "picked_up", "picked_up"),
        ("delivered_to_warehouse", "received_at_warehouse", "received"),
    ]
    for i, (kind, event, status) in enumerate(steps):
        r = carrier_event(client, ref, kind, f"evt-{i}")
        assert r.status_code == 200 and r.json()["return_status"] == status
        assert mailer.deliver_emails().sent == 1
        mail = inbox.messages[-1]
        assert mail["X-Returns-Event"] == event and rma in mail["Subject"]
        assert mail["To"] == "jane@example.com"
        assert rma in mail.get_body(("plain",)).get_content()

    r = client.post(
        f"/api/v1/returns/{rma}/receive", json={"condition": "as_expected"}, headers=merchant_headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "refunded" and r.json()["changed"] is True
    assert mailer.deliver_emails().sent == 1
    refund = inbox.messages[-1]
    assert refund["X-Returns-Event"] == "refund_issued"
    text = refund.get_body(("plain",)).get_content()
    assert f"{ret['refund_amount']} USD" in text
    entry = rows(LedgerEntry)[0]
    assert (entry.kind, entry.amount_minor, entry.currency, entry.reason) == (
        "refund",
        round(float(ret["refund_amount"]) * 100),
        "USD",
        "requested_by_customer",
    )
    assert entry.idempotency_key == f"{rma}:refund" and entry.provider_reference in text

    # every email exactly once, in lifecycle order; the audit log tells the same story
    assert inbox.events() == [
        "return_approved",
        "pickup_scheduled",
        "courier_dispatched",
        "picked_up",
        "received_at_warehouse",
        "refund_issued",
    ]
    assert all(m.status == "sent" for m in rows(OutboxMessage))
    assert _statuses(rma) == ["pickup_scheduled", "picked_up", "received", "refunded"]
    actions = [a.action for a in rows(AuditLog, AuditLog.entity_id == rma)]
    assert "warehouse:received" in actions and "payment:refund" in actions
    assert [i.condition_received for i in rows(ReturnItem)] == ["as_expected"]

    # receiving again: nothing moves, no second refund, no second email
    again = client.post(f"/api/v1/returns/{rma}/receive", json={}, headers=merchant_headers)
    assert again.status_code == 200 and again.json()["changed"] is False
    assert count(LedgerEntry) == 1 and mailer.deliver_emails().total == 0


def test_duplicate_and_late_webhooks_change_nothing(
    client: Any, database: str, merchant_headers: dict[str, str]
) -> None:
    ret = create_return(client, "100231")
    rma, ref = ret["rma"], ret["pickup"]["reference"]
    for event_id in ("a", "a"):  # same id twice
        assert carrier_event(client, ref, "picked_up", event_id).status_code == 200
    before = (count(OutboxMessage), _statuses(rma))
    # the same scan again under a new id (couriers do that), and the dispatch scan arriving late
    assert carrier_event(client, ref, "picked_up", "b").json()["status"] == "stale"
    assert carrier_event(client, ref, "dispatched", "c").status_code == 200
    assert (count(OutboxMessage), _statuses(rma)) == before
    assert carrier_event(client, ref, "delivered_to_warehouse", "d").json()["return_status"] == "received"
    assert carrier_event(client, ref, "delivered_to_warehouse", "d").json()["status"] == "duplicate"
    assert carrier_event(client, ref, "delivered_to_warehouse", "e").json()["status"] == "stale"
    received_mails = count(OutboxMessage, OutboxMessage.event == "received_at_warehouse")
    assert received_mails == 1
    # after the refund a late courier scan is recorded but moves nothing
    assert (
        client.post(f"/api/v1/returns/{rma}/receive", json={}, headers=merchant_headers).json()["status"]
        == "refunded"
    )
    outbox = count(OutboxMessage)
    late = carrier_event(client, ref, "picked_up", "f")
    assert late.status_code == 200 and late.json() == {
        "status": "stale",
        "rma": rma,
        "return_status": "refunded",
    }
    assert _status(rma) == "refunded" and count(OutboxMessage) == outbox
    assert count(LedgerEntry) == 1


def test_warehouse_receipt_before_any_scan_and_store_credit(
    client: Any, database: str, merchant_headers: dict[str, str]
) -> None:
    ret = create_return(client, "100231")
    rma = ret["rma"]
    r = client.post(
        f"/api/v1/returns/{rma}/receive",
        json={
            "condition": "used",
            "refund_amount": "100.00",
            "resolution": "store_credit",
            "note": "worn once",
        },
        headers=merchant_headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "credited"
    assert _statuses(rma) == ["pickup_scheduled", "picked_up", "received", "credited"]
    code = rows(ReturnRequest)[0].store_credit_code
    assert code and code.startswith("SC-")
    mail = rows(OutboxMessage, OutboxMessage.event == "store_credit_issued")[0]
    assert code in mail.body_text and "100.00 USD" in mail.body_text and "worn once" in mail.body_text
    assert code in mail.body_html
    assert rows(LedgerEntry)[0].amount_minor == 10000
    # the received email went out once even though the courier may still report the delivery
    carrier_event(client, ret["pickup"]["reference"], "delivered_to_warehouse", "late")
    assert count(OutboxMessage, OutboxMessage.event == "received_at_warehouse") == 1


def test_exchange_reserves_the_new_variant(
    client: Any, database: str, merchant_headers: dict[str, str]
) -> None:
    from api.db import session_scope
    from api.models import OrderItem, ProductVariant

    ret = create_return(client, "100231")
    with session_scope() as s:
        item = s.scalar(select(ReturnItem))
        order_item = s.get(OrderItem, item.order_item_id)
        variant = s.scalar(
            select(ProductVariant).where(
                ProductVariant.product_id == order_item.product_id, ProductVariant.id != order_item.variant_id
            )
        )
        assert variant is not None
        variant.stock = 1
        item.exchange_variant_id = variant.id
        variant_id, variant_name = variant.id, variant.name
    r = client.post(
        f"/api/v1/returns/{ret['rma']}/receive", json={"resolution": "exchange"}, headers=merchant_headers
    )
    assert r.status_code == 200 and r.json()["status"] == "exchanged", r.text
    assert rows(ProductVariant, ProductVariant.id == variant_id)[0].stock == 0
    mail = rows(OutboxMessage, OutboxMessage.event == "exchange_shipped")[0]
    assert variant_name in mail.body_text
    assert rows(LedgerEntry)[0].kind == "exchange"


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_receive_checks_owner_state_and_input(
    client: Any, database: str, merchant_headers: dict[str, str]
) -> None:
    from tests.api.helpers import other_merchant_headers

    ret = create_return(client, "100231")
    url = f"/api/v1/returns/{ret['rma']}/receive"
    assert client.post(url, json={}).status_code == 401
    assert client.post(url, json={}, headers=other_merchant_headers(client)).status_code == 404
    assert client.post(url, json={"condition": "melted"}, headers=merchant_headers).status_code == 422
    too_much = client.post(url, json={"refund_amount": "500"}, headers=merchant_headers)
    assert too_much.status_code == 422 and _status(ret["rma"]) == "pickup_scheduled"
    assert count(LedgerEntry) == 0
    client.post(f"/api/v1/returns/{ret['rma']}/cancel", json={"email": "jane@example.com"})
    assert client.post(url, json={}, headers=merchant_headers).status_code == 409


def test_ledger_is_idempotent_like_a_provider(client: Any, database: str) -> None:
    from api.db import session_scope
    from api.services.payments import LedgerProvider, PaymentError, to_minor

    assert to_minor(Decimal("120.005"), "USD") == 12001 and to_minor(Decimal("1200"), "JPY") == 1200
    create_return(client, "100231")
    with session_scope() as s:
        ret = s.scalar(select(ReturnRequest))
        args = {
            "merchant_id": ret.merchant_id,
            "return_id": ret.id,
            "currency": "USD",
            "reason": "requested_by_customer",
            "payment_reference": "pi_1",
        }
        first = LedgerProvider().refund(s, idempotency_key="k1", amount_minor=500, **args)
        again = LedgerProvider().refund(s, idempotency_key="k1", amount_minor=500, **args)
        assert again.replayed and again.reference == first.reference
        with pytest.raises(PaymentError):
            LedgerProvider().refund(s, idempotency_key="k1", amount_minor=600, **args)
    assert count(LedgerEntry) == 1


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_keep_item_return_is_settled_without_a_parcel(
    client: Any, database: str, merchant_headers: dict[str, str]
) -> None:
    ret = create_return(client, "100237", reason="changed_mind")
    if not ret["keep_item"]:
        pytest.skip("the active policy does not let the shopper keep this item")
    assert ret["status"] == "approved"
    r = client.post(f"/api/v1/returns/{ret['rma']}/receive", json={}, headers=merchant_headers)
    assert r.status_code == 200 and r.json()["status"] == "refunded", r.text
    assert _statuses(ret["rma"]) == ["refunded"]
    assert count(OutboxMessage, OutboxMessage.event == "received_at_warehouse") == 0
    assert count(OutboxMessage, OutboxMessage.event == "refund_issued") == 1
