"""bot/tracker_store.py: the cached SQL tracker store gives back what Rasa's own SQL store would
rebuild from the database, across Rasa instances, failed turns, readers and new sessions, and
skips the rebuild only when the database proves nothing changed. Runs in the Rasa venv."""

from __future__ import annotations

import json

from tests.support import run_in_rasa_venv

SCRIPT = r"""
import asyncio, json, sys
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted, SessionStarted, SlotSet, UserUttered, BotUttered,
)
from bot.tracker_store import CachedSQLTrackerStore

db = sys.argv[1]
domain = Domain.load("bot/domain")
a = CachedSQLTrackerStore(domain, dialect="sqlite", db=db)          # Rasa instance 1
b = CachedSQLTrackerStore(domain, dialect="sqlite", db=db)          # Rasa instance 2
rasa = SQLTrackerStore(domain, dialect="sqlite", db=db)             # Rasa's own store
out = {}

def state(tracker):
    return None if tracker is None else {
        "events": [e.as_dict() for e in tracker.events],
        "slots": tracker.current_slot_values(),
        "latest": tracker.latest_message.text if tracker.latest_message else None,
    }

async def same_as_rasa(store, sender):
    mine, theirs = await store.retrieve(sender), await rasa.retrieve(sender)
    return mine, state(mine) == state(theirs)

def start_session(tracker):
    # as Rasa's processor does: action_session_start's events are created while it runs, and
    # its ActionExecuted after it, but logged first (Rasa reads a session back from the
    # session_started timestamp on, so this order is what it relies on)
    started = SessionStarted()
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(started)
    tracker.update(ActionExecuted("action_listen"))

def turn(tracker, text, slot=None):
    tracker.update(UserUttered(text, intent={"name": "inform", "confidence": 1.0}))
    if slot:
        tracker.update(SlotSet("order_number", slot))
    tracker.update(BotUttered("ok"))
    tracker.update(ActionExecuted("action_listen"))

async def main():
    sender = "shopper-1"
    t = await a.get_or_create_tracker(sender, append_action_listen=False)
    start_session(t)
    turn(t, "hi")
    await a.save(t)

    # 1. the next turn on the same instance: the saved object, no rebuild; equals Rasa's
    hits = a.hits
    t2, equal = await same_as_rasa(a, sender)
    out["hit_is_same_object"] = (t2 is t, a.hits == hits + 1, equal)
    turn(t2, "100232", slot="100232")
    await a.save(t2)

    # 2. a reader that does not save takes it out: the next retrieve rebuilds a new object
    reader = await a.retrieve(sender)
    again, equal = await same_as_rasa(a, sender)
    out["reader_not_shared"] = (reader is t2, again is not reader, equal)
    await a.save(again)

    # 3. the other instance serves a turn: instance 1 must see it
    other, equal = await same_as_rasa(b, sender)
    out["other_instance_miss"] = (b.hits, equal)
    turn(other, "jane@example.com")
    await b.save(other)
    misses = a.misses
    mine, equal = await same_as_rasa(a, sender)
    seen = "jane@example.com" in json.dumps(state(mine))
    out["sees_other_instance"] = (a.misses == misses + 1, equal, seen)
    await a.save(mine)

    # 4. a turn that fails before its save: its events do not come back from memory
    failed = await a.retrieve(sender)
    turn(failed, "this turn never gets saved")
    back, equal = await same_as_rasa(a, sender)
    dropped = "never gets saved" not in json.dumps(state(back))
    out["failed_turn_dropped"] = (back is not failed, equal, dropped)
    await a.save(back)
    # ... nor do events its holder added after saving it
    turn(back, "added after the save")
    later, equal = await same_as_rasa(a, sender)
    out["unsaved_after_save"] = (later is not back, equal)
    await a.save(later)

    # 5. a new session inside the tracker: not kept; the next read is Rasa's (latest session only)
    s = await a.retrieve(sender)
    start_session(s)
    turn(s, "new session")
    await a.save(s)
    fresh, equal = await same_as_rasa(a, sender)
    out["new_session"] = (fresh is not s, equal, len(fresh.events))
    turn(fresh, "after the new session")
    await a.save(fresh)
    kept, equal = await same_as_rasa(a, sender)
    out["after_new_session"] = (kept is fresh, equal)
    await a.save(kept)

    # 6. every event stored exactly once, in order, as Rasa's store would have written them
    full = await rasa.retrieve_full_tracker(sender)
    texts = [e.text for e in full.events if isinstance(e, UserUttered)]
    out["stored_once"] = texts

    # 7. a new model (domain) empties the cache
    a.domain = domain
    misses = a.misses
    await a.retrieve(sender)
    out["domain_clears"] = a.misses == misses + 1

    # 8. a conversation nobody saved
    out["unknown"] = await a.retrieve("nobody") is None

    # 9. the cache is bounded
    small = CachedSQLTrackerStore(domain, dialect="sqlite", db=db, cache_size="2")
    for i in range(4):
        x = await small.get_or_create_tracker(f"bounded-{i}")
        turn(x, f"hello {i}")
        await small.save(x)
    out["bounded"] = sorted(small._saved)

    # 10. the rows written for a turn served from the cache are the rows Rasa writes
    other_db = CachedSQLTrackerStore(domain, dialect="sqlite", db=sys.argv[2])
    plain = SQLTrackerStore(domain, dialect="sqlite", db=sys.argv[3])
    t = await other_db.get_or_create_tracker("rows", append_action_listen=False)
    start_session(t)
    turn(t, "hi")
    await other_db.save(t)
    await plain.save(t)
    hits = other_db.hits
    t = await other_db.retrieve("rows")
    turn(t, "100232", slot="100232")
    await other_db.save(t)
    await plain.save(t)
    def rows(store):
        with store.engine.connect() as c:
            columns = "sender_id, type_name, timestamp, intent_name, action_name, data"
            return [list(r) for r in c.exec_driver_sql(f"select {columns} from events order by id")]
    out["rows"] = (other_db.hits == hits + 1, rows(other_db) == rows(plain), len(rows(plain)))

    # 11. a conversation written by someone else between a cache hit and its save: nothing appended
    t = await other_db.retrieve("rows")
    handed = other_db._out["rows"]
    elsewhere = SQLTrackerStore(domain, dialect="sqlite", db=sys.argv[2])
    intruder = await elsewhere.retrieve("rows")
    turn(intruder, "from elsewhere")
    await elsewhere.save(intruder)
    turn(t, "late")
    out["append_refused"] = other_db._append(t, handed) is None

    # 12. SQLite connections stay open between turns (one per store here, not one per query);
    # instance b, pooled too, still sees what a commits (section 3 checks the other way round)
    from sqlalchemy import event
    connects = []
    event.listen(a.engine, "connect", lambda *args: connects.append(1))
    a.engine.dispose()
    for i in range(5):
        t = await a.retrieve(sender)
        turn(t, f"pooled {i}")
        await a.save(t)
    seen_by_b = await b.retrieve(sender)
    out["pooled"] = (len(connects), "pooled 4" in json.dumps(state(seen_by_b)))

    # 13. a new conversation as Rasa's processor makes one: create_tracker saves it empty (nothing
    # to write: one id query, no insert), then the turn's save appends its events; the rows are
    # Rasa's, and the next turn is served from the cache. Saving the same object again within a
    # turn appends only what it gained.
    statements = []
    event.listen(other_db.engine, "before_cursor_execute", lambda c, cur, sql, *rest: statements.append(sql))
    assert await other_db.retrieve("new-shopper") is None  # what get_or_create_tracker does first
    statements.clear()
    new = await other_db.create_tracker("new-shopper", append_action_listen=False)
    empty_save = list(statements)
    start_session(new)
    turn(new, "hi")
    await other_db.save(new)
    turn(new, "more")
    await other_db.save(new)
    reference = await plain.get_or_create_tracker("new-shopper", append_action_listen=False)
    for event_ in new.events:
        reference.update(event_)
    await plain.save(reference)
    def rows_of(store, who):
        with store.engine.connect() as c:
            columns = "sender_id, type_name, timestamp, intent_name, action_name, data"
            query = f"select {columns} from events where sender_id = '{who}' order by id"
            return [list(r) for r in c.exec_driver_sql(query)]
    hits = other_db.hits
    next_turn = await other_db.retrieve("new-shopper")
    out["new_conversation"] = (
        len(empty_save),
        any("INSERT" in q.upper() for q in empty_save),
        rows_of(other_db, "new-shopper") == rows_of(plain, "new-shopper"),
        len(rows_of(other_db, "new-shopper")),
        next_turn is new and other_db.hits == hits + 1,
    )

asyncio.run(main())
print(json.dumps(out))
"""


