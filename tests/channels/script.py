"""What the harness's scripted agent answers (shared by the harness and the tests; stdlib only)."""

from __future__ import annotations

import json
from typing import Any

LONG_PAYLOAD = '/choose_resolution{"resolution": "exchange", "variant": "size 10 (US) / 44 (EU), wide fit"}'
BUTTONS = [
    {"title": "Refund to my card", "payload": '/choose_resolution{"resolution": "refund"}'},
    {"title": "Exchange for another size", "payload": LONG_PAYLOAD},
]
PUBLIC_IMAGE = "https://cdn.example.com/labels/RMA-1.png"
LOCAL_IMAGE = "http://127.0.0.1:8000/api/v1/returns/RMA-1/label.png"


def respond_to(text: str) -> list[dict[str, Any]]:
    """The bot messages (Rasa response dicts) for a user message."""
    if text == "buttons":
        return [{"text": "How would you like to be refunded?", "buttons": [dict(b) for b in BUTTONS]}]
    if text == "image":
        return [{"text": "Here is your label:", "image": PUBLIC_IMAGE}]
    if text == "local image":
        return [{"image": LOCAL_IMAGE}]
    if text == "long":
        return [{"text": "\n\n".join(f"Paragraph {i}: " + "lorem ipsum " * 40 for i in range(20))}]
    if text == "custom":
        return [{"custom": {"text": "custom hello"}}]
    if text.startswith("/photo_uploaded"):
        photo_ids = json.loads(text[len("/photo_uploaded") :])["photo_ids"]
        return [{"text": f"Thanks, I got {len(photo_ids)} photo(s)."}]
    return [{"text": f"echo: {text}"}]
