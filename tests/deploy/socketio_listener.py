"""A widget stand-in for tests/deploy: connects (long-polling: the Rasa venv's aiohttp is too old for
engineio's websocket client) to one Rasa instance's socket.io channel, says
hello, then prints every bot message as one JSON line until it is stopped.

Runs with the Rasa venv's Python (.venv-rasa has python-socketio's client and aiohttp):
    .venv-rasa/bin/python tests/deploy/socketio_listener.py http://127.0.0.1:5105 SESSION_ID
"""

from __future__ import annotations

import asyncio
import json
import sys

import socketio


async def main(url: str, session_id: str) -> None:
    client = socketio.AsyncClient()
    received: asyncio.Queue[dict[str, object]] = asyncio.Queue()

    @client.on("session_confirm")
    async def confirmed(data: object) -> None:
        await received.put({"session_confirm": data})

    @client.on("bot_uttered")
    async def uttered(data: dict[str, object]) -> None:
        await received.put({"bot_uttered": data})

    await client.connect(url, transports=["polling"], socketio_path="/socket.io")
    await client.emit("session_request", {"session_id": session_id})
    print(json.dumps(await asyncio.wait_for(received.get(), 60)), flush=True)
    await client.emit("user_uttered", {"message": "hi", "session_id": session_id})
    while True:
        print(json.dumps(await received.get()), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
