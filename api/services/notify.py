"""Shopper emails, written to the outbox in the same transaction as the change they announce.

Delivery (SMTP or the local mailbox) is the outbox worker's job; a message is never sent twice
because each carries a unique dedupe key.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import Merchant, OutboxMessage

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"

SUBJECTS = {
    "return_requested": "We received your return request {rma}",
    "return_under_review": "Your return {rma} is being reviewed",
    "return_approved": "Your return {rma} is approved",
    "return_rejected": "About your return request {rma}",
    "pickup_scheduled": "Pickup booked for your return {rma}",
    "return_cancelled": "Your return {rma} is cancelled",
    "more_photos_requested": "We need another photo for your return {rma}",
    "courier_dispatched": "The courier is on the way for your return {rma}",
    "picked_up": "Your return {rma} is on its way to us",
    "received_at_warehouse": "We received your return {rma}",
    "refund_issued": "Your refund for return {rma} is issued",
    "exchange_shipped": "Your exchange for return {rma} is on its way",
    "store_credit_issued": "Your store credit for return {rma}",
}

# Emails that carry the return label as a PDF (built by the worker when it sends).
LABEL_EVENTS = {"pickup_scheduled"}


@lru_cache
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(event: str, context: dict[str, Any]) -> tuple[str, str, str]:
    env = _env()
    text = env.get_template(f"{event}.txt").render(**context)
    html_name = f"{event}.html"
    html = env.get_template(html_name).render(**context) if (TEMPLATES / html_name).exists() else ""
    return SUBJECTS[event].format(**context), text, html


def enqueue(
    session: Session,
    *,
    merchant: Merchant,
    event: str,
    to: str,
    dedupe_key: str,
    context: dict[str, Any],
) -> OutboxMessage | None:
    """Queue one email; a second call with the same dedupe key queues nothing."""
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)):
        return None
    branding = {
        "merchant": merchant.name,
        "brand_color": merchant.brand_color or "#1f6feb",
        "support_email": merchant.support_email or "",
    }
    subject, text, html = render(event, {**branding, **context})
    attachments: list[dict[str, Any]] = []
    if event in LABEL_EVENTS and context.get("rma"):
        attachments.append(
            {"type": "label_pdf", "rma": context["rma"], "filename": f"return-label-{context['rma']}.pdf"}
        )
    message = OutboxMessage(
        merchant_id=merchant.id,
        dedupe_key=dedupe_key,
        event=event,
        to_address=to,
        subject=subject,
        body_text=text,
        body_html=html,
        attachments=attachments,
    )
    session.add(message)
    return message
