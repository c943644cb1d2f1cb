"""Pure helpers shared by the channel connectors.

Standard library only and no Rasa import, so the Python 3.11 test environment can import it
too (the tests sign Twilio requests and build Telegram updates with the same rules).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

DEFAULT_API_BASE_URL = "http://127.0.0.1:8000"
PHOTO_INTENT = "/photo_uploaded"
REPLY_WITH_NUMBER = "Reply with the number of your choice."

# Telegram limits (Bot API): message text 4096 UTF-16 units, callback_data 1-64 bytes.
TELEGRAM_TEXT_LIMIT = 4000
TELEGRAM_CALLBACK_LIMIT = 64
CALLBACK_TOKEN_PREFIX = "~cb:"
# Twilio: a WhatsApp message body is at most 1600 characters.
WHATSAPP_TEXT_LIMIT = 1600


def setting(credentials: Mapping[str, Any] | None, key: str, env_name: str, default: str = "") -> str:
    """A connector setting: the credentials.yml value when given, else the environment, else default.

    Secrets are never written into credentials.yml: either `${ENV_VAR}` there (Rasa expands it,
    and refuses to start when the variable is unset) or left out, and then read from `env_name`
    here, which lets Rasa start without them (the channel then answers 403 to everything).
    """
    value = (credentials or {}).get(key)
    text = "" if value is None else str(value).strip()
    if not text:
        text = os.environ.get(env_name, "").strip()
    return text or default


def api_base_url(credentials: Mapping[str, Any] | None = None) -> str:
    """Where the backend API is (photo uploads): `api_base_url`, else $API_BASE_URL."""
    return setting(credentials, "api_base_url", "API_BASE_URL", DEFAULT_API_BASE_URL).rstrip("/")


def photo_uploaded_message(photo_ids: Iterable[str]) -> str:
    """The message the bot expects after photos were uploaded (docs/interfaces.md)."""
    return PHOTO_INTENT + json.dumps({"photo_ids": list(photo_ids)})


def split_text(text: str, limit: int) -> list[str]:
    """Split `text` into parts of at most `limit` characters, at a paragraph, line or word end."""
    text = text.strip()
    parts: list[str] = []
    while len(text) > limit:
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = text.rfind(separator, 0, limit + 1)
            if cut > 0:
                break
        if cut <= 0:
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


# -- buttons -----------------------------------------------------------------------------------


def button_payload(button: Mapping[str, Any]) -> str:
    return str(button.get("payload") or button.get("title") or "")


def button_title(button: Mapping[str, Any]) -> str:
    return str(button.get("title") or button.get("payload") or "")


def render_numbered_options(text: str, buttons: Sequence[Mapping[str, Any]]) -> str:
    """Buttons as a numbered list under the text (channels without buttons: WhatsApp)."""
    options = "\n".join(f"{number}. {button_title(button)}" for number, button in enumerate(buttons, 1))
    blocks = [block for block in ((text or "").strip(), options, REPLY_WITH_NUMBER) if block]
    return "\n\n".join(blocks)


_CHOICE = re.compile(r"^\s*(?:#|no\.?\s*|nr\.?\s*|option\s*)?(\d{1,2})\s*[.)]?\s*$", re.IGNORECASE)


def choose_button(reply: str, buttons: Sequence[Mapping[str, Any]]) -> str | None:
    """The payload the shopper picked by number ("2", "2.", "option 2") or by title; else None."""
    if not buttons or not reply:
        return None
    match = _CHOICE.match(reply)
    if match:
        index = int(match.group(1))
        if 1 <= index <= len(buttons):
            return button_payload(buttons[index - 1])
        return None
    wanted = " ".join(reply.split()).casefold()
    for button in buttons:
        if " ".join(button_title(button).split()).casefold() == wanted:
            return button_payload(button)
    return None


def attachment_link(attachment: Any) -> str:
    """A bot attachment (a URL, or a dict with a url/link/src and maybe a title) as text."""
    if not isinstance(attachment, dict):
        return str(attachment)
    inner = attachment.get("payload")
    fields: dict[str, Any] = inner if isinstance(inner, dict) else attachment
    url = str(fields.get("url") or fields.get("link") or fields.get("src") or "")
    title = str(fields.get("title") or fields.get("name") or "")
    return f"{title}: {url}" if title and url else url or title or str(attachment)


def callback_data_for(payload: str) -> str:
    """Telegram callback_data for a button payload: itself when it fits 64 bytes, else a token."""
    raw = payload.encode("utf-8")
    if 0 < len(raw) <= TELEGRAM_CALLBACK_LIMIT and not payload.startswith(CALLBACK_TOKEN_PREFIX):
        return payload
    return CALLBACK_TOKEN_PREFIX + hashlib.sha256(raw).hexdigest()[:32]


def is_callback_token(data: str) -> bool:
    return data.startswith(CALLBACK_TOKEN_PREFIX)


# -- Telegram ----------------------------------------------------------------------------------


def largest_photo(sizes: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The biggest of the PhotoSize objects Telegram sends for one photo."""
    if not sizes:
        return None
    return max(
        sizes, key=lambda s: (int(s.get("width", 0)) * int(s.get("height", 0)), int(s.get("file_size", 0)))
    )


