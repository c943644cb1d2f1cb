"""Fixtures for the after-chat tests: a real SMTP server on loopback (aiosmtpd), mail settings."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest

from tests.after_chat.shopify_fake import FakeShopify, use_shopify
from tests.support import free_port


class Inbox:
    """An SMTP server on 127.0.0.1 that keeps what it receives; it can be down and come up."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        parsed = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default
        )
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def events(self) -> list[str]:
        return [str(m["X-Returns-Event"]) for m in self.messages]

    def by_event(self, event: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["X-Returns-Event"] == event]


def use_smtp(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    from api.settings import get_settings

    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    monkeypatch.setenv("SMTP_TIMEOUT", "3")
    get_settings.cache_clear()


@pytest.fixture
def inbox(database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """Mail settings point at a loopback SMTP server that is NOT started yet (call .start())."""
    box = Inbox(free_port())
    use_smtp(monkeypatch, box.port)
    yield box
    box.stop()


@pytest.fixture
def running_inbox(inbox: Inbox) -> Inbox:
    inbox.start()
    return inbox


@pytest.fixture
def shopify(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeShopify]:
    """ORDER_SOURCE=shopify, pointing at a loopback Shopify Admin GraphQL API (shopify_fake.py)."""
    from api.settings import get_settings

    fake = FakeShopify()
    use_shopify(monkeypatch, fake.url)
    yield fake
    fake.close()
    get_settings.cache_clear()
