"""Rasa's socketio channel for the website widget, with one Rasa 3.6 bug fixed.

Rasa 3.6's `SocketIOInput.session_request` calls `sio.enter_room(...)` without `await`; with
python-socketio >= 5.10 that is a coroutine, so under `session_persistence: true` the socket
never joins its session's room and no bot message reaches the browser (RasaHQ/rasa#13027).
Registering the handler again replaces Rasa's; everything else is Rasa's own channel.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from sanic import Blueprint


class SocketIOInput(RasaSocketIOInput):
    """Rasa's socketio input channel with `session_request` awaiting `enter_room`."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)
        sio, namespace = self.sio, self.namespace
        assert sio is not None

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: dict[str, Any] | None) -> None:
            data = data or {}
            if not data.get("session_id"):
                data["session_id"] = uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, data["session_id"], namespace=namespace)
            await sio.emit("session_confirm", data["session_id"], room=sid, namespace=namespace)

        return blueprint
