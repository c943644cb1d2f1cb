"""Rasa's SQL tracker store with a per-instance read cache of the conversations it just saved.

Rasa's `SQLTrackerStore.retrieve` reads every event of the current session and rebuilds the
tracker by replaying them, on every turn: the longer the return conversation gets, the more
each turn costs (about a quarter of the Rasa process's CPU in a py-spy profile of our bot). This
subclass keeps the tracker it saved last for each conversation and hands it back on the next
turn when the database proves that nothing changed in between:

- the newest event id stored for the conversation is the one recorded when it was saved here
  (another Rasa instance that served a turn in between wrote events with higher ids: ids only
  grow and events are never updated or deleted), and
- the tracker holds exactly the events it held when it was saved (a turn that failed before its
  save, or anything that appended events and never saved them, does not come back from memory).

Otherwise, and for every read that is not a turn's, it reads the database exactly as Rasa does.
A tracker is handed out once: `retrieve` takes it out of the cache and only the next `save`
puts it back, so two readers never share one object (a reader that does not save, such as the
HTTP API's GET tracker, leaves the next turn to read the database). Not cached: a tracker in which
a new session started after its first events (Rasa's "events since the latest session start"
would then differ from what the object holds), and anything while an event broker is configured
(Rasa diffs the saved tracker against a retrieved one to find the events to publish).

The result is the same tracker Rasa would have rebuilt; tests/bot/test_tracker_store.py checks
that against Rasa's own store, across instances, failed turns and new sessions.

bot/endpoints.yml: `tracker_store: type: bot.tracker_store.CachedSQLTrackerStore` with the same
keys as Rasa's `SQL` type, plus `cache_size` (conversations kept per Rasa instance, least
recently saved dropped first; default 200). Memory: about 4 KiB per event, a whole return is about
100 events, so about 0.4 MB per conversation and 80 MB for 200 (tracemalloc on the trackers of two
demo return conversations, 99 events each); a conversation that no longer fits is read from the database.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool

# How far into a tracker its own session start may sit: a conversation begins with
# action_session_start then session_started.
_SESSION_START_PREFIX = 2


@dataclass
class _Saved:
    tracker: DialogueStateTracker
    last_event_id: int | None
    length: int


class CachedSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` that skips the reload when the database holds what it saved last."""

    def __init__(self, *args: Any, cache_size: int | str = 200, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _pool_sqlite_connections(self)
        # Built once: SQLAlchemy 1.4 spent ~0.1 ms building and keying this statement per call,
        # five times as long as running it (three calls per turn).
        self._max_event_id = sa.select(sa.func.max(self.SQLEvent.id)).where(
            self.SQLEvent.sender_id == sa.bindparam("sender_id")
        )
        self.cache_size = int(cache_size)
        self._saved: OrderedDict[str, _Saved] = OrderedDict()  # between turns
        self._out: OrderedDict[str, _Saved] = OrderedDict()  # handed to a turn from the cache
        self.hits = 0
        self.misses = 0

    @property  # type: ignore[override]
    def domain(self) -> Domain:
        return self._domain

    @domain.setter
    def domain(self, domain: Domain | None) -> None:
        # A new model may bring other slots: trackers are rebuilt with its domain.
        self._domain = domain or Domain.empty()
        self._saved.clear()
        self._out.clear()

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        saved = self._saved.pop(sender_id, None)
        self._out.pop(sender_id, None)
        if saved is not None and len(saved.tracker.events) == saved.length:
            with self.engine.connect() as connection:
                current = self._last_event_id(connection, sender_id)
            if current == saved.last_event_id:
                self.hits += 1
                _remember(self._out, sender_id, saved, self.cache_size)
                return saved.tracker
        self.misses += 1
        return await super().retrieve(sender_id)

    async def save(self, tracker: DialogueStateTracker) -> None:
        sender_id = tracker.sender_id
        saved = self._saved.pop(sender_id, None)
        out = self._out.pop(sender_id, None)
        caching = self.cache_size > 0 and self.event_broker is None
        if out is None and saved is not None and saved.tracker is tracker:
            # Saved here before within the same turn: it holds what it held then, and more.
            out = saved if len(tracker.events) >= saved.length else None
        if caching and out is None and not tracker.events:
            # A new conversation: Rasa's create_tracker saves it before it has any event. Nothing
            # to write; the turn's save appends its events once the database still has none.
            with self.engine.connect() as connection:
                last_id = self._last_event_id(connection, sender_id)
            _remember(self._out, sender_id, _Saved(tracker, last_id, 0), self.cache_size)
            return
        last = None
        if caching and out is not None and out.tracker is tracker:
            # Handed out from the cache: the database holds its first `length` events, so only
            # the new ones are written (Rasa counts the stored events with a query first).
            last = self._append(tracker, out)
        if last is None:
            await super().save(tracker)
            if not caching:
                return
            with self.engine.connect() as connection:
                last = self._last_event_id(connection, sender_id)
        if last is None or _new_session_inside(tracker):
            return
        _remember(self._saved, sender_id, _Saved(tracker, last, len(tracker.events)), self.cache_size)

    def _append(self, tracker: DialogueStateTracker, out: _Saved) -> int | None:
        """Insert the events after `out.length` in one transaction; the new last event id, or
        None (nothing written) when the conversation changed in the database meanwhile."""
        table = self.SQLEvent.__table__
        rows = [_row(tracker.sender_id, event) for event in list(tracker.events)[out.length :]]
        with self.engine.begin() as connection:
            if self._last_event_id(connection, tracker.sender_id) != out.last_event_id:
                return None
            if rows:
                connection.execute(table.insert(), rows)
            return self._last_event_id(connection, tracker.sender_id)

    def _last_event_id(self, connection: Any, sender_id: str) -> int | None:
        return connection.execute(self._max_event_id, {"sender_id": sender_id}).scalar()


def _pool_sqlite_connections(store: SQLTrackerStore) -> None:
    """Keep SQLite connections open between turns.

    With SQLAlchemy 1.4 (Rasa 3.6's pin) a file-based SQLite engine uses `NullPool`: every turn
    opened the database file, ran the connect-time pragmas (bot/channels/speedups.py) and closed it
    again, three to four times (retrieve, Rasa's event count, the save), about 6 % of the Rasa
    process's CPU in a py-spy profile of a return conversation. SQLAlchemy 2 pools them by
    default (a `QueuePool` with `check_same_thread=False`); this does the same. Transactions still
    end when a connection goes back to the pool (rolled back unless committed), so each turn reads
    what other Rasa instances committed. PostgreSQL and in-memory SQLite are left as Rasa made them.
    """
    url = store.engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    store.engine.dispose()
    store.engine = sa.create_engine(url, poolclass=QueuePool, connect_args={"check_same_thread": False})
    store.sessionmaker = sessionmaker(bind=store.engine)


def _row(sender_id: str, event: Event) -> dict[str, Any]:
    """The columns Rasa's `SQLTrackerStore.save` writes for an event."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


def _remember(cache: OrderedDict[str, _Saved], sender_id: str, entry: _Saved, size: int) -> None:
    cache[sender_id] = entry
    while len(cache) > size:
        cache.popitem(last=False)


def _new_session_inside(tracker: DialogueStateTracker) -> bool:
    return any(
        isinstance(event, SessionStarted)
        for index, event in enumerate(tracker.events)
        if index >= _SESSION_START_PREFIX
    )
