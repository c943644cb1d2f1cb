"""A stand-in for Rasa's socketio channel, for the widget's browser tests.

Speaks the wire format of `rasa.core.channels.socketio.SocketIOInput` with
`session_persistence: true` (session_request -> session_confirm; user_uttered ->
bot_uttered to the room named by the session id) using the same python-socketio library,
and answers from a small script instead of a trained model. Runs in the Rasa venv
(python-socketio and aiohttp come with Rasa):

    .venv-rasa/bin/python tests/web/fake_rasa.py --port 5099 [--api http://127.0.0.1:8000]

`GET /received` lists what it was sent, `POST /say` ({"session_id", "message"}) pushes a bot
message to a session, as Rasa does for a reply, and `POST /refuse` ({"times": N}) refuses the
next N socket.io connections.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

import socketio
from aiohttp import web

PHOTO = re.compile(r"^/photo_uploaded(\{.*\})$", re.S)
INFORM = re.compile(r"^/inform(\{.*\})$", re.S)


def replies(message: str, api: str) -> list[dict[str, Any]]:
    """What the fake bot answers; shaped like SocketIOOutput's messages."""
    text = message.strip()
    photo = PHOTO.match(text)
    if photo:
        ids = json.loads(photo.group(1)).get("photo_ids", [])
        return [{"text": f"Thanks, I got {len(ids)} photo(s): {', '.join(ids)}"}]
    inform = INFORM.match(text)
    if inform:
        choice = json.loads(inform.group(1))
        return [{"text": "You chose " + ", ".join(f"{k}={v}" for k, v in choice.items())}]
    lowered = text.lower()
    if lowered == "buttons":
        return [
            {
                "text": "How would you like to be refunded?",
                "quick_replies": [
                    {"content_type": "text", "title": "Refund", "payload": '/inform{"choice": "refund"}'},
                    {
                        "content_type": "text",
                        "title": "Store credit",
                        "payload": '/inform{"choice": "store_credit"}',
                    },
                ],
            }
        ]
    if lowered == "label":
        label = f"{api}/api/v1/returns/RMA-1/label.pdf?token=t"
        return [
            {"text": f"Your return is booked.\n\n[Download your label (PDF)]({label})"},
            {"attachment": {"type": "image", "payload": {"src": f"{api}/web/static/img/vase.svg"}}},
            {"text": f"Track it at {api}/orders."},
            {"text": "[bad link](javascript:alert(1))"},
        ]
    if lowered == "two":
        return [{"text": "first part"}, {"text": "second part"}]
    return [{"text": "You said: " + text}]


def build(api: str) -> web.Application:
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
    app = web.Application()
    sio.attach(app, socketio_path="/socket.io")
    received: list[dict[str, Any]] = []
    refusals = {"left": 0}

    @sio.on("connect")
    async def connect(sid: str, environ: dict[str, Any]) -> bool:
        if refusals["left"] > 0:  # as Rasa's channel does when its connect check fails
            refusals["left"] -= 1
            return False
        return True

    @sio.on("session_request")
    async def session_request(sid: str, data: dict[str, Any] | None) -> None:
        data = data or {}
        session_id = data.get("session_id") or sid
        await sio.enter_room(sid, session_id)
        await sio.emit("session_confirm", session_id, room=sid)

    @sio.on("user_uttered")
    async def user_uttered(sid: str, data: dict[str, Any]) -> None:
        session_id = data.get("session_id")
        if not session_id:
            return  # Rasa ignores these too when session persistence is on
        received.append(
            {"session_id": session_id, "message": data.get("message", ""), "metadata": data.get("metadata")}
        )
        for reply in replies(str(data.get("message", "")), api):
            await sio.emit("bot_uttered", reply, room=session_id)

    async def get_received(_: web.Request) -> web.Response:
        return web.json_response(received)

    async def say(request: web.Request) -> web.Response:
        body = await request.json()
        await sio.emit("bot_uttered", {"text": body["message"]}, room=body["session_id"])
        return web.json_response({"ok": True})

    async def refuse(request: web.Request) -> web.Response:
        refusals["left"] = int((await request.json())["times"])
        return web.json_response({"ok": True})

    async def status(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_get("/received", get_received)
    app.router.add_post("/say", say)
    app.router.add_post("/refuse", refuse)
    app.router.add_get("/status", status)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api", default="http://127.0.0.1:8000", help="API base used in links")
    args = parser.parse_args()
    web.run_app(build(args.api.rstrip("/")), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