def test_cached_store_returns_what_rasa_would_rebuild(tmp_path) -> None:
    dbs = [str(tmp_path / name) for name in ("tracker.db", "cached.db", "plain.db")]
    done = run_in_rasa_venv(SCRIPT, *dbs)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["hit_is_same_object"] == [True, True, True]
    assert out["reader_not_shared"] == [True, True, True]
    assert out["other_instance_miss"] == [0, True]
    assert out["sees_other_instance"] == [True, True, True]
    assert out["failed_turn_dropped"] == [True, True, True]
    assert out["unsaved_after_save"] == [True, True]
    new_session = out["new_session"]
    assert new_session[:2] == [True, True]
    assert new_session[2] == 6  # only the latest session: start, session_started, listen + one turn (3)
    assert out["after_new_session"] == [True, True]
    assert out["stored_once"] == [
        "hi",
        "100232",
        "jane@example.com",
        "new session",
        "after the new session",
    ]
    assert out["domain_clears"] is True
    assert out["unknown"] is True
    assert out["bounded"] == ["bounded-2", "bounded-3"]
    assert out["rows"] == [True, True, 10]
    assert out["append_refused"] is True
    assert out["pooled"] == [1, True]
    # the empty save: a single query (the last event id), no insert; then 9 events (session start
    # and two turns), written as
    # Rasa writes them; the next turn comes from the cache
    assert out["new_conversation"] == [1, False, True, 9, True]
