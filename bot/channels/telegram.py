"""Telegram connector: text, inline-keyboard buttons and photos, over the Bot API webhook.

Rasa's built-in `telegram` channel calls api.telegram.org through aiogram (no other base URL,
so no loopback fake in tests), checks nothing but the bot's username, and drops photos. This
one:

- answers 403, processing nothing, unless the `X-Telegram-Bot-Api-Secret-Token` header equals
  the secret given to `setWebhook` (no secret configured: every request gets 403);
- text -> Rasa (`/start` greets); button presses (`callback_query`) -> the button's payload;
- photos (the largest size; also images sent as files): `getFile`, download from
  `{telegram_api_base}/file/bot{token}/{file_path}`, upload to `POST {API_BASE_URL}/api/v1/uploads`,
  then `/photo_uploaded{"photo_ids": [...]}`; an album (`media_group_id`) becomes one message;
- bot messages: `sendMessage` (buttons as an inline keyboard, one per row), images via
  `sendPhoto` (a link when Telegram cannot fetch the image).

credentials.yml (`bot.channels.telegram.TelegramInput`): `access_token`, `secret_token`,
`telegram_api_base`, `api_base_url`, `media_group_wait`; each falls back to the environment
($TELEGRAM_BOT_TOKEN, $TELEGRAM_SECRET_TOKEN, $TELEGRAM_API_BASE, $API_BASE_URL).
Webhook: POST /webhooks/telegram_returns/webhook. See docs/channels.md.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import mimetypes
import posixpath
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels._common import (
    TELEGRAM_TEXT_LIMIT,
    CallbackRegistry,
    RecentIds,
    api_base_url,
    attachment_link,
    button_payload,
    button_title,
    callback_data_for,
    largest_photo,
    photo_uploaded_message,
    setting,
    split_text,
    telegram_chat_id,
    telegram_text_to_rasa,
)
from bot.channels._runtime import (
    HTTP_TIMEOUT,
    NOT_A_PHOTO,
    PHOTO_FAILED,
    TOO_LARGE,
    KeyedLocks,
    MediaError,
    SerialTasks,
    fetch_media,
    gather_photo_ids,
    recent_bot_buttons,
    tracker_store_of,
    upload_photo,
)

logger = logging.getLogger(__name__)

CHANNEL_NAME = "telegram_returns"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_TELEGRAM_API_BASE = "https://api.telegram.org"
BUTTON_EXPIRED = "That button has expired. Please type your answer instead."
UNSUPPORTED = "Sorry, I can only read text messages and photos."
CHOOSE = "Please choose:"
UNSUPPORTED_KINDS = ("video", "voice", "audio", "sticker", "animation", "video_note")


class TelegramApiError(Exception):
    pass


class TelegramApi:
    """The few Bot API methods the connector uses, over aiohttp, against a configurable base."""

    def __init__(self, token: str, base: str = DEFAULT_TELEGRAM_API_BASE) -> None:
        self.token = token
        self.base = base.rstrip("/")

    def method_url(self, method: str) -> str:
        return f"{self.base}/bot{self.token}/{method}"

    def file_url(self, file_path: str) -> str:
        return f"{self.base}/file/bot{self.token}/{file_path}"

    async def call(
        self, method: str, payload: Mapping[str, Any], session: aiohttp.ClientSession | None = None
    ) -> Any:
        if not self.token:
            raise TelegramApiError(f"{method}: no bot token configured (TELEGRAM_BOT_TOKEN)")
        if session is None:
            async with aiohttp.ClientSession() as own:
                return await self.call(method, payload, own)
        for attempt in range(2):
            async with session.post(
                self.method_url(method), json=dict(payload), timeout=HTTP_TIMEOUT
            ) as resp:
                try:
                    body = await resp.json(content_type=None)
                except ValueError:
                    body = None
            if isinstance(body, dict) and body.get("ok"):
                return body.get("result")
            description = body.get("description", "") if isinstance(body, dict) else ""
            retry_after = (
                ((body or {}).get("parameters") or {}).get("retry_after") if isinstance(body, dict) else None
            )
            if resp.status == 429 and attempt == 0 and isinstance(retry_after, int) and retry_after <= 5:
                await asyncio.sleep(retry_after)
                continue
            raise TelegramApiError(f"{method}: {resp.status} {description}".strip())
        raise TelegramApiError(f"{method}: rate limited")


class TelegramOutput(OutputChannel):
    """Sends the bot's messages to a Telegram chat."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def __init__(self, api: TelegramApi, callbacks: CallbackRegistry | None = None) -> None:
        self.api = api
        self.callbacks = callbacks or CallbackRegistry()

    async def _send(self, method: str, payload: dict[str, Any]) -> Any:
        try:
            return await self.api.call(method, payload)
        except (TelegramApiError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
            logger.error("Telegram %s failed: %s", method, exc)
            return None

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in split_text(text or "", TELEGRAM_TEXT_LIMIT):
            await self._send("sendMessage", {"chat_id": telegram_chat_id(recipient_id), "text": part})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        keyboard = [
            [{"text": button_title(b), "callback_data": self.callbacks.data_for(button_payload(b))}]
            for b in buttons
            if button_payload(b)
        ]
        parts = split_text(text or "", TELEGRAM_TEXT_LIMIT) or [CHOOSE]
        chat_id = telegram_chat_id(recipient_id)
        for part in parts[:-1]:
            await self._send("sendMessage", {"chat_id": chat_id, "text": part})
        await self._send(
            "sendMessage",
            {"chat_id": chat_id, "text": parts[-1], "reply_markup": {"inline_keyboard": keyboard}},
        )

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        sent = await self._send("sendPhoto", {"chat_id": telegram_chat_id(recipient_id), "photo": image})
        if sent is None:  # Telegram could not fetch it (e.g. a URL only reachable here): send the link
            await self.send_text_message(recipient_id, image)

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        await self.send_text_message(recipient_id, attachment_link(attachment))

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        chat_id = telegram_chat_id(recipient_id)
        if json_message.get("photo"):
            payload = {"chat_id": chat_id, "photo": json_message["photo"]}
            caption = json_message.get("caption") or json_message.get("text")
            if caption:
                payload["caption"] = str(caption)[:1024]
            await self._send("sendPhoto", payload)
        elif json_message.get("text"):
            payload = {"chat_id": chat_id, "text": str(json_message["text"])[:TELEGRAM_TEXT_LIMIT]}
            if isinstance(json_message.get("reply_markup"), dict):
                payload["reply_markup"] = json_message["reply_markup"]
            await self._send("sendMessage", payload)
        elif json_message.get("url") or json_message.get("link"):
            await self.send_text_message(recipient_id, attachment_link(json_message))
        else:
            logger.debug("custom message without text, photo or link: not sent to Telegram")

    async def remove_keyboard(self, chat_id: Any, message_id: Any) -> None:
        """Take the buttons off a message once one was pressed (no second press)."""
        await self._send("editMessageReplyMarkup", {"chat_id": chat_id, "message_id": message_id})

    async def answer_callback(self, callback_query_id: str) -> None:
        """Stops the client's progress spinner on the pressed button."""
        await self._send("answerCallbackQuery", {"callback_query_id": callback_query_id})


@dataclass
class _MediaGroup:
    """Photos of one Telegram album: separate updates, delivered as one message."""

    uploads: list[tuple[int, asyncio.Future[str]]] = field(default_factory=list)
    last_added: float = 0.0
    closed: bool = False

    def add(self, message_id: int, upload: asyncio.Future[str]) -> None:
        self.uploads.append((message_id, upload))
        self.last_added = asyncio.get_running_loop().time()

    async def settle(self, wait: float) -> list[asyncio.Future[str]]:
        loop = asyncio.get_running_loop()
        while (remaining := self.last_added + wait - loop.time()) > 0:
            await asyncio.sleep(remaining)
        self.closed = True
        return [upload for _, upload in sorted(self.uploads, key=lambda item: item[0])]


@dataclass
class _FileRef:
    file_id: str
    mime_type: str = ""
    file_name: str = ""


class TelegramInput(InputChannel):
    """Receives Telegram updates on /webhooks/telegram_returns/webhook."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(
            access_token=setting(credentials, "access_token", "TELEGRAM_BOT_TOKEN"),
            secret_token=setting(credentials, "secret_token", "TELEGRAM_SECRET_TOKEN"),
            telegram_api_base=setting(
                credentials, "telegram_api_base", "TELEGRAM_API_BASE", DEFAULT_TELEGRAM_API_BASE
            ),
            api_base_url=api_base_url(credentials),
            media_group_wait=float(credentials.get("media_group_wait") or 1.0),
        )

    def __init__(
        self,
        access_token: str,
        secret_token: str,
        telegram_api_base: str = DEFAULT_TELEGRAM_API_BASE,
        api_base_url: str = "http://127.0.0.1:8000",
        media_group_wait: float = 1.0,
    ) -> None:
        self.secret_token = secret_token
        self.api_base_url = api_base_url.rstrip("/")
        self.media_group_wait = media_group_wait
        self.api = TelegramApi(access_token, telegram_api_base)
        self.output = TelegramOutput(self.api)
        self.tasks = SerialTasks()
        self._recent = RecentIds()
        self._groups: dict[str, _MediaGroup] = {}
        self._uploads = KeyedLocks()
        if not secret_token:
            logger.warning(
                "Telegram channel: no secret token (TELEGRAM_SECRET_TOKEN); every webhook "
                "request will be refused with 403."
            )
        if not access_token:
            logger.warning("Telegram channel: no bot token (TELEGRAM_BOT_TOKEN); the bot cannot answer.")

    def get_output_channel(self) -> OutputChannel:
        return self.output

    def _authentic(self, request: Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "")
        return bool(self.secret_token) and hmac.compare_digest(given.encode(), self.secret_token.encode())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        telegram_webhook = Blueprint(f"{CHANNEL_NAME}_webhook", __name__)

        @telegram_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @telegram_webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self._authentic(request):
                logger.warning("Telegram webhook: wrong or missing secret token from %s", request.ip)
                return response.json({"detail": "Forbidden."}, status=403)
            try:
                update = request.json
            except Exception:
                update = None
            if not isinstance(update, dict):
                return response.json({"detail": "Expected a Telegram Update (JSON object)."}, status=400)
            self.accept(update, on_new_message, tracker_store_of(request.app))
            return response.json({"ok": True})

        return telegram_webhook

    # -- incoming updates ------------------------------------------------------------------------

    def accept(
        self,
        update: dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        tracker_store: Any = None,
    ) -> None:
        """Queue the work an authentic update asks for; returns at once."""
        update_id = update.get("update_id")
        if update_id is not None and self._recent.seen(str(update_id)):
            logger.debug("Telegram update %s already handled", update_id)
            return
        if isinstance(update.get("callback_query"), dict):
            self._accept_button(update["callback_query"], on_new_message, tracker_store)
            return
        message = update.get("message")
        if not isinstance(message, dict):
            return  # edited messages, channel posts, inline queries: not for this bot
        chat = message.get("chat") or {}
        if chat.get("id") is None or chat.get("type", "private") != "private":
            return  # a returns conversation is private: groups are ignored
        sender_id = f"telegram:{chat['id']}"
        metadata: dict[str, Any] = {
            "telegram": {"chat_id": chat["id"], "message_id": message.get("message_id")}
        }
        file_ref = self._image_of(message)
        if file_ref is not None:
            if message.get("caption"):
                metadata["telegram"]["caption"] = message["caption"]
            self._accept_photo(sender_id, chat["id"], message, file_ref, on_new_message, metadata)
        elif isinstance(message.get("text"), str) and message["text"].strip():
            text = telegram_text_to_rasa(message["text"])
            self.tasks.submit(
                sender_id, lambda: on_new_message(self._user_message(text, sender_id, metadata))
            )
        elif message.get("document") or any(message.get(kind) for kind in UNSUPPORTED_KINDS):
            notice = NOT_A_PHOTO if message.get("document") else UNSUPPORTED
            self.tasks.submit(sender_id, lambda: self.output.send_text_message(sender_id, notice))

    def _user_message(self, text: str, sender_id: str, metadata: dict[str, Any]) -> UserMessage:
        return UserMessage(text, self.output, sender_id, input_channel=self.name(), metadata=metadata)

    @staticmethod
    def _image_of(message: Mapping[str, Any]) -> _FileRef | None:
        best = largest_photo(message.get("photo") or [])
        if best is not None and best.get("file_id"):
            return _FileRef(str(best["file_id"]), "image/jpeg")
        document = message.get("document")
        if (
            isinstance(document, dict)
            and str(document.get("mime_type", "")).startswith("image/")
            and document.get("file_id")
        ):
            return _FileRef(
                str(document["file_id"]), str(document["mime_type"]), str(document.get("file_name", ""))
            )
        return None

    def _accept_button(
        self,
        query: dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        tracker_store: Any,
    ) -> None:
        if query.get("id"):
            self.tasks.start(self.output.answer_callback(str(query["id"])))
        message = query.get("message") or {}
        chat = message.get("chat") or {}
        chat_id = chat.get("id", (query.get("from") or {}).get("id"))
        data = query.get("data")
        if chat_id is None or not data or chat.get("type", "private") != "private":
            return
        sender_id = f"telegram:{chat_id}"
        metadata = {"telegram": {"chat_id": chat_id, "message_id": message.get("message_id"), "button": True}}

        async def press() -> None:
            payload = self.output.callbacks.payload_for(data)
            if payload is None:
                payload = await self._payload_from_tracker(tracker_store, sender_id, data)
            if payload is None:
                await self.output.send_text_message(sender_id, BUTTON_EXPIRED)
                return
            if message.get("message_id") is not None:
                await self.output.remove_keyboard(chat_id, message["message_id"])
            await on_new_message(self._user_message(payload, sender_id, metadata))

        self.tasks.submit(sender_id, press)

    @staticmethod
    async def _payload_from_tracker(tracker_store: Any, sender_id: str, data: str) -> str | None:
        """A long payload sent by another Rasa instance (or before a restart): find it in the
        buttons the bot sent to this chat."""
        for buttons in await recent_bot_buttons(tracker_store, sender_id, since_last_user_message=False):
            for button in buttons:
                if callback_data_for(button_payload(button)) == data:
                    return button_payload(button)
        return None

    def _accept_photo(
        self,
        sender_id: str,
        chat_id: Any,
        message: Mapping[str, Any],
        file_ref: _FileRef,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        metadata: dict[str, Any],
    ) -> None:
        # The download and upload start now, concurrently; delivery to Rasa waits its turn.
        upload = self.tasks.start(self._fetch_and_upload(file_ref, sender_id))
        group_id = message.get("media_group_id")
        if group_id is None:
            self.tasks.submit(
                sender_id, lambda: self._deliver_photos(sender_id, [upload], on_new_message, metadata)
            )
            return
        key = f"{chat_id}/{group_id}"
        group = self._groups.get(key)
        if group is not None and not group.closed:
            group.add(int(message.get("message_id") or 0), upload)
            return
        group = _MediaGroup()
        group.add(int(message.get("message_id") or 0), upload)
        self._groups[key] = group

        async def deliver_album() -> None:
            uploads = await group.settle(self.media_group_wait)
            if self._groups.get(key) is group:
                del self._groups[key]
            await self._deliver_photos(sender_id, uploads, on_new_message, metadata)

        self.tasks.submit(sender_id, deliver_album)

    async def _fetch_and_upload(self, file_ref: _FileRef, sender_id: str) -> str:
        async with aiohttp.ClientSession() as session:
            try:
                info = await self.api.call("getFile", {"file_id": file_ref.file_id}, session)
            except (TelegramApiError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
                too_big = "too big" in str(exc).lower()
                raise MediaError(TOO_LARGE if too_big else PHOTO_FAILED, f"getFile failed: {exc}") from exc
            file_path = (info or {}).get("file_path") if isinstance(info, dict) else None
            if not file_path:
                raise MediaError(PHOTO_FAILED, "getFile gave no file_path")
            data, served_type = await fetch_media(session, self.api.file_url(file_path))
            content_type = (
                (file_ref.mime_type if file_ref.mime_type.startswith("image/") else "")
                or (served_type if served_type.startswith("image/") else "")
                or (mimetypes.guess_type(file_path)[0] or "image/jpeg")
            )
            filename = file_ref.file_name or posixpath.basename(file_path) or None
            async with self._uploads.hold(sender_id):  # an album's photos one after the other
                return await upload_photo(session, self.api_base_url, data, content_type, sender_id, filename)

    async def _deliver_photos(
        self,
        sender_id: str,
        uploads: list[asyncio.Future[str]],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        metadata: dict[str, Any],
    ) -> None:
        photo_ids, errors = await gather_photo_ids(uploads)
        for error in errors:
            logger.warning("Telegram photo from %s not used: %s", sender_id, error)
        if errors:
            await self.output.send_text_message(sender_id, errors[0].shopper_message)
        if photo_ids:
            await on_new_message(self._user_message(photo_uploaded_message(photo_ids), sender_id, metadata))
