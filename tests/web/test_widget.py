"""The chat widget in Chromium, against the real API and a stand-in for Rasa's socketio channel.

Fast and deterministic: the stand-in (tests/web/fake_rasa.py) answers from a script, so these
tests pin the widget's own behaviour (quick replies, links, photos, persistence, reconnecting,
keyboard, phone layout). The full return with the real bot is tests/e2e/test_widget_browser.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import demo_photo
from tests.web.browser import PHONE, expect, outside_requests, screenshot
from tests.web.conftest import Shop

pytestmark = pytest.mark.browser

LAUNCHER = "Open chat: Acme Outfitters"
BOT = ".ra-from-bot .ra-bubble"
USER = ".ra-from-user .ra-bubble"


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 860})
    ctx.set_default_timeout(15000)
    yield ctx
    ctx.close()


def open_chat(page: Any, shop: Shop, path: str = "/") -> None:
    page.goto(shop.api + path)
    page.get_by_role("button", name=LAUNCHER).click()
    expect()(page.get_by_role("dialog", name="Acme Outfitters")).to_be_visible()


def say(page: Any, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def test_conversation_text_buttons_links(shop: Shop, context: Any) -> None:
    page = context.new_page()
    foreign = outside_requests(page, {"127.0.0.1"})
    open_chat(page, shop)
    log = page.get_by_role("log")
    expect()(log).to_contain_text("What is your order number?")  # data-greeting, shown locally
    expect()(page.get_by_role("textbox", name="Message")).to_be_focused()

    say(page, "hello there")
    expect()(page.locator(USER).last).to_have_text("You: hello there")
    expect()(page.locator(BOT).last).to_contain_text("You said: hello there")

    say(page, "buttons")
    group = page.get_by_role("group", name="Suggested replies").last
    expect()(group.get_by_role("button")).to_have_count(2)
    screenshot(page, "widget-quick-replies")
    group.get_by_role("button", name="Store credit").click()
    expect()(page.locator(USER).last).to_have_text("You: Store credit")  # the title, not the payload
    expect()(page.locator(BOT).last).to_contain_text("You chose choice=store_credit")
    expect()(group.get_by_role("button", name="Refund")).to_be_disabled()
    assert '/inform{"choice": "store_credit"}' in shop.rasa.messages()

    say(page, "label")
    pdf = page.get_by_role("link", name=re.compile("Download your label"))
    expect()(pdf).to_have_attribute("href", f"{shop.api}/api/v1/returns/RMA-1/label.pdf?token=t")
    expect()(pdf).to_have_attribute("target", "_blank")
    expect()(pdf).to_have_attribute("rel", "noopener noreferrer")
    expect()(page.locator(".ra-log img.ra-image")).to_have_attribute(
        "src", f"{shop.api}/web/static/img/vase.svg"
    )
    expect()(page.locator(f'.ra-log a[href="{shop.api}/orders"]')).to_have_text(
        f"{shop.api}/orders (opens in a new tab)"
    )  # a bare URL, without the sentence's full stop
    expect()(page.locator(BOT).last).to_contain_text("[bad link](javascript:alert(1))")  # text, not a link
    assert page.locator('.ra-log a[href^="javascript"]').count() == 0
    screenshot(page, "widget-links-and-image")

    say(page, '<img src=x onerror="window.pwned=1"><b>bold</b>')
    expect()(page.locator(BOT).last).to_contain_text('You said: <img src=x onerror="window.pwned=1">')
    assert page.locator(".ra-log b, .ra-log img[src='x']").count() == 0
    assert page.evaluate("window.pwned") is None

    sent = shop.rasa.received()
    assert {item["session_id"] for item in sent if item["message"] == "hello there"} == {
        page.evaluate("window.ReturnsAssistant.sessionId()")
    }
    assert sent[0]["metadata"] == {"merchant": "acme"}
    assert foreign == []


def test_conversation_survives_reload_and_is_shared_between_tabs(shop: Shop, context: Any) -> None:
    page = context.new_page()
    open_chat(page, shop)
    say(page, "first message")
    expect()(page.locator(BOT).last).to_contain_text("You said: first message")
    session = page.evaluate("window.ReturnsAssistant.sessionId()")

    page.reload()
    expect()(page.get_by_role("dialog")).to_be_visible()  # stays open in this tab
    expect()(page.get_by_role("log")).to_contain_text("You said: first message")
    assert page.evaluate("window.ReturnsAssistant.sessionId()") == session
    screenshot(page, "widget-after-reload")

    other = context.new_page()  # a second tab: same localStorage, same conversation
    open_chat(other, shop, "/orders")
    expect()(other.get_by_role("log")).to_contain_text("You said: first message")
    say(other, "from the second tab")
    expect()(other.locator(BOT).last).to_contain_text("You said: from the second tab")
    # the first tab follows: the user's line through storage, the reply through the session room
    expect()(page.locator(USER).last).to_have_text("You: from the second tab")
    expect()(page.locator(BOT).last).to_contain_text("You said: from the second tab")
    page.wait_for_timeout(500)
    assert page.locator(BOT).filter(has_text="from the second tab").count() == 1
    assert other.locator(BOT).filter(has_text="from the second tab").count() == 1

    page.get_by_role("button", name="Start a new conversation").click()
    assert page.evaluate("window.ReturnsAssistant.sessionId()") != session
    expect()(page.get_by_role("log")).not_to_contain_text("first message")


def test_message_typed_while_connecting_on_a_slow_phone(shop: Shop, context: Any) -> None:
    """A shopper who types at once on a slow phone and link: the socket is still connecting.

    With 100 ms of latency and half the CPU, the first message used to make the widget open the
    connection a second time; the server refused the duplicate and the message waited forever.
    """
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 2})
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 100, "downloadThroughput": -1, "uploadThroughput": -1},
    )

    def namespace_connect(request: Any) -> bool:  # the socket.io CONNECT, sent once the engine is open
        return "/socket.io/" in request.url and request.method == "POST" and request.post_data == "40"

    with page.expect_request(namespace_connect):
        open_chat(page, shop)
    say(page, "typed while connecting")  # the server's answer to the CONNECT is still on its way
    expect()(page.locator(BOT).last).to_contain_text("You said: typed while connecting")
    expect()(page.get_by_role("dialog")).not_to_contain_text("Can't reach the assistant")
    assert shop.rasa.messages().count("typed while connecting") == 1


# Every text the widget's status line shows, in order, from the page's first moment: a status
# that lasts only until the next retry (3 s) is seen however slowly the test itself runs.
STATUS_LOG = """
window.__raStatusLog = [];
new MutationObserver(() => {
  for (const line of document.querySelectorAll('[role="status"]')) {
    const log = window.__raStatusLog;
    if (log[log.length - 1] !== line.textContent) log.push(line.textContent);
  }
}).observe(document, { subtree: true, childList: true, characterData: true });
"""


def test_refused_connection_is_retried(shop: Shop, context: Any) -> None:
    """A server that refuses the connection once (socket.io does not retry that by itself)."""
    shop.rasa.refuse(1)
    page = context.new_page()
    page.add_init_script(STATUS_LOG)
    open_chat(page, shop)
    say(page, "after a refusal")
    expect()(page.locator(BOT).last).to_contain_text("You said: after a refusal")
    shown = page.evaluate("window.__raStatusLog")
    assert any("Can't reach the assistant. Retrying" in text for text in shown), shown
    expect()(page.get_by_role("dialog")).not_to_contain_text("Can't reach the assistant")
    assert shop.rasa.messages().count("after a refusal") == 1


def test_photos_are_uploaded_then_announced_once(shop: Shop, context: Any, tmp_path: Path) -> None:
    from sqlalchemy import select

    from api.db import session_scope
    from api.models import Photo

    page = context.new_page()
    open_chat(page, shop)
    session = page.evaluate("window.ReturnsAssistant.sessionId()")

    # a size check before any upload
    big = tmp_path / "huge.jpg"
    big.write_bytes(b"\xff\xd8\xff" + b"0" * (10 * 1024 * 1024 + 10))
    page.locator("input.ra-file").first.set_input_files(str(big))
    expect()(page.locator(".ra-tray-error")).to_contain_text("10 MB or smaller")
    assert page.locator(".ra-preview").count() == 0

    photos = [demo_photo("damaged"), demo_photo("intact")]
    page.locator("input.ra-file").first.set_input_files([str(p) for p in photos])
    expect()(page.locator(".ra-preview img")).to_have_count(2)
    expect()(page.get_by_role("button", name="Send 2 photos")).to_be_visible()
    screenshot(page, "widget-photo-preview")
    page.get_by_role("button", name="Send 2 photos").click()

    expect()(page.locator(".ra-from-user .ra-photos img")).to_have_count(2)
    expect()(page.locator(".ra-from-user .ra-photos")).to_contain_text("2 photos sent")
    expect()(page.locator(BOT).last).to_contain_text("I got 2 photo(s)")
    screenshot(page, "widget-photos-sent")
    commands = [m for m in shop.rasa.messages() if m.startswith("/photo_uploaded")]
    assert len(commands) == 1
    ids = json.loads(commands[0][len("/photo_uploaded") :])["photo_ids"]
    assert len(ids) == 2
    assert page.locator(".ra-log").inner_text().count("/photo_uploaded") == 0
    with session_scope() as db:
        stored = db.scalars(select(Photo).where(Photo.id.in_(ids))).all()
        assert {p.conversation_id for p in stored} == {session}

    # a 4xx from the API shows its detail in the chat
    fake = tmp_path / "not-a-photo.png"
    fake.write_bytes(b"this is text, not a PNG")
    page.locator("input.ra-file").first.set_input_files(str(fake))
    page.get_by_role("button", name="Send photo").click()
    notice = page.locator(".ra-from-system .ra-bubble").last
    expect()(notice).to_contain_text("not-a-photo.png:")
    assert len([m for m in shop.rasa.messages() if m.startswith("/photo_uploaded")]) == 1

    page.reload()  # thumbnails are kept with the conversation
    expect()(page.locator(".ra-from-user .ra-photos img")).to_have_count(2)


def test_messages_typed_offline_are_sent_after_reconnecting(shop: Shop, context: Any) -> None:
    page = context.new_page()
    open_chat(page, shop)
    say(page, "before the outage")
    expect()(page.locator(BOT).last).to_contain_text("You said: before the outage")

    shop.rasa.stop()
    expect()(page.locator(".ra-status")).to_contain_text(re.compile("Reconnecting|Retrying"))
    say(page, "during the outage")
    expect()(page.locator(".ra-pending")).to_contain_text("Waiting for connection")
    screenshot(page, "widget-offline-queue")
    shop.rasa.start()  # same port: socket.io reconnects, the widget resends
    expect()(page.locator(BOT).last).to_contain_text("You said: during the outage", timeout=30000)
    expect()(page.locator(".ra-pending")).to_have_count(0)
    assert shop.rasa.messages().count("during the outage") == 1


def test_keyboard_and_screen_reader(shop: Shop, context: Any) -> None:
    page = context.new_page()
    page.goto(shop.api + "/")
    launcher = page.get_by_role("button", name=LAUNCHER)
    expect()(launcher).to_have_attribute("aria-expanded", "false")
    launcher.focus()
    page.keyboard.press("Enter")
    expect()(page.get_by_role("textbox", name="Message")).to_be_focused()
    log = page.get_by_role("log")
    expect()(log).to_have_attribute("aria-live", "polite")
    for name in ("Add photos", "Send message", "Close chat", "Start a new conversation"):
        expect()(page.get_by_role("button", name=name, exact=True)).to_be_visible()
    page.keyboard.press("Escape")
    expect()(page.get_by_role("dialog")).to_be_hidden()
    expect()(launcher).to_be_focused()
    expect()(launcher).to_have_attribute("aria-expanded", "false")


def test_phone_width_is_full_screen_with_camera(shop: Shop, browser: Any) -> None:
    ctx = browser.new_context(**PHONE)
    try:
        page = ctx.new_page()
        page.goto(shop.api + "/orders")
        screenshot(page, "phone-orders")
        page.get_by_role("button", name=LAUNCHER).click()
        dialog = page.get_by_role("dialog", name="Acme Outfitters")
        expect()(dialog).to_be_visible()
        box = dialog.bounding_box()
        assert box is not None and box["width"] == 390 and box["height"] == 844
        camera = page.get_by_role("button", name="Take a photo")
        expect()(camera).to_be_visible()
        assert page.locator("input.ra-file[capture='environment']").count() == 1
        say(page, "hi from a phone")
        expect()(page.locator(BOT).last).to_contain_text("You said: hi from a phone")
        screenshot(page, "phone-chat")
        page.get_by_role("button", name="Close chat", exact=True).click()
        expect()(page.get_by_role("button", name=LAUNCHER)).to_be_visible()
    finally:
        ctx.close()


def test_order_page_button_drafts_a_message(shop: Shop, context: Any) -> None:
    page = context.new_page()
    page.goto(shop.api + "/orders")
    page.locator('[data-order="100232"]').get_by_role("button", name="Ask about this order").click()
    expect()(page.get_by_role("textbox", name="Message")).to_have_value(
        "I want to return something from order 100232"
    )


def test_rasa_webchat_page_exchanges_a_message(shop: Shop, context: Any) -> None:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    foreign = outside_requests(page, {"127.0.0.1"})
    page.goto(shop.api + "/webchat")
    replies = page.locator(".rw-response .rw-message-text")
    expect()(replies.first).to_contain_text("You said: /greet")  # rasa-webchat's initPayload
    box = page.locator(".rw-new-message")
    box.fill("hello webchat")
    box.press("Enter")
    expect()(replies.last).to_contain_text("You said: hello webchat")
    screenshot(page, "rasa-webchat")
    assert "hello webchat" in shop.rasa.messages()
    assert errors == []
    assert foreign == []
