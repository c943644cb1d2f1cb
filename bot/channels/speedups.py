"""Four performance fixes for Rasa 3.6, applied when Rasa loads our channels (bot/channels/webchat.py).

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

3. A form's question in the validation call.
On a form turn Rasa's FormAction calls the action server twice: `validate_<form>`, then
`action_ask_<slot>` for the next question, each call carrying the whole conversation. Our
validation actions ask the next question themselves when it is certain (actions/common.py,
`AsksNextSlot`) and say so with `SlotSet(form_asked_slot, <slot>)`. When that event is among the
current form run's events and names the slot the form is about to ask for, the form does not
call the action server again for it. Any other case (no such event, another slot, a response
`utter_ask_*`) goes through Rasa's own code unchanged.

4. Predictions inside a form.
While a form is active and has not rejected the message, Rasa's RulePolicy predicts the form
after the shopper's message and `action_listen` after the form ran ("loop happy path"), and marks
that prediction `is_no_user_prediction`, which overrules every other policy in the ensemble. Rasa
still runs the whole policy graph (TED, memoization, rules: about a third of the Rasa process's
CPU) to get there, twice per form turn. When the model's policies are exactly Memoization, Rule
and TED with Rasa's default ensemble, `loop_prediction` asks the model's own RulePolicy instance
for the loop happy path (its own methods: default actions first, then the loop) and returns the
prediction the ensemble would have returned, with the same policy name, confidence, rule-turn
flag and events. Anything else (a follow-up action, a rejected loop or action, a default intent
such as /restart, no active loop) runs the graph as before. tests/bot/test_speedups.py compares
both at every prediction of the test stories.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.core.actions.forms import FormAction
from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.core.processor import MessageProcessor
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    DefinePrevUserUtteredFeaturization,
    Event,
    SlotSet,
)
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
    for item in result.get("events") or []:
        name = item.get("event") if isinstance(item, dict) else None
        validator = per_event.get(name) if isinstance(name, str) else None
        if validator is None or not validator.is_valid(item):
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


ASKED_SLOT = "form_asked_slot"  # bot/domain/forms.yml; actions/common.py sets it
_asked_this_run: ContextVar[str | None] = ContextVar("form_asked_slot", default=None)
_rasa_request_next_slot = FormAction.request_next_slot
_rasa_ask_for_slot = FormAction._ask_for_slot


def asked_in(events: Sequence[Event]) -> str | None:
    """The slot the validation action already asked for, from this form run's events."""
    asked = None
    for item in events:
        if isinstance(item, SlotSet) and item.key == ASKED_SLOT:
            asked = item.value
    return str(asked) if asked else None


async def request_next_slot(
    self: FormAction,
    tracker: Any,
    domain: Any,
    output_channel: Any,
    nlg: Any,
    events_so_far: list[Event],
) -> list[Event]:
    token = _asked_this_run.set(asked_in(events_so_far))
    try:
        return await _rasa_request_next_slot(self, tracker, domain, output_channel, nlg, events_so_far)
    finally:
        _asked_this_run.reset(token)


async def ask_for_slot(
    self: FormAction, domain: Any, nlg: Any, output_channel: Any, slot_name: str, tracker: Any
) -> list[Event]:
    if slot_name and _asked_this_run.get() == slot_name:
        return []  # asked in the validation call; its message and events are already there
    return await _rasa_ask_for_slot(self, domain, nlg, output_channel, slot_name, tracker)


_rasa_predict_next = MessageProcessor._predict_next_with_tracker
# The policy sets whose ensemble a RulePolicy loop prediction is known to win outright.
_KNOWN_POLICIES = {frozenset({MemoizationPolicy, RulePolicy, TEDPolicy}), frozenset({RulePolicy, TEDPolicy})}
_NO_RULE_POLICY = object()


def _loop_rule_policy(processor: MessageProcessor) -> RulePolicy | None:
    """The model's RulePolicy when the graph's policies and ensemble are ones we know, else None.
    Looked up once per graph runner (a new model brings a new runner)."""
    runner = processor.graph_runner
    found = getattr(runner, "_speedups_rule_policy", None)
    if found is None:
        found = _NO_RULE_POLICY
        nodes = getattr(runner, "_instantiated_nodes", None) or {}
        components = [getattr(node, "_component", None) for node in nodes.values()]
        policies = [c for c in components if isinstance(c, Policy)]
        kinds = frozenset(type(c) for c in policies)
        ensembles = [c for c in components if isinstance(c, DefaultPolicyPredictionEnsemble)]
        rules = [c for c in policies if type(c) is RulePolicy]
        if kinds in _KNOWN_POLICIES and len(rules) == 1 and len(policies) == len(kinds) and ensembles:
            found = rules[0]
        runner._speedups_rule_policy = found
    return found if isinstance(found, RulePolicy) else None


def loop_prediction(processor: MessageProcessor, tracker: Any) -> PolicyPrediction | None:
    """The ensemble's prediction when the RulePolicy's loop happy path decides it, else None."""
    if tracker.followup_action or not tracker.active_loop_name or tracker.is_active_loop_rejected:
        return None
    last_action = next(
        (e for e in reversed(tracker.events) if isinstance(e, (ActionExecuted, ActionExecutionRejected))),
        None,
    )
    if isinstance(last_action, ActionExecutionRejected):
        return None  # the ensemble zeroes the rejected action first: leave that to it
    rules = _loop_rule_policy(processor)
    if rules is None:
        return None
    if rules._find_action_from_default_actions(tracker)[0] is not None:
        return None  # /restart, /back, /session_start: the graph decides
    action, source = rules._find_action_from_loop_happy_path(tracker)
    if action is None:
        return None
    prediction = rules._rule_prediction(
        rules._prediction_result(action, tracker, processor.domain), source, is_no_user_prediction=True
    )
    if tracker.latest_action_name == ACTION_LISTEN_NAME:
        prediction.events.append(DefinePrevUserUtteredFeaturization(False))  # as the ensemble does
    return prediction


def predict_next_with_tracker(self: MessageProcessor, tracker: Any) -> PolicyPrediction:
    prediction = loop_prediction(self, tracker)
    return prediction if prediction is not None else _rasa_predict_next(self, tracker)


def apply() -> None:
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    FormAction.request_next_slot = request_next_slot  # type: ignore[method-assign]
    FormAction._ask_for_slot = ask_for_slot  # type: ignore[method-assign]
    MessageProcessor._predict_next_with_tracker = predict_next_with_tracker  # type: ignore[method-assign]
    if not event.contains(Engine, "connect", sqlite_pragmas):
        event.listen(Engine, "connect", sqlite_pragmas)
