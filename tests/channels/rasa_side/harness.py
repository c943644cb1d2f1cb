"""The channel connectors mounted on a Sanic app the way `rasa run` mounts them, with a scripted
agent instead of a trained model, so the connector tests run in seconds.

Run with the Rasa venv: `.venv-rasa/bin/python tests/channels/rasa_side/harness.py CONFIG.json`.
CONFIG: {"port": int, "credentials": {"<module path of the InputChannel>": {...}, ...}}
(the same shape as credentials.yml, read through each channel's `from_credentials`).

The scripted agent keeps real Rasa trackers in an InMemoryTrackerStore (the connectors read
offered buttons back from it) and answers:
  "buttons"          -> text with two buttons (the second payload is longer than 64 bytes)
  "image" / "local image" -> an image URL (public / loopback)
  "long"             -> a text longer than any channel's limit
  "custom"           -> a custom JSON message
  "/photo_uploaded…" -> "Thanks, I got N photo(s)."
  anything else      -> "echo: <text>"
Control routes: GET /_harness/received (waits for pending work), POST /_harness/forget (drops
the connectors' in-memory button state, as after a restart), POST /_harness/reset.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage, register
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from tests.channels.script import respond_to


class ScriptedAgent:
    def __init__(self) -> None:
        self.tracker_store = InMemoryTrackerStore(Domain.empty())
        self.received: list[dict[str, Any]] = []

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append(
            {
                "sender_id": message.sender_id,
                "text": message.text,
                "input_channel": message.input_channel,
                "metadata": message.metadata,
            }
        )
        tracker = await self.tracker_store.get_or_create_tracker(message.sender_id)
        tracker.update(UserUttered(message.text, input_channel=message.input_channel))
        for reply in respond_to(message.text or ""):
            tracker.update(
                BotUttered(
                    reply.get("text"), data={"buttons": reply.get("buttons")} if reply.get("buttons") else {}
                )
            )
            await message.output_channel.send_response(message.sender_id, dict(reply))
        await self.tracker_store.save(tracker)


def load_channel(path: str, credentials: dict[str, Any] | None) -> InputChannel:
    module_name, class_name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module_name), class_name).from_credentials(credentials)


def build_app(config: dict[str, Any]) -> Sanic:
    app = Sanic("channels_harness")
    agent = ScriptedAgent()
    app.ctx.agent = agent
    channels = [load_channel(path, creds) for path, creds in config["credentials"].items()]
    register(channels, app, route="/webhooks/")

    async def drain() -> None:
        for channel in channels:
            await channel.tasks.drain()

    @app.get("/_harness/received")
    async def received(_: Request) -> HTTPResponse:
        await drain()
        return response.json(agent.received)

    @app.post("/_harness/forget")
    async def forget(_: Request) -> HTTPResponse:
        from bot.channels._common import ButtonMemory, CallbackRegistry

        for channel in channels:
            output = channel.get_output_channel()
            if hasattr(output, "buttons"):
                output.buttons = ButtonMemory()
            if hasattr(output, "callbacks"):
                output.callbacks = CallbackRegistry()
        return response.json({"ok": True})

    @app.post("/_harness/reset")
    async def reset(_: Request) -> HTTPResponse:
        await drain()
        agent.received.clear()
        return response.json({"ok": True})

    return app


def main() -> None:
    with open(sys.argv[1]) as fh:
        config = json.load(fh)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    build_app(config).run(
        host="127.0.0.1", port=int(config["port"]), access_log=False, debug=False, motd=False
    )


if __name__ == "__main__":
    main()
