"""WhatsApp connector through Twilio: text, buttons as numbered options, and photos.

- answers 403, processing nothing, unless `X-Twilio-Signature` is Twilio's signature of the
  request (HMAC-SHA1 with the auth token over the full webhook URL plus the sorted POST
  parameters, checked with the Twilio SDK's RequestValidator that Rasa already depends on);
- text -> Rasa; when the bot's last message offered buttons, "2" (or the button's title)
  becomes the second button's payload; the offer is remembered per sender in memory, with
  the conversation tracker as fallback (after a restart, or with several Rasa instances);
- photos (`NumMedia`, `MediaUrl0..9`, `MediaContentType0..9`): each image is downloaded with
  HTTP basic auth, uploaded to `POST {API_BASE_URL}/api/v1/uploads`, then the bot gets one
  `/photo_uploaded{"photo_ids": [...]}`;
- replies go through the Messages REST API: `POST {twilio_api_base}/2010-04-01/Accounts/{sid}/
  Messages.json` (form-encoded From/To/Body/MediaUrl, basic auth); the webhook itself answers an
  empty TwiML `<Response/>`.

credentials.yml (`bot.channels.twilio_whatsapp.TwilioWhatsAppInput`): `account_sid`,
`auth_token`, `whatsapp_number` (`whatsapp:+14155238886`) or `messaging_service_sid`,
`api_key_sid`/`api_key_secret` (optional, for REST and media instead of the auth token),
`webhook_url` (the public URL Twilio calls, when a proxy rewrites it), `twilio_api_base`,
`api_base_url`; each falls back to $TWILIO_<NAME> ($API_BASE_URL for the last).
Webhook: POST /webhooks/twilio_whatsapp/webhook. See docs/channels.md.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot.channels._common import (
    WHATSAPP_TEXT_LIMIT,
    ButtonMemory,
    RecentIds,
    api_base_url,
    attachment_link,
    choose_button,
    photo_uploaded_message,
    render_numbered_options,
    setting,
    split_text,
)
from bot.channels._runtime import (
    HTTP_TIMEOUT,
    NOT_A_PHOTO,
    KeyedLocks,
    SerialTasks,
    fetch_media,
    gather_photo_ids,
    recent_bot_buttons,
    tracker_store_of,
    upload_photo,
)

logger = logging.getLogger(__name__)

CHANNEL_NAME = "twilio_whatsapp"
SIGNATURE_HEADER = "X-Twilio-Signature"
DEFAULT_TWILIO_API_BASE = "https://api.twilio.com"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
MAX_MEDIA = 10
SHORT_REPLY = 40  # longer replies are never a pick from numbered options


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class _FormParams(dict):  # type: ignore[type-arg]
    """The POST parameters, blank ones included: Twilio signs those too, and Sanic's
    `request.form` drops them. `getlist` is what the SDK's RequestValidator reads."""

    @classmethod
    def parse(cls, request: Request) -> _FormParams:
        if not (request.content_type or "").startswith("application/x-www-form-urlencoded"):
            return cls()
        try:
            return cls(parse_qs(request.body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            return cls()

    def getlist(self, name: str) -> list[str]:
        return list(self[name])


class TwilioWhatsAppOutput(OutputChannel):
    """Sends the bot's messages with Twilio's Messages API."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        whatsapp_number: str = "",
        messaging_service_sid: str = "",
        twilio_api_base: str = DEFAULT_TWILIO_API_BASE,
        api_key_sid: str = "",
        api_key_secret: str = "",
    ) -> None:
        self.account_sid = account_sid
        self.whatsapp_number = whatsapp_number
        self.messaging_service_sid = messaging_service_sid
        self.api_base = twilio_api_base.rstrip("/")
        self.auth = (
            aiohttp.BasicAuth(api_key_sid, api_key_secret)
            if api_key_sid and api_key_secret
            else aiohttp.BasicAuth(account_sid, auth_token)
            if account_sid and auth_token
            else None
        )
        self.buttons = ButtonMemory()

    @property
    def messages_url(self) -> str:
        return f"{self.api_base}/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    async def create_message(self, to: str, body: str = "", media_url: str = "") -> dict[str, Any] | None:
        if self.auth is None or not (self.whatsapp_number or self.messaging_service_sid):
            logger.error(
                "Twilio WhatsApp: not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, "
                "TWILIO_WHATSAPP_NUMBER); message to %s not sent",
                to,
            )
            return None
        if not to.startswith("whatsapp:"):
            to = "whatsapp:" + to
        form = {"To": to}
        if self.messaging_service_sid:
            form["MessagingServiceSid"] = self.messaging_service_sid
        else:
            form["From"] = self.whatsapp_number
        if body:
            form["Body"] = body
        if media_url:
            form["MediaUrl"] = media_url
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.post(self.messages_url, data=form, auth=self.auth, timeout=HTTP_TIMEOUT) as resp,
            ):
                try:
                    answer = await resp.json(content_type=None)
                except ValueError:
                    answer = None
                if resp.status in (200, 201):
                    return answer if isinstance(answer, dict) else {}
                detail = answer.get("message", "") if isinstance(answer, dict) else ""
                logger.error("Twilio Messages API answered %s: %s", resp.status, detail)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            logger.error("Twilio Messages API failed: %r", exc)
        return None

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in split_text(text or "", WHATSAPP_TEXT_LIMIT):
            await self.create_message(recipient_id, body=part)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        self.buttons.remember(recipient_id, buttons)
        await self.send_text_message(recipient_id, render_numbered_options(text, buttons))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        if await self.create_message(recipient_id, media_url=image) is None:
            await self.send_text_message(recipient_id, image)

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        await self.send_text_message(recipient_id, attachment_link(attachment))

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        body = str(json_message.get("text") or json_message.get("body") or "")
        media = str(json_message.get("media_url") or json_message.get("image") or "")
        link = str(json_message.get("url") or json_message.get("link") or "")
        if link and not media:
            body = f"{body} {link}".strip()
        if media:
            await self.create_message(recipient_id, body=body[:WHATSAPP_TEXT_LIMIT], media_url=media)
        elif body:
            await self.send_text_message(recipient_id, body)
        else:
            logger.debug("custom message without text, media or link: not sent to WhatsApp")


class TwilioWhatsAppInput(InputChannel):
    """Receives Twilio's WhatsApp webhooks on /webhooks/twilio_whatsapp/webhook."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}

        def get(key: str, default: str = "") -> str:
            return setting(credentials, key, f"TWILIO_{key.upper()}", default)

        return cls(
            account_sid=get("account_sid"),
            auth_token=get("auth_token"),
            whatsapp_number=get("whatsapp_number"),
            messaging_service_sid=get("messaging_service_sid"),
            api_key_sid=get("api_key_sid"),
            api_key_secret=get("api_key_secret"),
            webhook_url=get("webhook_url"),
            twilio_api_base=setting(
                credentials, "twilio_api_base", "TWILIO_API_BASE", DEFAULT_TWILIO_API_BASE
            ),
            api_base_url=api_base_url(credentials),
        )

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        whatsapp_number: str = "",
        messaging_service_sid: str = "",
        api_key_sid: str = "",
        api_key_secret: str = "",
        webhook_url: str = "",
        twilio_api_base: str = DEFAULT_TWILIO_API_BASE,
        api_base_url: str = "http://127.0.0.1:8000",
    ) -> None:
        self.auth_token = auth_token
        self.webhook_url = webhook_url
        self.twilio_api_base = twilio_api_base.rstrip("/")
        self.api_base_url = api_base_url.rstrip("/")
        self.output = TwilioWhatsAppOutput(
            account_sid,
            auth_token,
            whatsapp_number,
            messaging_service_sid,
            self.twilio_api_base,
            api_key_sid,
            api_key_secret,
        )
        self.tasks = SerialTasks()
        self._recent = RecentIds()
        self._uploads = KeyedLocks()
        if not auth_token:
            logger.warning(
                "Twilio WhatsApp channel: no auth token (TWILIO_AUTH_TOKEN); every webhook "
                "request will be refused with 403."
            )

    def get_output_channel(self) -> OutputChannel:
        return self.output

    def _authentic(self, request: Request, params: _FormParams) -> bool:
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not self.auth_token or not signature:
            return False
        url = self.webhook_url or request.url
        return bool(RequestValidator(self.auth_token).validate(url, params, signature))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        whatsapp_webhook = Blueprint(f"{CHANNEL_NAME}_webhook", __name__)

        @whatsapp_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @whatsapp_webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            params = _FormParams.parse(request)
            if not self._authentic(request, params):
                logger.warning("Twilio webhook: bad or missing X-Twilio-Signature from %s", request.ip)
                return response.text("Forbidden.", status=403)
            form = {name: values[0] for name, values in params.items()}
            self.accept(form, on_new_message, tracker_store_of(request.app))
            return response.text(EMPTY_TWIML, content_type="text/xml")

        return whatsapp_webhook

    # -- incoming messages -----------------------------------------------------------------------

    def accept(
        self,
        form: dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        tracker_store: Any = None,
    ) -> None:
        """Queue the work an authentic webhook asks for; returns at once."""
        message_sid = str(form.get("MessageSid") or form.get("SmsMessageSid") or "")
        if message_sid and self._recent.seen(message_sid):
            logger.debug("Twilio message %s already handled", message_sid)
            return
        sender_id = str(form.get("From") or "")
        if not sender_id:
            return
        body = str(form.get("Body") or "").strip()
        metadata: dict[str, Any] = {"whatsapp": {"message_sid": message_sid}}
        try:
            num_media = min(int(form.get("NumMedia") or 0), MAX_MEDIA)
        except ValueError:
            num_media = 0
        media = [
            (str(form.get(f"MediaUrl{i}") or ""), str(form.get(f"MediaContentType{i}") or ""))
            for i in range(num_media)
        ]
        images = [(url, kind) for url, kind in media if url and kind.lower().startswith("image/")]
        if images:
            if body:
                metadata["whatsapp"]["caption"] = body
            uploads = [self.tasks.start(self._fetch_and_upload(url, kind, sender_id)) for url, kind in images]

            async def deliver_photos() -> None:
                self.output.buttons.take(sender_id)  # a photo answers no numbered question
                photo_ids, errors = await gather_photo_ids(uploads)
                for error in errors:
                    logger.warning("WhatsApp photo from %s not used: %s", sender_id, error)
                if errors:
                    await self.output.send_text_message(sender_id, errors[0].shopper_message)
                if photo_ids:
                    await on_new_message(
                        self._user_message(photo_uploaded_message(photo_ids), sender_id, metadata)
                    )

            self.tasks.submit(sender_id, deliver_photos)
            return
        if media:
            self.tasks.submit(sender_id, lambda: self.output.send_text_message(sender_id, NOT_A_PHOTO))
            if not body:
                return
        button_payload = str(form.get("ButtonPayload") or "").strip()
        if button_payload:  # a quick-reply button of a WhatsApp template
            self.tasks.submit(
                sender_id,
                lambda: self._deliver_text(
                    button_payload, sender_id, on_new_message, metadata, None, is_payload=True
                ),
            )
        elif body:
            self.tasks.submit(
                sender_id,
                lambda: self._deliver_text(body, sender_id, on_new_message, metadata, tracker_store),
            )

    def _user_message(self, text: str, sender_id: str, metadata: dict[str, Any]) -> UserMessage:
        return UserMessage(text, self.output, sender_id, input_channel=self.name(), metadata=metadata)

    async def _deliver_text(
        self,
        body: str,
        sender_id: str,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        metadata: dict[str, Any],
        tracker_store: Any,
        is_payload: bool = False,
    ) -> None:
        offered = self.output.buttons.take(sender_id)
        text = body
        if not is_payload:
            if offered is None and len(body) <= SHORT_REPLY:
                offers = await recent_bot_buttons(tracker_store, sender_id, since_last_user_message=True)
                offered = offers[0] if offers else None
            picked = choose_button(body, offered or [])
            if picked:
                text = picked
                metadata = {**metadata, "whatsapp": {**metadata["whatsapp"], "reply": body}}
        await on_new_message(self._user_message(text, sender_id, metadata))

    async def _fetch_and_upload(self, url: str, content_type: str, sender_id: str) -> str:
        # Twilio's credentials go only to Twilio's own host (media URLs are under its API).
        auth = self.output.auth if _origin(url) == _origin(self.twilio_api_base) else None
        async with aiohttp.ClientSession() as session:
            data, served_type = await fetch_media(session, url, auth=auth)
            kind = content_type or served_type
            async with self._uploads.hold(sender_id):  # a message's photos one after the other
                return await upload_photo(session, self.api_base_url, data, kind, sender_id)
