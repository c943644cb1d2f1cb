"""Rasa's socketio channel for the website widget, with one Rasa 3.6 bug fixed.

Rasa 3.6's `SocketIOInput.session_request` calls `sio.enter_room(...)` without `await`; with
python-socketio >= 5.10 that is a coroutine, so under `session_persistence: true` the socket
never joins its session's room and no bot message reaches the browser (RasaHQ/rasa#13027).
Registering the handler again replaces Rasa's; everything else is Rasa's own channel.

Several Rasa instances (docs/deploy.md): a browser's socket lives on one instance, but a proactive
notice (`trigger_intent`, api/services/mailer.py) may reach another. With `SOCKETIO_REDIS_URL`
set, python-socketio's own Redis client manager relays every emit between the instances, so the
message reaches the socket wherever it is connected.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from sanic import Blueprint

from bot.channels import speedups, turn_gate

speedups.apply()
turn_gate.apply()


class SocketIOInput(RasaSocketIOInput):
    """Rasa's socketio input channel with `session_request` awaiting `enter_room`."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)
        sio, namespace = self.sio, self.namespace
        assert sio is not None
        redis_url = os.environ.get("SOCKETIO_REDIS_URL", "")
        if redis_url:
            # Replaced before any client connects: the server initialises its manager then.
            manager = socketio.AsyncRedisManager(
                redis_url, channel=os.environ.get("SOCKETIO_REDIS_CHANNEL", "returns-socketio")
            )
            manager.set_server(sio)
            sio.manager = manager

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: dict[str, Any] | None) -> None:
            data = data or {}
            if not data.get("session_id"):
                data["session_id"] = uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, data["session_id"], namespace=namespace)
            await sio.emit("session_confirm", data["session_id"], room=sid, namespace=namespace)

        return blueprint
