"""The action server's HTTP client for the returns API (docs/interfaces.md).

One `BackendClient` per action run (`async with backend.client() as api:`); nothing is created
at import time. The `BackendClient`s of one event loop share one `httpx.AsyncClient`, so the
action server keeps its connections to the API open between action calls instead of opening one
per action (see `_shared_client`). Failures are mapped to two kinds of exception:

- `BackendUnavailable`: the API could not be reached or answered 5xx/timeout. The shopper is
  told to try again in a moment; the action writes nothing else.
- `BackendError` (and subclasses by status): the API answered 4xx with `{"detail": ...}`.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import ssl
import weakref
from typing import Any

import httpx

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 15.0
# An idle pooled connection is dropped after this long: below uvicorn's keep-alive timeout (5 s),
# so the client never sends on a connection the API is about to close.
KEEPALIVE_EXPIRY_S = 2.0


class BackendUnavailable(Exception):
    """The returns API is down, unreachable, timed out or failed (5xx)."""


class BackendError(Exception):
    """The API refused the request (4xx); `detail` is its one-sentence reason."""

    def __init__(self, status_code: int, detail: str, payload: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail
        self.payload = payload or {}


class NotFound(BackendError):
    pass


class RateLimited(BackendError):
    pass


class Conflict(BackendError):
    pass


def idempotency_key(conversation_id: str, body: dict[str, Any]) -> str:
    """Same conversation + same return body -> same key, so a retried turn never creates two returns."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(f"{conversation_id}\n{canonical}".encode()).hexdigest()
    return f"chat-{digest[:48]}"


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context per process, shared by every client (SSLContext is thread-safe). httpx
    otherwise builds a new one, loading the system's CA certificates, for each client (when each
    action call had its own client, that was 40 % of the action server's CPU under load)."""
    return httpx.create_ssl_context()


