"""actions/backend.py keeps its connections to the API open: the action calls of one event loop
share one HTTP client, each request still carries its own conversation's header, a new event loop
gets its own client, and a connection the API closed is not reused. Against a real socket server
that speaks HTTP/1.1 keep-alive (a mock transport has no connections to count)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from actions import backend


@dataclass
class Api:
    """A minimal keep-alive HTTP/1.1 server: answers every request with `{"ok": true}`."""

    connections: int = 0
    requests: list[dict[str, str]] = field(default_factory=list)
    close_after_each: bool = False
    server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {
                    k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append({"line": lines[0], "body": body.decode(), **headers})
                payload = json.dumps({"ok": True}).encode()
                closing = b"Connection: close\r\n" if self.close_after_each else b""
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + closing
                    + f"Content-Length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
                if self.close_after_each:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> str:
        """Start listening; the base URL to call."""
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()


async def _turns(api: Api, base: str, conversations: list[str]) -> list[Any]:
    answers = []
    for conversation in conversations:  # one action call per conversation, as Rasa makes them
        async with backend.BackendClient(base, "service-token", conversation_id=conversation) as client:
            answers.append(await client.quote({"order_number": "100232"}))
    return answers


def test_action_calls_of_one_loop_share_one_connection_with_their_own_headers() -> None:
    api = Api()

    async def go() -> list[Any]:
        async with api as base:
            return await _turns(api, base, ["shopper-a", "shopper-b", "shopper-a"])

    assert asyncio.run(go()) == [{"ok": True}] * 3
    assert api.connections == 1
    assert [r["x-conversation-id"] for r in api.requests] == ["shopper-a", "shopper-b", "shopper-a"]
    assert all(r["authorization"] == "Bearer service-token" for r in api.requests)
    assert all(r["line"] == "POST /api/v1/returns/quote HTTP/1.1" for r in api.requests)


def test_a_call_without_conversation_sends_no_conversation_header() -> None:
    api = Api()

    async def go() -> None:
        async with api as base:
            await _turns(api, base, ["shopper-a"])
            async with backend.BackendClient(base, "service-token") as client:
                await client.quote({})

    asyncio.run(go())
    assert api.connections == 1
    assert "x-conversation-id" in api.requests[0]
    assert "x-conversation-id" not in api.requests[1]


def test_each_event_loop_gets_its_own_client() -> None:
    api = Api()

    async def one_loop() -> None:
        async with api as base:
            await _turns(api, base, ["shopper-a", "shopper-b"])

    asyncio.run(one_loop())
    asyncio.run(one_loop())  # a client bound to the first (closed) loop would fail here
    assert api.connections == 2
    assert len(api.requests) == 4


def test_a_connection_the_api_closed_is_not_reused() -> None:
    api = Api(close_after_each=True)

    async def go() -> list[Any]:
        async with api as base:
            return await _turns(api, base, ["shopper-a", "shopper-b", "shopper-c"])

    assert asyncio.run(go()) == [{"ok": True}] * 3
    assert api.connections == 3
