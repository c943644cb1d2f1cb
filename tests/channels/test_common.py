"""The connectors' pure helpers (bot/channels/_common.py: standard library only, so they run here)."""

from __future__ import annotations

import json

import pytest

from bot.channels._common import (
    ButtonMemory,
    CallbackRegistry,
    RecentIds,
    api_base_url,
    callback_data_for,
    choose_button,
    largest_photo,
    photo_uploaded_message,
    render_numbered_options,
    setting,
    split_text,
    telegram_chat_id,
    telegram_text_to_rasa,
    twilio_signature,
)

BUTTONS = [
    {"title": "Refund", "payload": '/choose{"resolution": "refund"}'},
    {"title": "Exchange for another size", "payload": '/choose{"resolution": "exchange"}'},
    {"title": "Store credit", "payload": '/choose{"resolution": "store_credit"}'},
]


def test_photo_message_follows_the_contract() -> None:
    text = photo_uploaded_message(["ph_a", "ph_b"])
    assert text == '/photo_uploaded{"photo_ids": ["ph_a", "ph_b"]}'
    assert json.loads(text[len("/photo_uploaded") :]) == {"photo_ids": ["ph_a", "ph_b"]}


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("2", '/choose{"resolution": "exchange"}'),
        (" 2. ", '/choose{"resolution": "exchange"}'),
        ("3)", '/choose{"resolution": "store_credit"}'),
        ("option 1", '/choose{"resolution": "refund"}'),
        ("#1", '/choose{"resolution": "refund"}'),
        ("store CREDIT", '/choose{"resolution": "store_credit"}'),
        ("4", None),  # no fourth option
        ("0", None),
        ("100232", None),  # an order number is not a choice
        ("I want a refund please", None),
    ],
)
def test_numbered_reply_maps_to_the_button_payload(reply: str, expected: str | None) -> None:
    assert choose_button(reply, BUTTONS) == expected


def test_no_buttons_offered_means_no_mapping() -> None:
    assert choose_button("2", []) is None


def test_numbered_options_rendering() -> None:
    text = render_numbered_options("How would you like your money back?", BUTTONS)
    assert text.splitlines()[0] == "How would you like your money back?"
    assert "1. Refund\n2. Exchange for another size\n3. Store credit" in text
    assert text.endswith("Reply with the number of your choice.")


def test_split_text_respects_the_limit_and_paragraphs() -> None:
    text = "\n\n".join("p" * 30 for _ in range(10))
    parts = split_text(text, 100)
    assert all(len(p) <= 100 for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    assert split_text("x" * 250, 100) == ["x" * 100, "x" * 100, "x" * 50]
    assert split_text("  short  ", 100) == ["short"]
    assert split_text("", 100) == []


def test_callback_data_fits_telegrams_64_bytes() -> None:
    short = '/choose{"resolution": "refund"}'
    assert callback_data_for(short) == short
    long = '/choose{"resolution": "exchange", "variant": "size 10 (US) / 44 (EU), wide fit"}'
    data = callback_data_for(long)
    assert data != long and len(data.encode()) <= 64
    assert callback_data_for(long) == data  # deterministic: another instance computes the same
    registry = CallbackRegistry()
    assert registry.payload_for(registry.data_for(long)) == long
    assert registry.payload_for(short) == short
    assert CallbackRegistry().payload_for(data) is None  # a token this process never issued


def test_largest_photo_is_picked() -> None:
    sizes = [
        {"file_id": "s", "width": 90, "height": 90},
        {"file_id": "l", "width": 1280, "height": 960},
        {"file_id": "m", "width": 320, "height": 240},
    ]
    assert largest_photo(sizes)["file_id"] == "l"
    assert largest_photo([]) is None


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("/start", "/greet"),
        ("/start@ReturnsBot", "/greet"),
        ("/restart", "/restart"),
        ("/help", "help"),
        ("/order_status 100231", "order status 100231"),
        ('/inform{"order_number": "100231"}', '/inform{"order_number": "100231"}'),
        ("my vase arrived broken", "my vase arrived broken"),
    ],
)
def test_telegram_commands(typed: str, sent: str) -> None:
    assert telegram_text_to_rasa(typed) == sent


def test_telegram_chat_id() -> None:
    assert telegram_chat_id("telegram:12345") == "12345"
    assert telegram_chat_id("12345") == "12345"


def test_twilio_signature_matches_twilios_documented_example() -> None:
    # Twilio's published test vector (the SDKs' request-validator tests use it too).
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675309",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_setting_prefers_credentials_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "from-env")
    assert setting({"access_token": "from-file"}, "access_token", "TELEGRAM_BOT_TOKEN") == "from-file"
    assert setting({"access_token": ""}, "access_token", "TELEGRAM_BOT_TOKEN") == "from-env"
    assert setting(None, "access_token", "TELEGRAM_BOT_TOKEN") == "from-env"
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    assert setting({}, "access_token", "TELEGRAM_BOT_TOKEN", "dflt") == "dflt"
    monkeypatch.setenv("API_BASE_URL", "http://api.internal:8000/")
    assert api_base_url({}) == "http://api.internal:8000"
    monkeypatch.delenv("API_BASE_URL")
    assert api_base_url(None) == "http://127.0.0.1:8000"


def test_recent_ids_and_button_memory() -> None:
    recent = RecentIds(size=2)
    assert not recent.seen("a") and recent.seen("a")
    recent.seen("b"), recent.seen("c")
    assert not recent.seen("a")  # forgotten beyond the size
    memory = ButtonMemory()
    memory.remember("whatsapp:+1", BUTTONS)
    assert memory.take("whatsapp:+1") == BUTTONS
    assert memory.take("whatsapp:+1") is None  # taken by the next message


def test_attachment_link() -> None:
    from bot.channels._common import attachment_link

    assert attachment_link("https://x.example/label.pdf") == "https://x.example/label.pdf"
    assert attachment_link({"payload": {"src": "https://x.example/a.pdf", "title": "Label"}}) == (
        "Label: https://x.example/a.pdf"
    )
    assert attachment_link({"url": "https://x.example/b"}) == "https://x.example/b"
