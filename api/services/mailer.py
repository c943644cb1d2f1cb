"""The outbox worker: delivers queued emails (OutboxMessage) and chat notices (ChatNotice).

Guarantees:
- never lost: a message leaves `pending` only when its transport accepted it; any error puts it
  back to `pending` with `next_attempt_at` pushed out (exponential backoff, capped), and after
  `outbox_max_attempts` it becomes `failed` (the dashboard shows it, an operator can requeue it
  with `python -m api.services.mailer --requeue-failed`);
- never twice: a worker claims a row with one conditional UPDATE (`pending` -> `sending`, only one
  worker's UPDATE matches), sends it, then marks it `sent` in the same transaction that writes
  its `DeliveryAttempt` record. A worker that dies between claim and mark leaves the row
  `sending` until its lease (`outbox_lease_seconds`) runs out; then it is retried. The Message-ID
  is derived from the dedupe key, so a receiver can still recognise that rare repeat.

Transports: no SMTP_HOST -> `.eml` files under var/outbox/ (the dashboard lists the rows);
SMTP_HOST set -> smtplib (STARTTLS / implicit TLS / login from settings). Chat notices go to
Rasa's `POST /conversations/{id}/trigger_intent?output_channel=latest`.

How it runs: a daemon thread inside the API process (started by `api.main`'s lifespan when
`outbox_worker_enabled`), or on its own: `python -m api.services.mailer [--once]`. Several
workers (API replicas) may run at once: the claim makes that safe.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import smtplib
import ssl
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from pathlib import Path
from typing import Any, Protocol, cast

import httpx
from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from api.db import session_scope
from api.models import ChatNotice, DeliveryAttempt, Merchant, OutboxMessage, ReturnRequest
from api.settings import Settings, get_settings

log = logging.getLogger("api.mailer")

BATCH = 50


def utcnow() -> datetime:
    return datetime.now(UTC)


class DeliveryError(Exception):
    """The transport did not take the message; it will be retried."""


# --- building the email -------------------------------------------------------------------------


def message_id(dedupe_key: str, mail_from: str) -> str:
    domain = mail_from.rpartition("@")[2] or "localhost"
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def _attachments(session: Session, msg: OutboxMessage) -> list[tuple[str, str, bytes]]:
    out: list[tuple[str, str, bytes]] = []
    for spec in msg.attachments or []:
        if spec.get("type") == "label_pdf":
            from api.services.labels import label_pdf

            ret = session.scalar(select(ReturnRequest).where(ReturnRequest.rma == spec.get("rma")))
            merchant = session.get(Merchant, ret.merchant_id) if ret is not None else None
            if ret is None or merchant is None:
                log.warning("outbox %s: no return %s for its label", msg.id, spec.get("rma"))
                continue
            out.append(
                (
                    "application/pdf",
                    str(spec.get("filename") or f"label-{ret.rma}.pdf"),
                    label_pdf(ret, merchant),
                )
            )
    return out


def build_email(session: Session, msg: OutboxMessage, settings: Settings | None = None) -> EmailMessage:
    settings = settings or get_settings()
    merchant = session.get(Merchant, msg.merchant_id) if msg.merchant_id else None
    email = EmailMessage()
    email["Subject"] = msg.subject
    email["From"] = formataddr((merchant.name if merchant else "", settings.mail_from))
    email["To"] = msg.to_address
    if merchant is not None and merchant.support_email:
        email["Reply-To"] = merchant.support_email
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = message_id(msg.dedupe_key, settings.mail_from)
    email["X-Returns-Event"] = msg.event
    email.set_content(msg.body_text)
    if msg.body_html:
        email.add_alternative(msg.body_html, subtype="html")
    for content_type, filename, data in _attachments(session, msg):
        maintype, _, subtype = content_type.partition("/")
        email.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return email


# --- transports ---------------------------------------------------------------------------------


class MailTransport(Protocol):
    name: str

    def send(self, msg: OutboxMessage, email: EmailMessage) -> str: ...


class FileTransport:
    """Development default: one `.eml` file per message under var/outbox/ (same name on a retry,
    written atomically, so a message is there once or not at all)."""

    name = "file"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, msg: OutboxMessage, email: EmailMessage) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{msg.id:06d}-{msg.event}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(bytes(email))
        os.replace(tmp, path)
        return str(path)


class SmtpTransport:
    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, msg: OutboxMessage, email: EmailMessage) -> str:
        s = self.settings
        try:
            client: smtplib.SMTP
            if s.smtp_ssl:
                client = smtplib.SMTP_SSL(
                    s.smtp_host, s.smtp_port, timeout=s.smtp_timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
            with client:
                if s.smtp_starttls and not s.smtp_ssl:
                    client.starttls(context=ssl.create_default_context())
                if s.smtp_user:
                    client.login(s.smtp_user, s.smtp_password.get_secret_value())
                refused = client.send_message(email, from_addr=s.mail_from, to_addrs=[msg.to_address])
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if refused:
            raise DeliveryError(f"refused: {refused}")
        return f"smtp {s.smtp_host}:{s.smtp_port}"


def mail_transport(settings: Settings | None = None) -> MailTransport:
    settings = settings or get_settings()
    if settings.smtp_host:
        return SmtpTransport(settings)
    return FileTransport(settings.outbox_dir)


def send_chat_notice(
    notice: ChatNotice, settings: Settings | None = None, client: httpx.Client | None = None
) -> str:
    """Rasa's trigger-intent API on the shopper's conversation; the bot's answer goes to the
    channel the shopper last used."""
    settings = settings or get_settings()
    url = f"{settings.rasa_url.rstrip('/')}/conversations/{notice.conversation_id}/trigger_intent"
    params = {"output_channel": "latest"}
    if settings.rasa_token is not None and settings.rasa_token.get_secret_value():
        params["token"] = settings.rasa_token.get_secret_value()
    body = {"name": notice.intent, "entities": notice.entities or {}}
    try:
        if client is not None:
            response = client.post(url, params=params, json=body, timeout=settings.chat_notice_timeout)
        else:
            with httpx.Client() as own:
                response = own.post(url, params=params, json=body, timeout=settings.chat_notice_timeout)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code // 100 != 2:
        raise DeliveryError(f"rasa answered {response.status_code}: {response.text[:300]}")
    return f"rasa {response.status_code}"


# --- the queue ----------------------------------------------------------------------------------


def backoff(attempts: int, settings: Settings) -> timedelta:
    seconds = settings.outbox_backoff_seconds * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(seconds, settings.outbox_backoff_max_seconds))


def _due(model: Any, now: datetime) -> Any:
    """Pending and due, or claimed by a worker whose lease ran out."""
    return or_(
        and_(model.status == "pending", or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now)),
        and_(model.status == "sending", model.next_attempt_at <= now),
    )


def claim(model: Any, now: datetime, settings: Settings, limit: int = BATCH) -> list[tuple[int, int]]:
    """Claim due rows one conditional UPDATE each; returns (id, attempt) of the rows won."""
    won: list[tuple[int, int]] = []
    with session_scope() as session:
        ids = list(session.scalars(select(model.id).where(_due(model, now)).order_by(model.id).limit(limit)))
    lease = now + timedelta(seconds=settings.outbox_lease_seconds)
    for row_id in ids:
        with session_scope() as session:
            result = cast(
                CursorResult[Any],
                session.execute(
                    update(model)
                    .where(model.id == row_id, _due(model, now))
                    .values(status="sending", attempts=model.attempts + 1, next_attempt_at=lease)
                    .execution_options(synchronize_session=False)
                ),
            )
            if result.rowcount == 1:
                attempt = session.scalar(select(model.attempts).where(model.id == row_id))
                won.append((row_id, int(attempt or 1)))
    return won


def _finish(
    queue: str,
    model: Any,
    row_id: int,
    attempt: int,
    *,
    transport: str,
    ok: bool,
    detail: str,
    now: datetime,
    settings: Settings,
) -> str:
    """Mark the row sent (with its delivery record, one transaction) or schedule the retry."""
    with session_scope() as session:
        claimed = and_(model.id == row_id, model.status == "sending", model.attempts == attempt)
        if ok:
            values: dict[str, Any] = {
                "status": "sent",
                "sent_at": now,
                "last_error": "",
                "next_attempt_at": None,
            }
            outcome = "sent"
        elif attempt >= settings.outbox_max_attempts:
            values = {"status": "failed", "last_error": detail[:2000], "next_attempt_at": None}
            outcome = "failed"
        else:
            values = {
                "status": "pending",
                "last_error": detail[:2000],
                "next_attempt_at": now + backoff(attempt, settings),
            }
            outcome = "retry"
        session.execute(
            update(model).where(claimed).values(**values).execution_options(synchronize_session=False)
        )
        session.add(
            DeliveryAttempt(
                queue=queue,
                message_id=row_id,
                attempt=attempt,
                outcome="sent" if ok else "error",
                transport=transport,
                detail=detail[:2000],
            )
        )
    return outcome


@dataclass
class RunStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.sent + self.retried + self.failed


def _count(stats: RunStats, outcome: str, detail: str) -> None:
    if outcome == "sent":
        stats.sent += 1
    else:
        stats.errors.append(detail)
        if outcome == "failed":
            stats.failed += 1
        else:
            stats.retried += 1


def deliver_emails(
    now: datetime | None = None, *, settings: Settings | None = None, transport: MailTransport | None = None
) -> RunStats:
    settings = settings or get_settings()
    now = now or utcnow()
    transport = transport or mail_transport(settings)
    stats = RunStats()
    for row_id, attempt in claim(OutboxMessage, now, settings):
        ok, detail = False, ""
        try:
            with session_scope() as session:
                msg = session.get(OutboxMessage, row_id)
                assert msg is not None
                email = build_email(session, msg, settings)
                session.expunge(msg)
            # No database transaction is open while the SMTP server is talked to.
            detail = transport.send(msg, email)
            ok = True
        except DeliveryError as exc:
            detail = str(exc)
        except Exception as exc:  # a template or attachment bug must not stop the worker
            log.exception("outbox %s: could not build or send", row_id)
            detail = f"{type(exc).__name__}: {exc}"
        outcome = _finish(
            "outbox",
            OutboxMessage,
            row_id,
            attempt,
            transport=transport.name,
            ok=ok,
            detail=detail,
            now=now,
            settings=settings,
        )
        if not ok:
            log.warning("outbox %s attempt %s: %s (%s)", row_id, attempt, detail, outcome)
        _count(stats, outcome, detail)
    return stats


def deliver_chat_notices(
    now: datetime | None = None, *, settings: Settings | None = None, client: httpx.Client | None = None
) -> RunStats:
    settings = settings or get_settings()
    now = now or utcnow()
    stats = RunStats()
    for row_id, attempt in claim(ChatNotice, now, settings):
        ok, detail = False, ""
        try:
            with session_scope() as session:
                notice = session.get(ChatNotice, row_id)
                assert notice is not None
                session.expunge(notice)
            detail = send_chat_notice(notice, settings, client)
            ok = True
        except DeliveryError as exc:
            detail = str(exc)
        except Exception as exc:
            log.exception("chat notice %s: could not send", row_id)
            detail = f"{type(exc).__name__}: {exc}"
        outcome = _finish(
            "chat",
            ChatNotice,
            row_id,
            attempt,
            transport="rasa",
            ok=ok,
            detail=detail,
            now=now,
            settings=settings,
        )
        if not ok:
            log.warning("chat notice %s attempt %s: %s (%s)", row_id, attempt, detail, outcome)
        _count(stats, outcome, detail)
    return stats


def run_once(now: datetime | None = None, *, settings: Settings | None = None) -> RunStats:
    """One pass over both queues."""
    settings = settings or get_settings()
    emails = deliver_emails(now, settings=settings)
    chats = deliver_chat_notices(now, settings=settings)
    return RunStats(
        sent=emails.sent + chats.sent,
        retried=emails.retried + chats.retried,
        failed=emails.failed + chats.failed,
        errors=emails.errors + chats.errors,
    )


def requeue_failed() -> int:
    with session_scope() as session:
        n = 0
        for model in (OutboxMessage, ChatNotice):
            result = cast(
                CursorResult[Any],
                session.execute(
                    update(model)
                    .where(model.status == "failed")
                    .values(status="pending", attempts=0, next_attempt_at=None)
                    .execution_options(synchronize_session=False)
                ),
            )
            n += result.rowcount or 0
    return n


# --- running it ---------------------------------------------------------------------------------


class Worker:
    """The worker loop in a daemon thread; `stop()` ends it between passes."""

    def __init__(self, poll_seconds: float | None = None) -> None:
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Worker:
        self._thread = threading.Thread(target=self._loop, name="outbox-worker", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _loop(self) -> None:
        log.info("outbox worker started")
        while not self._stop.is_set():
            try:
                stats = run_once()
                if stats.total:
                    log.info(
                        "outbox: %s sent, %s to retry, %s failed", stats.sent, stats.retried, stats.failed
                    )
            except Exception:  # the database may be briefly away: log, wait, go on
                log.exception("outbox worker pass failed")
            self._wake.wait(self.poll_seconds or get_settings().outbox_poll_seconds)
            self._wake.clear()
        log.info("outbox worker stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.services.mailer", description=__doc__.split("\n")[0])
    parser.add_argument("--once", action="store_true", help="one pass over the queues, then exit")
    parser.add_argument("--requeue-failed", action="store_true", help="put failed messages back to pending")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.requeue_failed:
        print(f"requeued {requeue_failed()} message(s)")
        return 0
    if args.once:
        stats = run_once()
        print(f"sent {stats.sent}, to retry {stats.retried}, failed {stats.failed}")
        return 0
    worker = Worker().start()
    try:
        while True:
            threading.Event().wait(3600)
    except KeyboardInterrupt:
        worker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
