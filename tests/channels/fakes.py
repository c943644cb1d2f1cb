"""Loopback stand-ins for the providers, speaking their real wire formats.

- FakeTelegram: the Bot API (`POST /bot<token>/<method>` with JSON, `{"ok": ..., "result": ...}`
  answers, `getFile`, file downloads from `/file/bot<token>/<file_path>`) and Telegram's side of
  the webhook (JSON `Update`s with the `X-Telegram-Bot-Api-Secret-Token` header).
- FakeTwilio: the Messages API (`POST /2010-04-01/Accounts/<sid>/Messages.json`, form-encoded,
  HTTP basic auth, 201 with a message resource), media behind basic auth, and Twilio's side of
  the WhatsApp webhook (form-encoded `From`, `Body`, `NumMedia`, `MediaUrl0`, ... signed with
  `X-Twilio-Signature`).
- FakeUploadApi: our `POST /api/v1/uploads` contract, for the fast tests (the e2e test and the
  live-API tests use the real API).

Standard library only; each fake runs an HTTP server on a free loopback port in a thread.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import itertools
import json
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot.channels._common import twilio_signature


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any = None
    form: dict[str, list[str]] = field(default_factory=dict)


class _Server:
    """A threaded HTTP server whose requests go to `self.handle(request) -> (status, headers, body)`."""

    def __init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Recorded(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                ctype = request.headers.get("content-type", "")
                if ctype.startswith("application/json") and body:
                    request.json = json.loads(body)
                elif ctype.startswith("application/x-www-form-urlencoded"):
                    request.form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
                status, headers, payload = fake.handle(request)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> _Server:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, request: Recorded) -> tuple[int, dict[str, str], bytes]:
        raise NotImplementedError


def _json(status: int, payload: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST like the providers do; (status, body) whatever the status."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# -- Telegram --------------------------------------------------------------------------------------


class FakeTelegram(_Server):
    """The Telegram Bot API for one bot, plus the updates a shopper's actions produce."""

    def __init__(self, token: str = "123456:TEST-token_abc", secret_token: str = "tg-secret_TEST-1") -> None:
        super().__init__()
        self.token = token
        self.secret_token = secret_token
        self.webhook_url = ""
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, bytes)
        self.downloads: list[str] = []
        self._ids = itertools.count(1000)
        self._message_ids = itertools.count(1)

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.downloads.clear()

    def handle(self, request: Recorded) -> tuple[int, dict[str, str], bytes]:
        path = urllib.parse.urlsplit(request.path).path
        file_prefix = f"/file/bot{self.token}/"
        if request.method == "GET" and path.startswith(file_prefix):
            wanted = path[len(file_prefix) :]
            for file_path, data in self.files.values():
                if file_path == wanted:
                    with self.lock:
                        self.downloads.append(wanted)
                    return 200, {"Content-Type": "application/octet-stream"}, data
            return 404, {}, b"Not Found"
        prefix = f"/bot{self.token}/"
        if not path.startswith(prefix):
            return _json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        method = path[len(prefix) :]
        params = (
            request.json if isinstance(request.json, dict) else {k: v[0] for k, v in request.form.items()}
        )
        with self.lock:
            self.calls.append((method, params))
        if method == "getFile":
            entry = self.files.get(str(params.get("file_id")))
            if entry is None:
                return _json(
                    400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}
                )
            return _json(
                200,
                {
                    "ok": True,
                    "result": {
                        "file_id": params["file_id"],
                        "file_unique_id": "u" + params["file_id"],
                        "file_size": len(entry[1]),
                        "file_path": entry[0],
                    },
                },
            )
        if method in ("sendMessage", "sendPhoto"):
            if "chat_id" not in params:
                return _json(
                    400, {"ok": False, "error_code": 400, "description": "Bad Request: chat_id is empty"}
                )
            if method == "sendMessage" and not str(params.get("text", "")).strip():
                return _json(
                    400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
                )
            if method == "sendPhoto":
                host = urllib.parse.urlsplit(str(params.get("photo", ""))).hostname or ""
                if host in ("127.0.0.1", "localhost") or host.startswith("10."):
                    # Telegram's servers cannot fetch a URL that is only reachable here.
                    return _json(
                        400,
                        {
                            "ok": False,
                            "error_code": 400,
                            "description": "Bad Request: wrong file identifier/HTTP URL specified",
                        },
                    )
            if method == "sendMessage" and len(str(params["text"])) > 4096:
                return _json(
                    400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}
                )
            return _json(
                200,
                {
                    "ok": True,
                    "result": {
                        "message_id": next(self._message_ids),
                        "date": 1700000000,
                        "chat": {"id": int(params["chat_id"]), "type": "private"},
                        "text": params.get("text", ""),
                    },
                },
            )
        if method in ("answerCallbackQuery", "editMessageReplyMarkup", "setWebhook", "deleteWebhook"):
            return _json(200, {"ok": True, "result": True})
        return _json(404, {"ok": False, "error_code": 404, "description": "Not Found"})

    # What Rasa's connector sent, in order.
    def sent(self, method: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [params for name, params in self.calls if method is None or name == method]

    def texts(self) -> list[str]:
        return [str(p.get("text", "")) for p in self.sent("sendMessage")]

    # What a shopper does in the Telegram app, delivered as Telegram delivers it.
    def add_file(self, data: bytes, file_path: str = "") -> str:
        file_id = "AgACAgQAAxkBAAI" + secrets.token_hex(8)
        self.files[file_id] = (file_path or f"photos/file_{len(self.files)}.jpg", data)
        return file_id

    def _message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        user = {"id": chat_id, "is_bot": False, "first_name": "Raj", "language_code": "en"}
        return {
            "message_id": next(self._message_ids),
            "from": user,
            "date": 1700000000,
            "chat": {"id": chat_id, "first_name": "Raj", "type": "private"},
            **content,
        }

    def text_update(self, chat_id: int, text: str) -> dict[str, Any]:
        return {"update_id": next(self._ids), "message": self._message(chat_id, text=text)}

    def photo_update(
        self, chat_id: int, data: bytes, *, media_group_id: str | None = None, caption: str | None = None
    ) -> dict[str, Any]:
        file_id = self.add_file(data)
        small = self.add_file(data[: max(1, len(data) // 10)], "photos/thumb.jpg")
        sizes = [
            {"file_id": small, "file_unique_id": "s" + small, "width": 90, "height": 67, "file_size": 1200},
            {
                "file_id": file_id,
                "file_unique_id": "b" + file_id,
                "width": 1280,
                "height": 960,
                "file_size": len(data),
            },
        ]
        content: dict[str, Any] = {"photo": sizes}
        if media_group_id:
            content["media_group_id"] = media_group_id
        if caption:
            content["caption"] = caption
        return {"update_id": next(self._ids), "message": self._message(chat_id, **content)}

    def button_update(self, chat_id: int, callback_data: str, message_id: int = 1) -> dict[str, Any]:
        message = self._message(chat_id, text="(the bot's message)")
        message["message_id"] = message_id
        message["from"] = {"id": 42, "is_bot": True, "first_name": "Returns"}
        return {
            "update_id": next(self._ids),
            "callback_query": {
                "id": str(next(self._ids)),
                "from": {"id": chat_id, "is_bot": False, "first_name": "Raj"},
                "message": message,
                "chat_instance": "-1",
                "data": callback_data,
            },
        }

    def deliver(self, update: dict[str, Any], *, secret: str | None = None) -> tuple[int, bytes]:
        """POST an update to the webhook as Telegram does (secret header unless secret="")."""
        headers = {"Content-Type": "application/json"}
        token = self.secret_token if secret is None else secret
        if token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = token
        return post(self.webhook_url, json.dumps(update).encode(), headers)


# -- Twilio ----------------------------------------------------------------------------------------


class FakeTwilio(_Server):
    """Twilio's Messages API and media store for one account, plus its WhatsApp webhooks."""

    def __init__(
        self,
        account_sid: str = "AC" + "0" * 31 + "1",
        auth_token: str = "twilio-auth-token-TEST",
        whatsapp_number: str = "whatsapp:+14155238886",
    ) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.whatsapp_number = whatsapp_number
        self.webhook_url = ""
        self.messages: list[dict[str, str]] = []
        self.media: dict[str, tuple[str, bytes]] = {}  # path -> (content type, bytes)
        self.media_requests: list[tuple[str, bool]] = []  # (path, authenticated)

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self.media_requests.clear()

    def _authenticated(self, request: Recorded) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("authorization", "") == f"Basic {expected}"

    def handle(self, request: Recorded) -> tuple[int, dict[str, str], bytes]:
        path = urllib.parse.urlsplit(request.path).path
        if request.method == "GET" and path in self.media:
            authenticated = self._authenticated(request)
            with self.lock:
                self.media_requests.append((path, authenticated))
            if not authenticated:
                return _json(401, {"code": 20003, "message": "Authenticate", "status": 401})
            content_type, data = self.media[path]
            return 200, {"Content-Type": content_type}, data
        if path == f"/2010-04-01/Accounts/{self.account_sid}/Messages.json" and request.method == "POST":
            if not self._authenticated(request):
                return _json(401, {"code": 20003, "message": "Authenticate", "status": 401})
            form = {k: v[0] for k, v in request.form.items()}
            if "To" not in form or not ("From" in form or "MessagingServiceSid" in form):
                return _json(
                    400, {"code": 21604, "message": "A 'To' and a 'From' are required.", "status": 400}
                )
            if not form.get("Body") and not form.get("MediaUrl"):
                return _json(
                    400,
                    {
                        "code": 21619,
                        "message": "A text message body or media URL is required.",
                        "status": 400,
                    },
                )
            if len(form.get("Body", "")) > 1600:
                return _json(
                    400,
                    {
                        "code": 21617,
                        "message": "The concatenated message body exceeds the 1600 character limit.",
                        "status": 400,
                    },
                )
            with self.lock:
                self.messages.append(form)
            sid = "SM" + secrets.token_hex(16)
            return _json(
                201,
                {
                    "sid": sid,
                    "account_sid": self.account_sid,
                    "to": form["To"],
                    "from": form.get("From"),
                    "body": form.get("Body", ""),
                    "status": "queued",
                    "num_media": "1" if form.get("MediaUrl") else "0",
                    "direction": "outbound-api",
                },
            )
        return _json(404, {"code": 20404, "message": "The requested resource was not found", "status": 404})

    def sent(self) -> list[dict[str, str]]:
        with self.lock:
            return list(self.messages)

    def bodies(self) -> list[str]:
        return [m.get("Body", "") for m in self.sent()]

    def add_media(self, data: bytes, content_type: str = "image/jpeg") -> str:
        path = (
            f"/2010-04-01/Accounts/{self.account_sid}/Messages/MM{secrets.token_hex(16)}"
            f"/Media/ME{secrets.token_hex(16)}"
        )
        self.media[path] = (content_type, data)
        return self.url + path

    def webhook_params(
        self, sender: str, body: str = "", media: list[tuple[bytes, str]] = (), **extra: str
    ) -> dict[str, str]:
        sid = ("MM" if media else "SM") + secrets.token_hex(16)
        params = {
            "SmsMessageSid": sid,
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": self.account_sid,
            "MessagingServiceSid": "",
            "From": sender,
            "To": self.whatsapp_number,
            "Body": body,
            "NumMedia": str(len(media)),
            "NumSegments": "1",
            "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
            "ProfileName": "Raj",
            "WaId": sender.split("+")[-1],
            "MessageType": "image" if media else "text",
            "ReferralNumMedia": "0",
        }
        for index, (data, content_type) in enumerate(media):
            params[f"MediaUrl{index}"] = self.add_media(data, content_type)
            params[f"MediaContentType{index}"] = content_type
        params.update(extra)
        return params

    def deliver(
        self, params: dict[str, str], *, signature: str | None = None, url: str | None = None
    ) -> tuple[int, bytes]:
        """POST a webhook as Twilio does: form-encoded, signed over the URL and sorted params."""
        target = url or self.webhook_url
        sig = twilio_signature(self.auth_token, target, params) if signature is None else signature
        headers = {"Content-Type": "application/x-www-form-urlencoded", "I-Twilio-Idempotency-Token": "x"}
        if sig:
            headers["X-Twilio-Signature"] = sig
        return post(target, urllib.parse.urlencode(params).encode(), headers)


# -- our upload API --------------------------------------------------------------------------------


class FakeUploadApi(_Server):
    """`POST /api/v1/uploads`: multipart `file` + `conversation_id` -> 201 {"photo_id"}."""

    def __init__(self) -> None:
        super().__init__()
        self.uploads: list[dict[str, Any]] = []
        self.reject_with: tuple[int, str] | None = None
        self.fail_next = 0  # answer 500 to that many uploads first (a transient server error)

    def reset(self) -> None:
        with self.lock:
            self.uploads.clear()
            self.reject_with = None
            self.fail_next = 0

    def handle(self, request: Recorded) -> tuple[int, dict[str, str], bytes]:
        if request.method != "POST" or urllib.parse.urlsplit(request.path).path != "/api/v1/uploads":
            return _json(404, {"detail": "Not Found"})
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + request.headers.get("content-type", "").encode() + b"\r\n\r\n" + request.body
        )
        fields: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            fields[name] = {
                "data": part.get_payload(decode=True),
                "filename": part.get_filename(),
                "content_type": part.get_content_type(),
            }
        if "file" not in fields:
            return _json(422, {"detail": "Field 'file' is required."})
        if self.reject_with:
            return _json(self.reject_with[0], {"detail": self.reject_with[1]})
        with self.lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return _json(500, {"detail": "Internal Server Error"})
        photo_id = "ph_" + secrets.token_urlsafe(12)
        conversation = fields.get("conversation_id", {}).get("data") or b""
        with self.lock:
            self.uploads.append(
                {"photo_id": photo_id, "conversation_id": conversation.decode(), **fields["file"]}
            )
        return _json(
            201,
            {
                "photo_id": photo_id,
                "width": 1,
                "height": 1,
                "content_type": fields["file"]["content_type"],
                "sha256": "0" * 64,
            },
        )
