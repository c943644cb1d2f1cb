"""Two performance fixes for Rasa 3.6, applied when Rasa loads our channels (bot/channels/webchat.py).

1. Action results.
After every custom-action call, Rasa's `RemoteAction._validate_action_result` runs
`jsonschema.validate(result, spec)`. `validate` first checks the *schema itself* against the
JSON Schema 2020-12 metaschema, on every call; with the pinned jsonschema 4.17 that check alone
took about 15 % of the Rasa process's CPU under load in a py-spy profile of our bot (forms call
the action server several times per turn). The spec never changes, so it is checked once and one
validator is reused. Then the events: the spec says each event is `oneOf` 23 event schemas, so
jsonschema tries all 23 on every event (about 1.3 ms per action call). Each of those schemas pins
a different `event` name (checked when the validators are built), so exactly the one named by the
event can match: an event is checked against that one. A response that passes this is valid under
the full spec; anything else is validated by the full spec, which raises the same
`ValidationError` with the same message as before.

2. The SQLite tracker store (the embedded profile; production uses PostgreSQL). Rasa saves the
conversation after every turn with a synchronous SQLite commit on its event loop, and SQLite's
default rollback journal fsyncs twice per commit. Its connections now use write-ahead logging
with `synchronous=NORMAL`, SQLite's recommended setting for WAL: still atomic and consistent, a
commit no longer waits for the disk (after a power cut, not a process crash, the last turns may
be missing). On this machine's fast disk that changed no measured number (docs/benchmarks.md);
it matters where fsync is slow.
"""

from __future__ import annotations

import sqlite3
from functools import lru_cache
from typing import Any

from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from sqlalchemy import event
from sqlalchemy.engine import Engine


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@lru_cache(maxsize=1)
def _per_event_validators() -> tuple[Any, dict[str, Any]] | None:
    """(the spec without its per-event part, {event name: that event's schema}), or None when the
    spec is not shaped as expected (a Rasa upgrade): then only the full spec is used."""
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    try:
        events = schema["properties"]["events"]
        items = events["items"]
        base = {key: value for key, value in items.items() if key != "oneOf"}
        names = [alternative["properties"]["event"]["const"] for alternative in items["oneOf"]]
    except (KeyError, TypeError):
        return None
    if "event" not in base.get("required", ()) or len(set(names)) != len(names):
        return None
    envelope = {
        **schema,
        "properties": {
            **schema["properties"],
            "events": {key: value for key, value in events.items() if key != "items"},
        },
    }
    per_event = {
        name: cls({"allOf": [base, alternative]})
        for name, alternative in zip(names, items["oneOf"], strict=True)
    }
    return cls(envelope), per_event


def _valid_by_event(result: Any) -> bool:
    validators = _per_event_validators()
    if validators is None:
        return False
    envelope, per_event = validators
    if not envelope.is_valid(result):
        return False
    for event in result.get("events") or []:
        name = event.get("event") if isinstance(event, dict) else None
        validator = per_event.get(name) if isinstance(name, str) else None
        if validator is None or not validator.is_valid(event):
            return False
    return True


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    if _valid_by_event(result):
        return True
    error: ValidationError | None = best_match(_response_validator().iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from "
            f"the Action endpoint is valid. For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def apply() -> None:
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    if not event.contains(Engine, "connect", sqlite_pragmas):
        event.listen(Engine, "connect", sqlite_pragmas)
