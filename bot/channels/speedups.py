"""Two performance fixes for Rasa 3.6, applied when Rasa loads our channels (bot/channels/webchat.py).

1. Action results.
After every custom-action call, Rasa's `RemoteAction._validate_action_result` runs
`jsonschema.validate(result, spec)`. `validate` first checks the *schema itself* against the
JSON Schema 2020-12 metaschema, on every call; with the pinned jsonschema 4.17 that check alone
took about 15 % of the Rasa process's CPU under load in a py-spy profile of our bot (forms call
the action server several times per turn). The spec never changes, so it is checked once and one
validator is reused; the response is validated exactly as before and a bad response raises the
same `ValidationError` with the same message.

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


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
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
