"""The outbox worker: SMTP down then up, exactly once, backoff, failure, files, claims."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from api.models import DeliveryAttempt, OutboxMessage
from tests.after_chat.conftest import Inbox
from tests.api.helpers import count, create_return, rows


def _later(seconds: float) -> Any:
    from api.services.mailer import utcnow

    return utcnow() + timedelta(seconds=seconds)


def test_smtp_down_then_up_every_email_arrives_exactly_once(client: Any, inbox: Inbox) -> None:
    from api.services import mailer

    create_return(client, "100231")
    create_return(client, "100237", reason="changed_mind", slot_index=1)
    queued = rows(OutboxMessage)
    assert len(queued) >= 2

    # The SMTP server is down: nothing is lost, everything waits for its retry.
    first = mailer.deliver_emails()
    assert first.sent == 0 and first.retried == len(queued)
    assert all(m.status == "pending" and m.attempts == 1 and m.next_attempt_at for m in rows(OutboxMessage))
    assert "ConnectionRefusedError" in rows(OutboxMessage)[0].last_error

    inbox.start()
    # Not due yet (backoff): nothing is sent early.
    assert mailer.deliver_emails().total == 0
    second = mailer.deliver_emails(_later(31))
    assert second.sent == len(queued)
    # Later passes find nothing to do: nobody gets a second copy.
    assert mailer.deliver_emails(_later(10_000)).total == 0
    assert len(inbox.messages) == len(queued)
    assert len({m["Message-ID"] for m in inbox.messages}) == len(queued)
    assert sorted(inbox.events()) == sorted(m.event for m in queued)
    assert all(m.status == "sent" and m.sent_at for m in rows(OutboxMessage))
    # Each message: one failed attempt and one sent attempt on record.
    assert count(DeliveryAttempt, DeliveryAttempt.outcome == "sent") == len(queued)
    assert count(DeliveryAttempt, DeliveryAttempt.outcome == "error") == len(queued)


def test_email_is_multipart_branded_with_label_pdf(client: Any, running_inbox: Inbox) -> None:
    from api.db import session_scope
    from api.models import Merchant
    from api.services import mailer

    with session_scope() as s:
        merchant = s.query(Merchant).one()
        merchant.brand_color = "#aa3300"
        name = merchant.name
    ret = create_return(client, "100231")
    assert mailer.deliver_emails().sent == 2
    pickup = running_inbox.by_event("pickup_scheduled")[0]
    assert ret["rma"] in pickup["Subject"] and pickup["To"] == "jane@example.com"
    assert name in pickup["From"]
    text = pickup.get_body(("plain",)).get_content()
    html = pickup.get_body(("html",)).get_content()
    assert ret["pickup"]["reference"] in text and ret["pickup"]["reference"] in html
    assert "#aa3300" in html and name in html
    pdfs = [p for p in pickup.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(pdfs) == 1 and pdfs[0].get_content().startswith(b"%PDF")
    assert ret["rma"] in pdfs[0].get_filename()
    approved = running_inbox.by_event("return_approved")[0]
    assert not list(approved.iter_attachments())


def test_backoff_grows_and_gives_up_after_max_attempts(
    client: Any, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.services import mailer
    from api.settings import get_settings

    monkeypatch.setenv("OUTBOX_MAX_ATTEMPTS", "3")
    get_settings.cache_clear()
    settings = get_settings()
    assert [mailer.backoff(n, settings).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    create_return(client, "100231")
    n = count(OutboxMessage)
    assert mailer.deliver_emails().retried == n
    assert mailer.deliver_emails(_later(31)).retried == n
    assert mailer.deliver_emails(_later(31 + 61)).failed == n
    assert all(m.status == "failed" and m.attempts == 3 for m in rows(OutboxMessage))
    assert mailer.deliver_emails(_later(100_000)).total == 0
    # An operator puts them back; once the server is up they go out.
    assert mailer.requeue_failed() == n
    inbox.start()
    assert mailer.deliver_emails().sent == n
    assert len(inbox.messages) == n


def test_default_transport_writes_eml_files(client: Any, var_dir: Any) -> None:
    from api.services import mailer

    ret = create_return(client, "100231")
    stats = mailer.run_once()
    assert stats.sent == 2
    files = sorted((var_dir / "outbox").glob("*.eml"))
    assert len(files) == 2
    assert any(ret["rma"].encode() in f.read_bytes() for f in files)
    assert mailer.run_once(_later(10_000)).total == 0
    assert len(list((var_dir / "outbox").glob("*.eml"))) == 2


def test_concurrent_workers_never_send_twice(client: Any, database: str) -> None:
    from api.services import mailer

    create_return(client, "100231")
    create_return(client, "100237", reason="changed_mind", slot_index=1)
    sent: list[int] = []
    lock = threading.Lock()

    class Slow:
        name = "test"

        def send(self, msg: Any, email: Any) -> str:
            with lock:
                sent.append(msg.id)
            return "ok"

    workers = [threading.Thread(target=mailer.deliver_emails, kwargs={"transport": Slow()}) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(sent) == sorted(set(sent))
    assert len(sent) == count(OutboxMessage)


def test_lease_expired_claim_is_retried(client: Any, database: str) -> None:
    from api.services import mailer
    from api.settings import get_settings

    create_return(client, "100231")
    # A worker claims everything and dies before sending.
    won = mailer.claim(OutboxMessage, mailer.utcnow(), get_settings())
    assert won and all(m.status == "sending" for m in rows(OutboxMessage))
    assert mailer.claim(OutboxMessage, mailer.utcnow(), get_settings()) == []

    sent: list[int] = []

    class Collect:
        name = "test"

        def send(self, msg: Any, email: Any) -> str:
            sent.append(msg.id)
            return "ok"

    assert mailer.deliver_emails(transport=Collect()).total == 0
    assert mailer.deliver_emails(_later(301), transport=Collect()).sent == len(won)
    assert all(m.status == "sent" and m.attempts == 2 for m in rows(OutboxMessage))


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_api_runs_the_worker_thread_when_enabled(
    database: str, var_dir: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import get_settings

    monkeypatch.setenv("OUTBOX_WORKER", "true")
    monkeypatch.setenv("OUTBOX_POLL_SECONDS", "0.1")
    get_settings.cache_clear()
    with TestClient(create_app()) as client:
        create_return(client, "100231")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and count(OutboxMessage, OutboxMessage.status == "sent") < 2:
            time.sleep(0.1)
    assert count(OutboxMessage, OutboxMessage.status == "sent") == 2
    assert len(list((var_dir / "outbox").glob("*.eml"))) == 2
