"""Turn scheduling in the Rasa process: a bounded number of turns in flight, photo turns first.

Rasa starts on every message as soon as it arrives. Under load, 20 conversations' turns interleave
on its one event loop; each turn's CPU work (NLU, policies, the tracker store) waits behind
everyone else's, and every turn slows down alike. The photo turn (upload, damage assessment,
decision) is the one the shopper watches, and the heaviest.

`TurnGate` lets at most `limit` turns run at once (`RASA_TURNS_IN_FLIGHT`, default 3: enough
for Rasa to compute one turn while others wait on the action server or the API) and queues the
rest in *earliest deadline first* order. A turn's deadline is its arrival time plus its kind's
allowance: text turns `TEXT_ALLOWANCE_S` (5 s), photo turns (`/photo_uploaded{...}`, from every
channel) none.
So a photo turn goes ahead of the text turns that arrived less than 5 s before it and behind
older ones: a text turn is held back at most those 5 s, only by photos, and nothing is starved.
Below the limit nothing waits and nothing changes.

`RASA_PHOTO_TURN_SLOTS` (default 1) more slots only photo turns may take: a photo turn that finds
the limit full of text turns starts at once instead of waiting for one of them to end.

The gate is taken inside Rasa's per-conversation lock (`Agent.handle_message` locks, then calls
`MessageProcessor.handle_message`, which is what is wrapped), so a message waiting for its own
conversation's previous turn holds no slot. A turn cancelled while queued (the client went away)
leaves the queue; one cancelled or failing while running frees its slot.
`RASA_TURNS_IN_FLIGHT=0` switches the gate off (Rasa's own behaviour), photo slots included.

Measured with `scripts/bench.py --latency` (docs/benchmarks.md: the photo turn at 20 shoppers
back to back, and the limits tried).
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import logging
import os
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from bot.channels._common import PHOTO_INTENT

logger = logging.getLogger(__name__)

ENV_LIMIT = "RASA_TURNS_IN_FLIGHT"
DEFAULT_LIMIT = 3
ENV_PHOTO_SLOTS = "RASA_PHOTO_TURN_SLOTS"
DEFAULT_PHOTO_SLOTS = 1
TEXT_ALLOWANCE_S = 5.0  # a photo turn goes ahead of text turns that arrived up to this long before it
PHOTO_ALLOWANCE_S = 0.0


def is_photo(text: str | None) -> bool:
    return (text or "").lstrip().startswith(PHOTO_INTENT)


def allowance(text: str | None) -> float:
    """Seconds added to a message's arrival time to give its turn's deadline: photos go first."""
    return PHOTO_ALLOWANCE_S if is_photo(text) else TEXT_ALLOWANCE_S


class TurnGate:
    """At most `limit` turns at once, plus `photo_slots` more that only photo turns may take;
    waiters admitted by earliest deadline, then arrival.

    Used from one event loop (Rasa's); `limit` <= 0 admits everyone at once."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic, photo_slots: int = 0) -> None:
        self.limit = limit
        self.photo_slots = photo_slots
        self.running = 0
        self._clock = clock
        self._queue: list[tuple[float, int, bool, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @property
    def waiting(self) -> int:
        return sum(1 for *_, future in self._queue if not future.done())

    async def acquire(self, allowance_s: float = 0.0, photo: bool = False) -> None:
        if self.limit <= 0:
            self.running += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._queue, (self._clock() + allowance_s, next(self._order), photo, future))
        self._admit()
        if future.done():
            return  # a free slot: no wait, no yield
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # admitted and cancelled in the same tick: pass the slot on
            else:
                future.cancel()  # skipped by _admit(); dropped from the heap lazily
            raise

    def release(self) -> None:
        self.running -= 1
        self._admit()

    def _admit(self) -> None:
        """Start, in deadline order, every waiting turn that a free slot fits. A text turn that does
        not fit blocks the text turns behind it, not the photo turns a photo slot still fits."""
        waiting = []
        while self._queue:
            entry = heapq.heappop(self._queue)
            _, _, photo, future = entry
            if future.done():
                continue  # cancelled while queued
            if self.running < self.limit + (self.photo_slots if photo else 0):
                self.running += 1
                future.set_result(None)
            else:
                waiting.append(entry)
            if self.running >= self.limit + self.photo_slots:
                break
        for entry in waiting:
            heapq.heappush(self._queue, entry)

    async def run(self, allowance_s: float, turn: Callable[[], Awaitable[Any]], photo: bool = False) -> Any:
        await self.acquire(allowance_s, photo)
        try:
            return await turn()
        finally:
            self.release()


def limit_from_env(environ: dict[str, str] | None = None) -> int:
    return _count_from_env(environ, ENV_LIMIT, DEFAULT_LIMIT, "turns (0 = no limit)", "0 (no limit)")


def photo_slots_from_env(environ: dict[str, str] | None = None) -> int:
    return _count_from_env(environ, ENV_PHOTO_SLOTS, DEFAULT_PHOTO_SLOTS, "photo turns", "0")


def _count_from_env(environ: dict[str, str] | None, name: str, default: int, unit: str, least: str) -> int:
    raw = (environ if environ is not None else os.environ).get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number of {unit}, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must be {least} or more, not {value}")
    return value


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, TurnGate] = weakref.WeakKeyDictionary()


def gate_for_loop(limit: int, photo_slots: int = 0) -> TurnGate:
    """The running event loop's gate (Rasa runs one loop; tests start several)."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = TurnGate(limit, photo_slots=photo_slots)
    return gate


def apply() -> None:
    """Put Rasa's `MessageProcessor.handle_message` behind the gate (once; not when the limit is 0).

    A bad `RASA_TURNS_IN_FLIGHT` stops Rasa at start with the reason, not at the first turn."""
    from rasa.core.processor import MessageProcessor  # the Rasa venv only; the rest is stdlib

    limit = limit_from_env()
    photo_slots = photo_slots_from_env()
    rasa_handle_message = MessageProcessor.handle_message
    if limit <= 0 or getattr(rasa_handle_message, "turn_gate", False):
        return

    @functools.wraps(rasa_handle_message)
    async def handle_message(self: Any, message: Any) -> Any:
        gate = gate_for_loop(limit, photo_slots)
        return await gate.run(
            allowance(message.text), lambda: rasa_handle_message(self, message), photo=is_photo(message.text)
        )

    handle_message.turn_gate = True  # type: ignore[attr-defined]
    MessageProcessor.handle_message = handle_message  # type: ignore[method-assign]
    logger.debug("turn gate: at most %d turns in flight, %d more for photos", limit, photo_slots)
