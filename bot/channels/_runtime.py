"""Async helpers for the connectors: fetching provider media, uploading to our API, and
running each sender's messages in the background, in order.

Rasa venv dependencies only (aiohttp, which Rasa itself uses).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import aiohttp

from bot.channels._common import filename_for

logger = logging.getLogger(__name__)

HTTP_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)
MAX_MEDIA_BYTES = 20 * 1024 * 1024
UPLOAD_RETRIES = 2  # Telegram's getFile limit; our API has its own (10 MB)

PHOTO_FAILED = "Sorry, I couldn't receive that photo just now. Please try sending it again in a moment."
PHOTO_REJECTED = "Sorry, I couldn't use that photo. {detail}"
TOO_LARGE = PHOTO_REJECTED.format(detail="It is too large; please send a smaller one.")
NOT_A_PHOTO = "Sorry, I can only look at photos (JPEG, PNG or WebP). Please send a photo of the item."


class MediaError(Exception):
    """A photo could not be fetched from the provider or stored by our API.

    `shopper_message` is what to tell the shopper."""

    def __init__(self, shopper_message: str, log_detail: str = "") -> None:
        super().__init__(log_detail or shopper_message)
        self.shopper_message = shopper_message


async def fetch_media(
    session: aiohttp.ClientSession,
    url: str,
    *,
    auth: aiohttp.BasicAuth | None = None,
    max_bytes: int = MAX_MEDIA_BYTES,
) -> tuple[bytes, str]:
    """GET a provider's media file (following redirects); returns (bytes, content type)."""
    try:
        async with session.get(url, auth=auth, timeout=HTTP_TIMEOUT) as resp:
            if resp.status != 200:
                raise MediaError(PHOTO_FAILED, f"media download answered {resp.status}")
            if resp.content_length is not None and resp.content_length > max_bytes:
                raise MediaError(TOO_LARGE, "media too large")
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise MediaError(TOO_LARGE, "media too large")
                chunks.append(chunk)
            return b"".join(chunks), resp.headers.get("Content-Type", "application/octet-stream")
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise MediaError(PHOTO_FAILED, f"media download failed: {exc!r}") from exc


class _Retryable(Exception):
    pass


async def upload_photo(
    session: aiohttp.ClientSession,
    api_base: str,
    data: bytes,
    content_type: str,
    conversation_id: str,
    filename: str | None = None,
    retries: int = UPLOAD_RETRIES,
) -> str:
    """POST /api/v1/uploads (multipart `file` + `conversation_id`); returns the photo id.

    A refusal (4xx) is final and carries the API's reason for the shopper; a server error or a
    network failure is tried again a couple of times (the API stores photos by content, so a
    repeated upload costs nothing)."""
    for attempt in range(retries + 1):
        try:
            return await _upload_once(session, api_base, data, content_type, conversation_id, filename)
        except _Retryable as exc:
            if attempt == retries:
                raise MediaError(PHOTO_FAILED, str(exc)) from exc
            logger.info("upload failed (%s), trying again", exc)
            await asyncio.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


async def _upload_once(
    session: aiohttp.ClientSession,
    api_base: str,
    data: bytes,
    content_type: str,
    conversation_id: str,
    filename: str | None,
) -> str:
    form = aiohttp.FormData()
    form.add_field(
        "file",
        data,
        filename=filename or filename_for(content_type),
        content_type=content_type.split(";")[0].strip() or "application/octet-stream",
    )
    form.add_field("conversation_id", conversation_id[:128])
    try:
        async with session.post(f"{api_base}/api/v1/uploads", data=form, timeout=HTTP_TIMEOUT) as resp:
            body: Any = None
            try:
                body = await resp.json(content_type=None)
            except (ValueError, aiohttp.ContentTypeError):
                body = None
            if resp.status == 201 and isinstance(body, dict) and body.get("photo_id"):
                return str(body["photo_id"])
            if 400 <= resp.status < 500 and resp.status not in (408, 429):
                detail = body.get("detail") if isinstance(body, dict) else None
                detail = (
                    detail if isinstance(detail, str) and detail else "Please send a JPEG, PNG or WebP photo."
                )
                raise MediaError(
                    PHOTO_REJECTED.format(detail=detail), f"upload refused {resp.status}: {detail}"
                )
            raise _Retryable(f"upload answered {resp.status}")
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise _Retryable(f"upload failed: {exc!r}") from exc


async def gather_photo_ids(uploads: Iterable[Awaitable[str]]) -> tuple[list[str], list[MediaError]]:
    """Wait for uploads; the ids that worked, in order, and the errors of those that did not."""
    results = await asyncio.gather(*uploads, return_exceptions=True)
    ids = [r for r in results if isinstance(r, str)]
    errors: list[MediaError] = []
    for result in results:
        if isinstance(result, MediaError):
            errors.append(result)
        elif isinstance(result, BaseException):
            logger.error("photo upload crashed", exc_info=result)
            errors.append(MediaError(PHOTO_FAILED, repr(result)))
    return ids, errors


class SerialTasks:
    """Runs jobs in the background, one at a time per key (sender), in submission order.

    Webhooks answer at once (providers time out and retry; Sanic cancels a handler whose client
    went away), and a shopper's messages still reach Rasa in the order they were sent.
    """

    def __init__(self) -> None:
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._running: set[asyncio.Task[None]] = set()

    def submit(self, key: str, job: Callable[[], Awaitable[Any]]) -> asyncio.Task[None]:
        previous = self._tails.get(key)

        async def run() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("handling a message for %s failed", key)

        task = asyncio.get_running_loop().create_task(run())
        self._tails[key] = task
        self._running.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._running.discard(finished)
            if self._tails.get(key) is finished:
                del self._tails[key]

        task.add_done_callback(done)
        return task

    def start(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        """A background task outside any order (e.g. a download), kept alive until it ends."""
        task = asyncio.ensure_future(coro)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task

    async def drain(self) -> None:
        """Wait until nothing is pending (tests, shutdown)."""
        while self._running:
            await asyncio.wait(list(self._running))


class KeyedLocks:
    """One asyncio lock per key (sender), dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def tracker_store_of(app: Any) -> Any:
    """Rasa's tracker store from the Sanic app, when a Rasa agent is loaded."""
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    return getattr(agent, "tracker_store", None)


async def recent_bot_buttons(
    tracker_store: Any, sender_id: str, *, since_last_user_message: bool, max_events: int = 200
) -> list[list[dict[str, Any]]]:
    """Buttons of the bot's recent messages in the tracker, newest first.

    With `since_last_user_message`, only those sent after the shopper's last message. This is
    the fallback when this process did not send them (restart, several Rasa instances)."""
    if tracker_store is None:
        return []
    try:
        tracker = await tracker_store.retrieve(sender_id)
    except Exception:
        logger.exception("could not read the tracker of %s", sender_id)
        return []
    if tracker is None:
        return []
    found: list[list[dict[str, Any]]] = []
    for count, event in enumerate(reversed(list(tracker.events))):
        if count >= max_events:
            break
        kind = getattr(event, "type_name", "")
        if kind == "user" and since_last_user_message:
            break
        if kind == "bot":
            buttons = (getattr(event, "data", None) or {}).get("buttons") or []
            if buttons:
                found.append([dict(b) for b in buttons if isinstance(b, dict)])
    return found
