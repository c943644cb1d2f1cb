"""bot/channels/speedups.py: Rasa validates action-server responses exactly as before, only
without re-checking the schema on every call. Runs in the Rasa venv (Python 3.10)."""

from __future__ import annotations

import json

from tests.support import run_in_rasa_venv

SCRIPT = r"""
import json, sys
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
original = RemoteAction._validate_action_result
import bot.channels.webchat  # loading our channel applies the fix
from bot.channels import speedups
assert RemoteAction._validate_action_result is speedups.validate_action_result
action = RemoteAction("action_x", None)
results = []
for response in json.loads(sys.argv[1]):
    outcome = []
    for fn in (original, RemoteAction._validate_action_result):
        try:
            outcome.append(["ok", fn(action, response)])
        except ValidationError as exc:
            outcome.append(["error", exc.message, list(exc.path)])
    results.append(outcome)
print(json.dumps(results))
"""

RESPONSES = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "order_number", "value": "100232"}], "responses": [{"text": "hi"}]},
    {"events": [{"event": "slot", "name": "x", "value": 1, "timestamp": None}]},
    {"events": "not a list"},
    {"events": [{"name": "no event key"}]},
    {"events": [{"event": "not_an_event"}]},
    {"responses": "nope"},
]


def test_action_responses_are_judged_exactly_like_rasa_does() -> None:
    done = run_in_rasa_venv(SCRIPT, json.dumps(RESPONSES))
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(results) == len(RESPONSES)
    for response, (original, fast) in zip(RESPONSES, results, strict=True):
        assert fast == original, response
    outcomes = [original[0] for original, _ in results]
    assert outcomes[:3] == ["ok", "ok", "ok"] and "error" in outcomes[3:]
    errors = [fast for _, fast in results if fast[0] == "error"]
    assert all("Failed to validate Action server response" in error[1] for error in errors)


PRAGMA_SCRIPT = r"""
import sys
import bot.channels.webchat  # applies the fixes
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.core.events import UserUttered
store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=sys.argv[1])
tracker = DialogueStateTracker("pragmas", slots=[])
tracker.update(UserUttered("hello"))
import asyncio
asyncio.run(store.save(tracker)) if asyncio.iscoroutinefunction(store.save) else store.save(tracker)
with store.engine.connect() as conn:
    mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
    sync = conn.exec_driver_sql("PRAGMA synchronous").scalar()
print(mode, sync)
"""


def test_the_sqlite_tracker_store_commits_without_waiting_for_the_disk(tmp_path) -> None:
    db = tmp_path / "tracker.db"
    done = run_in_rasa_venv(PRAGMA_SCRIPT, str(db))
    assert done.returncode == 0, done.stderr[-3000:]
    # WAL, and synchronous=NORMAL (1) instead of FULL (2); the conversation was written.
    assert done.stdout.split()[-2:] == ["wal", "1"]
    assert (tmp_path / "tracker.db-wal").exists() or db.stat().st_size > 0
