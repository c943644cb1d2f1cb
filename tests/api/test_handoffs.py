"""POST /api/v1/handoffs: the action server opens a ticket for a person to take over."""

from __future__ import annotations

from typing import Any

import pytest

from api.models import AuditLog, HandoffTicket
from tests.api.helpers import SERVICE, WRONG_SERVICE, count, rows, sqlite_only

URL = "/api/v1/handoffs"
BODY = {
    "conversation_id": "conv-42",
    "channel": "telegram",
    "order_number": "#100231",
    "message": "I want to talk to a person",
}


def test_open_a_ticket(client: Any) -> None:
    r = client.post(URL, json=BODY, headers=SERVICE)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "open" and isinstance(r.json()["ticket_id"], int)
    [ticket] = rows(HandoffTicket)
    assert ticket.order_number == "100231" and ticket.channel == "telegram"
    assert ticket.conversation_id == "conv-42" and ticket.message == BODY["message"]
    [audit] = rows(AuditLog, AuditLog.entity_type == "handoff")
    assert audit.action == "opened" and audit.actor == "shopper:conv-42"


def test_order_number_is_optional(client: Any) -> None:
    r = client.post(URL, json={"conversation_id": "c1"}, headers=SERVICE)
    assert r.status_code == 201
    assert rows(HandoffTicket)[0].order_number is None


def test_handoff_needs_the_service_token(client: Any) -> None:
    assert client.post(URL, json=BODY).status_code == 401
    assert client.post(URL, json=BODY, headers=WRONG_SERVICE).status_code == 403
    assert count(HandoffTicket) == 0


@sqlite_only
@pytest.mark.parametrize(
    "body", [{}, {"conversation_id": "c" * 129}, {"conversation_id": "c", "message": "m" * 4001}]
)
def test_invalid_handoff_is_422(client: Any, body: dict[str, Any]) -> None:
    assert client.post(URL, json=body, headers=SERVICE).status_code == 422
    assert count(HandoffTicket) == 0