class BackendClient:
    def __init__(
        self,
        base_url: str,
        service_token: str,
        *,
        conversation_id: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        self.conversation_id = conversation_id
        # Per request, not per client: the underlying client is shared across conversations.
        self._headers = {"X-Conversation-Id": conversation_id[:128]} if conversation_id else {}
        self._client = _shared_client(
            base_url.rstrip("/"),
            service_token,
            transport,
            timeout or httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
        )

    async def __aenter__(self) -> BackendClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Nothing to release: the connections belong to the loop's shared client."""

    # --- plumbing ----------------------------------------------------------------------------

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if self._headers:
            kwargs["headers"] = {**self._headers, **(kwargs.get("headers") or {})}
        try:
            response = await self._client.request(method, path, **kwargs)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            log.warning("returns API unreachable: %s %s: %r", method, path, exc)
            raise BackendUnavailable(str(exc) or type(exc).__name__) from exc
        if response.status_code >= 500:
            log.warning("returns API failed: %s %s -> %s", method, path, response.status_code)
            raise BackendUnavailable(f"{method} {path} -> {response.status_code}")
        if response.status_code >= 400:
            payload = _json_or_empty(response)
            detail = str(payload.get("detail") or response.reason_phrase or "request refused")
            cls = {404: NotFound, 429: RateLimited, 409: Conflict}.get(response.status_code, BackendError)
            raise cls(response.status_code, detail, payload)
        return response

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise BackendUnavailable(f"{method} {path}: answer is not JSON") from exc

    # --- endpoints -----------------------------------------------------------------------------

    async def lookup_order(self, order_number: str, proof: dict[str, str]) -> dict[str, Any]:
        """POST /api/v1/orders/lookup -> the order (NotFound for a wrong number or proof)."""
        return await self._json("POST", "/api/v1/orders/lookup", json={"order_number": order_number, **proof})

    async def policy(self) -> dict[str, Any]:
        """GET /api/v1/policy -> {version, reasons, windows, summary}."""
        return await self._json("GET", "/api/v1/policy")

    async def quote(self, draft: dict[str, Any]) -> dict[str, Any]:
        """POST /api/v1/returns/quote -> the decision dict (writes nothing)."""
        return await self._json("POST", "/api/v1/returns/quote", json=draft)

    async def create_return(self, body: dict[str, Any], key: str) -> dict[str, Any]:
        """POST /api/v1/returns with Idempotency-Key -> the created (or earlier identical) return."""
        return await self._json("POST", "/api/v1/returns", json=body, headers={"Idempotency-Key": key})

    async def lookup_returns(self, order_number: str, proof: dict[str, str]) -> list[dict[str, Any]]:
        """POST /api/v1/returns/lookup -> the order's returns."""
        answer = await self._json(
            "POST", "/api/v1/returns/lookup", json={"order_number": order_number, **proof}
        )
        return list(answer or [])

    async def cancel_return(self, rma: str, proof: dict[str, str]) -> dict[str, Any]:
        return await self._json("POST", f"/api/v1/returns/{rma}/cancel", json=proof)

    async def reschedule_pickup(
        self, rma: str, proof: dict[str, str], day: str, window: str
    ) -> dict[str, Any]:
        return await self._json(
            "POST", f"/api/v1/returns/{rma}/reschedule", json={**proof, "date": day, "window": window}
        )

    async def pickup_slots(self, postcode: str) -> list[dict[str, Any]]:
        return list(await self._json("GET", "/api/v1/pickups/slots", params={"postcode": postcode}) or [])

    async def photo_bytes(self, photo_id: str) -> bytes:
        return (await self._request("GET", f"/api/v1/photos/{photo_id}")).content

    async def store_assessment(
        self, photo_id: str, assessment: dict[str, Any], heatmap_png_b64: str | None
    ) -> dict[str, Any]:
        body = dict(assessment)
        body.pop("path", None)
        if heatmap_png_b64:
            body["heatmap_png_b64"] = heatmap_png_b64
        return await self._json("POST", f"/api/v1/photos/{photo_id}/assessment", json=body)

    async def store_heatmap(self, photo_id: str, heatmap_png_b64: str, model_version: str) -> None:
        await self._json(
            "PUT",
            f"/api/v1/photos/{photo_id}/heatmap",
            json={"heatmap_png_b64": heatmap_png_b64, "model_version": model_version},
        )

    async def create_handoff(
        self, *, conversation_id: str, channel: str, order_number: str | None, message: str
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "conversation_id": conversation_id[:128],
            "channel": channel[:32],
            "message": message[:4000],
        }
        if order_number:
            body["order_number"] = order_number
        return await self._json("POST", "/api/v1/handoffs", json=body)


def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {"detail": str(data)}


# One shared client per event loop and configuration. An httpx.AsyncClient belongs to the loop it
# first ran on (its pooled connections are that loop's sockets); the action server has one loop per
# Sanic worker, tests start a new loop per test. A loop's clients go when the loop is collected.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], httpx.AsyncClient]] = (
    weakref.WeakKeyDictionary()
)


def _shared_client(
    base_url: str, service_token: str, transport: httpx.AsyncBaseTransport | None, timeout: httpx.Timeout
) -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    key = (base_url, service_token, transport, timeout.connect, timeout.read, timeout.write, timeout.pool)
    clients = _clients.setdefault(loop, {})
    shared = clients.get(key)
    if shared is None or shared.is_closed:
        headers = {"Accept": "application/json", "User-Agent": "returns-assistant-actions"}
        if service_token:
            headers["Authorization"] = f"Bearer {service_token}"
        shared = clients[key] = httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            verify=tls_context(),
            limits=httpx.Limits(
                max_connections=100, max_keepalive_connections=20, keepalive_expiry=KEEPALIVE_EXPIRY_S
            ),
        )
    return shared


# Tests replace this with an httpx.MockTransport; None means real network.
_transport: httpx.AsyncBaseTransport | None = None


def client(conversation_id: str | None = None) -> BackendClient:
    """A client configured from the shared settings (API_BASE_URL, SERVICE_TOKEN)."""
    from api.settings import get_settings

    settings = get_settings()
    return BackendClient(
        settings.api_base_url,
        settings.service_token.get_secret_value(),
        conversation_id=conversation_id,
        transport=_transport,
    )
