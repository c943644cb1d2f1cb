"""Returns list (search, filters, CSV export), handoff tickets, the email outbox."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.dashboard import helpers


@pytest.fixture
def three(client: Any, shops: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A flagged headphones return, a flagged vase return, and an auto-approved shoe return
    created 10 days ago."""
    from api.db import session_scope
    from api.models import ReturnRequest

    returns = {
        "headphones": helpers.create_return(client),
        "vase": helpers.create_return(client, order_number="100232", email="raj@example.com", photos=1),
        "shoes": helpers.create_return(
            client,
            order_number="100231",
            email="jane@example.com",
            reason="doesnt_fit",
            photos=0,
            expect=None,
        ),
    }
    with session_scope() as db:
        ret = db.scalar(select(ReturnRequest).where(ReturnRequest.rma == returns["shoes"]["rma"]))
        assert ret is not None
        ret.created_at = datetime.now(UTC) - timedelta(days=10)
    return returns


def _rmas(html: str, three: dict[str, dict[str, Any]]) -> set[str]:
    return {name for name, r in three.items() if r["rma"] in html}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"headphones", "vase", "shoes"}),
        ({"q": "100232"}, {"vase"}),
        ({"q": "#100232"}, {"vase"}),
        ({"q": "JANE@example.com"}, {"shoes"}),
        ({"q": "example.com"}, {"headphones", "vase", "shoes"}),
        ({"status": "under_review"}, {"headphones", "vase"}),
        ({"reason": "doesnt_fit"}, {"shoes"}),
        ({"reason": "damaged_on_arrival", "q": "li@"}, {"headphones"}),
        ({"start": (datetime.now(UTC) - timedelta(days=2)).date().isoformat()}, {"headphones", "vase"}),
        ({"end": (datetime.now(UTC) - timedelta(days=5)).date().isoformat()}, {"shoes"}),
        ({"status": "nonsense"}, {"headphones", "vase", "shoes"}),  # unknown filter values are ignored
    ],
)
def test_returns_search_and_filters(
    client: Any, three: dict[str, Any], reviewer: str, params: dict[str, str], expected: set[str]
) -> None:
    page = client.get("/merchant/returns", params=params)
    assert page.status_code == 200
    assert _rmas(page.text, three) == expected


def test_search_by_rma(client: Any, three: dict[str, Any], reviewer: str) -> None:
    rma = three["vase"]["rma"]
    assert _rmas(client.get("/merchant/returns", params={"q": rma.lower()}).text, three) == {"vase"}


def test_csv_export_has_the_filtered_returns(client: Any, three: dict[str, Any], reviewer: str) -> None:
    response = client.get("/merchant/returns.csv", params={"status": "under_review"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert {r["rma"] for r in rows} == {three["headphones"]["rma"], three["vase"]["rma"]}
    headphones = next(r for r in rows if r["rma"] == three["headphones"]["rma"])
    assert headphones["status"] == "under_review"
    assert headphones["order_number"] == "100234"
    assert headphones["email"] == "li@example.com"
    assert headphones["customer"] == "Li Wei"
    assert headphones["items"] == "1 x Wireless headphones"
    assert headphones["reasons"] == "damaged_on_arrival"
    assert headphones["refund_amount"] == "349.00"
    assert headphones["currency"] == "USD"
    assert headphones["decision"] == "review" and headphones["decided_by"] == "policy"
    assert headphones["pickup_status"] == "on_hold"
    all_rows = list(csv.DictReader(io.StringIO(client.get("/merchant/returns.csv").text.lstrip("\ufeff"))))
    assert len(all_rows) == 3


def test_csv_cells_cannot_become_spreadsheet_formulas(
    client: Any, three: dict[str, Any], reviewer: str
) -> None:
    from api.db import session_scope
    from api.models import Customer

    with session_scope() as db:
        customer = db.scalar(select(Customer).where(Customer.email == "li@example.com"))
        assert customer is not None
        customer.name = '=HYPERLINK("http://evil.example","x")'
    text = client.get("/merchant/returns.csv").text
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text and ',"=HYPERLINK' not in text


def test_handoff_tickets_list_and_close(client: Any, shops: dict[str, Any], reviewer: str) -> None:
    from api.db import session_scope
    from api.models import AuditLog, HandoffTicket

    created = client.post(
        "/api/v1/handoffs",
        headers=helpers.SERVICE,
        json={"conversation_id": "conv-help", "order_number": "#100234", "message": "I want a person"},
    )
    assert created.status_code == 201
    ticket_id = created.json()["ticket_id"]
    page = client.get("/merchant/handoffs").text
    assert "I want a person" in page and "#100234" in page
    response = client.post(
        f"/merchant/handoffs/{ticket_id}/close", data={"csrf_token": reviewer}, follow_redirects=False
    )
    assert response.status_code == 303
    assert f"Ticket {ticket_id} is closed." in client.get(response.headers["location"]).text
    assert "I want a person" not in client.get("/merchant/handoffs").text
    assert "I want a person" in client.get("/merchant/handoffs?status=closed").text
    with session_scope() as db:
        ticket = db.get(HandoffTicket, ticket_id)
        assert ticket is not None and ticket.status == "closed"
        log = db.scalar(
            select(AuditLog).where(AuditLog.entity_type == "handoff", AuditLog.action == "closed")
        )
        assert log is not None and log.actor == f"user:{shops['acme_reviewer']}"
    again = client.post(f"/merchant/handoffs/{ticket_id}/close", data={"csrf_token": reviewer})
    assert "already closed" in again.text


def test_outbox_lists_and_shows_messages(client: Any, three: dict[str, Any], reviewer: str) -> None:
    from api.db import session_scope
    from api.models import OutboxMessage

    page = client.get("/merchant/outbox").text
    assert f"Your return {three['vase']['rma']} is being reviewed" in page
    assert "raj@example.com" in page
    assert "li@example.com" not in client.get("/merchant/outbox", params={"q": "raj@"}).text
    with session_scope() as db:
        message = db.scalar(select(OutboxMessage).where(OutboxMessage.to_address == "raj@example.com"))
        assert message is not None
        message_id, body = message.id, message.body_text
    shown = client.get(f"/merchant/outbox/{message_id}")
    assert shown.status_code == 200
    assert body.splitlines()[0] in shown.text
    assert f'href="/merchant/returns/{three["vase"]["rma"]}"' in shown.text
    assert client.get("/merchant/outbox/999999").status_code == 404
