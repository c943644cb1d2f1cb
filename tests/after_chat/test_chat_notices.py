"""Proactive chat: notices queued with the state change, delivered to Rasa's trigger_intent by the
worker, retried when Rasa is away, never sent on channels that cannot push a message."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from api.models import ChatNotice, DeliveryAttempt
from tests.api.helpers import carrier_event, count, create_return, rows


class FakeRasa:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_next = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                url = urlparse(self.path)
                outer.requests.append({"path": url.path, "query": parse_qs(url.query), "body": body})
                if outer.fail_next:
                    outer.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                payload = json.dumps({"tracker": {}, "messages": []}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def rasa(database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRasa]:
    from api.settings import get_settings

    fake = FakeRasa()
    monkeypatch.setenv("RASA_URL", fake.url)
    monkeypatch.setenv("RASA_TOKEN", "rasa-test-token")
    get_settings.cache_clear()
    yield fake
    fake.close()


def _later(seconds: float) -> Any:
    from api.services.mailer import utcnow

    return utcnow() + timedelta(seconds=seconds)


def test_notices_reach_rasa_after_a_failure(
    client: Any, rasa: FakeRasa, merchant_headers: dict[str, str]
) -> None:
    from api.services import mailer

    ret = create_return(client, "100231")  # channel socketio, conversation conv-test
    carrier_event(client, ret["pickup"]["reference"], "picked_up", "e1")
    carrier_event(client, ret["pickup"]["reference"], "delivered_to_warehouse", "e2")
    r = client.post(f"/api/v1/returns/{ret['rma']}/receive", json={}, headers=merchant_headers)
    assert r.status_code == 200
    notices = rows(ChatNotice)
    assert [n.entities["return_event"] for n in notices] == ["received", "refund_issued"]
    assert rasa.requests == []  # nothing was sent inside the request

    rasa.fail_next = 1
    first = mailer.deliver_chat_notices()
    assert first.retried == 1 and first.sent == 1
    assert mailer.deliver_chat_notices().total == 0  # backoff
    assert mailer.deliver_chat_notices(_later(31)).sent == 1
    assert mailer.deliver_chat_notices(_later(10_000)).total == 0
    assert all(n.status == "sent" for n in rows(ChatNotice))
    assert len(rasa.requests) == 3
    delivered = rasa.requests[1:]
    assert {q["path"] for q in rasa.requests} == {"/conversations/conv-test/trigger_intent"}
    assert all(
        q["query"] == {"output_channel": ["latest"], "token": ["rasa-test-token"]} for q in rasa.requests
    )
    assert sorted(q["body"]["entities"]["return_event"] for q in delivered) == ["received", "refund_issued"]
    assert all(
        q["body"]["name"] == "EXTERNAL_return_update" and q["body"]["entities"]["rma"] == ret["rma"]
        for q in delivered
    )
    refund = next(q for q in delivered if q["body"]["entities"]["return_event"] == "refund_issued")
    assert ret["refund_amount"] in refund["body"]["entities"]["return_message"]
    assert count(DeliveryAttempt, DeliveryAttempt.queue == "chat") == 3


def test_rasa_down_never_blocks_and_is_retried(
    client: Any, database: str, monkeypatch: pytest.MonkeyPatch, merchant_headers: dict[str, str]
) -> None:
    from api.services import mailer
    from api.settings import get_settings
    from tests.support import free_port

    monkeypatch.setenv("RASA_URL", f"http://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    ret = create_return(client, "100231")
    assert (
        client.post(f"/api/v1/returns/{ret['rma']}/receive", json={}, headers=merchant_headers).status_code
        == 200
    )
    stats = mailer.deliver_chat_notices()
    assert stats.retried == 1 and stats.sent == 0
    assert all(n.status == "pending" and "ConnectError" in n.last_error for n in rows(ChatNotice))


def test_channels_that_cannot_push_get_no_notice(
    client: Any, database: str, merchant_headers: dict[str, str]
) -> None:
    ret = create_return(client, "100231", channel="rest")
    client.post(f"/api/v1/returns/{ret['rma']}/receive", json={}, headers=merchant_headers)
    assert count(ChatNotice) == 0


def test_review_decision_hook_queues_a_notice(client: Any, rasa: FakeRasa) -> None:
    from api.services import mailer
    from api.services.review import ChatNotice as Notice
    from api.services.review import tell_shopper_in_chat

    ret = create_return(client, "100231")
    notice = Notice(ret["rma"], "conv-test", "socketio", "review_approved", "Approved.")
    assert tell_shopper_in_chat(notice) is True
    assert tell_shopper_in_chat(notice) is False  # the same notice is queued once
    assert tell_shopper_in_chat(Notice(ret["rma"], "conv-x", "web", "review_approved", "x")) is False
    assert mailer.deliver_chat_notices().sent == 1
    body = rasa.requests[0]["body"]
    assert body["name"] == "EXTERNAL_review_decision"
    assert body["entities"]["review_event"] == "review_approved"
    assert body["entities"]["review_message"].startswith("Approved. Pickup booked: ")
    assert body["entities"]["pickup_reference"] == ret["pickup"]["reference"]
    assert ret["pickup"]["reference"] in body["entities"]["review_message"]
    assert body["entities"]["label_url"].startswith("http")