_COMMAND = re.compile(r"^/([A-Za-z0-9_]+)(?:@[A-Za-z0-9_]+)?(?:\s+(.*))?$", re.DOTALL)


def telegram_text_to_rasa(text: str) -> str:
    """Telegram bot commands as the bot understands them.

    `/start` (the first message of every Telegram chat) greets; `/restart` stays Rasa's restart;
    any other `/command args` becomes plain text for NLU, since Rasa would read `/help` as an
    unknown intent. Text that is not a bare command (e.g. `/intent{...}`) is left as it is.
    """
    match = _COMMAND.match(text.strip())
    if not match:
        return text
    command, rest = match.group(1).lower(), (match.group(2) or "").strip()
    if command == "start":
        return "/greet"
    if command == "restart":
        return "/restart"
    return f"{command.replace('_', ' ')} {rest}".strip()


def telegram_chat_id(recipient_id: str) -> str:
    """Our sender ids are `telegram:<chat id>`; Telegram wants the bare chat id."""
    return recipient_id.split(":", 1)[1] if recipient_id.startswith("telegram:") else recipient_id


# -- Twilio ------------------------------------------------------------------------------------


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str | Sequence[str]]) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 (key: auth token) of the full URL followed by every
    POST parameter name and value, sorted by name (case-sensitive)."""
    payload = url
    for name in sorted(params):
        values = params[name]
        for value in sorted([values] if isinstance(values, str) else values):
            payload += name + value
    digest = hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def filename_for(content_type: str, stem: str = "photo") -> str:
    extension = {
        "image/jpeg": ".jpg",
        "image/jpg": ".jpg",
        "image/png": ".png",
        "image/webp": ".webp",
        "image/gif": ".gif",
        "image/heic": ".heic",
    }.get(content_type.split(";")[0].strip().lower(), ".jpg")
    return stem + extension


# -- small in-memory state ---------------------------------------------------------------------


class RecentIds:
    """Remembers the last `size` ids: providers redeliver a webhook when an answer was lost."""

    def __init__(self, size: int = 2048) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def seen(self, key: str) -> bool:
        """True when `key` was seen before; remembers it otherwise."""
        if key in self._ids:
            self._ids.move_to_end(key)
            return True
        self._ids[key] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return False


class ButtonMemory:
    """The buttons last offered to each sender, until the sender's next message takes them."""

    def __init__(self, ttl_seconds: float = 24 * 3600, max_senders: int = 10_000) -> None:
        self._offers: OrderedDict[str, tuple[float, list[dict[str, Any]]]] = OrderedDict()
        self._ttl = ttl_seconds
        self._max = max_senders

    def remember(self, sender_id: str, buttons: Sequence[Mapping[str, Any]]) -> None:
        self._offers[sender_id] = (time.monotonic(), [dict(b) for b in buttons])
        self._offers.move_to_end(sender_id)
        while len(self._offers) > self._max:
            self._offers.popitem(last=False)

    def take(self, sender_id: str) -> list[dict[str, Any]] | None:
        """The offer, removed (None when nothing was offered since the sender's last message)."""
        offer = self._offers.pop(sender_id, None)
        if offer is None or time.monotonic() - offer[0] > self._ttl:
            return None
        return offer[1]


class CallbackRegistry:
    """Telegram callback tokens -> the long payloads they stand for (see callback_data_for)."""

    def __init__(self, size: int = 10_000) -> None:
        self._payloads: OrderedDict[str, str] = OrderedDict()
        self._size = size

    def data_for(self, payload: str) -> str:
        data = callback_data_for(payload)
        if data != payload:
            self._payloads[data] = payload
            self._payloads.move_to_end(data)
            while len(self._payloads) > self._size:
                self._payloads.popitem(last=False)
        return data

    def payload_for(self, data: str) -> str | None:
        """The payload for callback data; None for a token this process did not issue."""
        if not is_callback_token(data):
            return data
        return self._payloads.get(data)
