"""bot/channels/speedups.py. Rasa validates action-server responses exactly as before, only
without re-checking the schema on every call and checking each event against its own event
schema: judged against Rasa's own validation on every event type Rasa has, and on each of them
broken field by field. A form question the validation action already asked is not asked again.
Predictions inside a form equal the policy graph's at every step of the stories. Runs in the Rasa
venv (Python 3.10)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.support import missing_prerequisite, run_in_rasa_venv

ROOT = Path(__file__).resolve().parents[2]
MODEL = Path(os.environ.get("RASA_MODEL_PATH", ROOT / "models" / "rasa" / "returns-assistant.tar.gz"))

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
responses = json.loads(sys.argv[1])
if sys.argv[2:] == ["every-event"]:
    from rasa.shared.core import events as E
    samples = [
        E.UserUttered("hi there", {"name": "greet", "confidence": 0.9},
                      [{"entity": "order_number", "value": "100232", "start": 0, "end": 6}],
                      parse_data={"intent_ranking": [{"name": "greet", "confidence": 0.9}]},
                      input_channel="rest", message_id="m1"),
        E.DefinePrevUserUtteredFeaturization(True),
        E.BotUttered(
            "hello", {"buttons": [{"title": "Yes", "payload": "/affirm"}]}, {"utter_action": "utter_x"}
        ),
        E.SlotSet("order_number", "100232"),
        E.SlotSet("return_items", ["3"]),
        E.SlotSet("verify_order", {"items": [{"id": 3}]}),
        E.SlotSet("verify_attempts", 2.0),
        E.EntitiesAdded([{"entity": "email", "value": "a@b.c", "start": 0, "end": 5}]),
        E.Restarted(), E.UserUtteranceReverted(), E.AllSlotsReset(),
        E.ReminderScheduled("remind", __import__("datetime").datetime(2026, 11, 27, 10, 0), name="r1",
                            kill_on_user_message=False, entities=[{"entity": "x", "value": "y"}]),
        E.ReminderCancelled(name="r1", intent="remind", entities=[{"entity": "x", "value": "y"}]),
        E.ActionReverted(), E.StoryExported("story.md"), E.FollowupAction("action_x"),
        E.ConversationPaused(), E.ConversationResumed(),
        E.ActionExecuted("return_form", policy="RulePolicy", confidence=1.0, hide_rule_turn=True),
        E.AgentUttered("agent says", {"a": 1}), E.ActiveLoop("return_form"), E.ActiveLoop(None),
        E.LegacyForm("return_form"), E.LegacyFormValidation(False), E.LoopInterrupted(True),
        E.ActionExecutionRejected("validate_x", policy="p", confidence=0.5), E.SessionStarted(),
    ]
    # Rasa 2's form events: still in the spec, written as Rasa 3's loop events by their classes
    valid = [sample.as_dict() for sample in samples] + [
        {"event": "form", "name": "return_form", "timestamp": None},
        {"event": "form_validation", "validate": False},
    ]
    broken = []
    for event in valid:
        for key in event:
            for value in (None, 1, "x", [], {}, [1], True, 1.5):
                broken.append({**event, key: value})
            broken.append({k: v for k, v in event.items() if k != key})
            if isinstance(event[key], dict):
                for inner in event[key]:
                    for value in (None, 1, "x", []):
                        broken.append({**event, key: {**event[key], inner: value}})
    responses = [{"events": [event]} for event in valid + broken]
    responses.append({"events": valid, "responses": [{"text": "all at once"}]})
    responses.append({"events": [*valid, {"event": "unknown"}]})
    responses.append({"events": [*valid, ["not", "an", "object"]]})
    responses.append({"events": [{"event": ["unhashable"]}]})
    responses.append([])
    responses.append("not an object")
kinds = set()
for response in responses:
    outcome = []
    for fn in (original, RemoteAction._validate_action_result):
        try:
            outcome.append(["ok", fn(action, response)])
        except ValidationError as exc:
            outcome.append(["error", exc.message, list(exc.path)])
    results.append(outcome)
    for event in (response.get("events") if isinstance(response, dict) else None) or []:
        if outcome[0][0] == "ok" and isinstance(event, dict):
            kinds.add(event.get("event"))
print(json.dumps({"results": results, "kinds": sorted(kinds)}))
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
    results = json.loads(done.stdout.strip().splitlines()[-1])["results"]
    assert len(results) == len(RESPONSES)
    for response, (original, fast) in zip(RESPONSES, results, strict=True):
        assert fast == original, response
    outcomes = [original[0] for original, _ in results]
    assert outcomes[:3] == ["ok", "ok", "ok"] and "error" in outcomes[3:]
    errors = [fast for _, fast in results if fast[0] == "error"]
    assert all("Failed to validate Action server response" in error[1] for error in errors)


def test_every_event_type_whole_and_broken_is_judged_like_rasa_does() -> None:
    done = run_in_rasa_venv(SCRIPT, "[]", "every-event")
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    results = out["results"]
    assert len(results) > 800
    mismatches = [index for index, (original, fast) in enumerate(results) if fast != original]
    assert mismatches == []
    outcomes = [original[0] for original, _ in results]
    assert outcomes.count("ok") > 100 and outcomes.count("error") > 100  # both kinds are exercised
    assert len(out["kinds"]) == 23  # every event type the spec knows was accepted at least once


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


ASK_SCRIPT = r"""
import asyncio, json
import bot.channels.webchat  # applies the fixes
from bot.channels import speedups
from rasa.core.actions.forms import FormAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

domain = Domain.load("bot/domain")
asked = []

async def remote_ask(self, domain, nlg, output_channel, slot_name, tracker):
    asked.append(slot_name)  # stands in for Rasa's call to action_ask_<slot> on the action server
    return [BotUttered(f"question for {slot_name}")]

speedups._rasa_ask_for_slot = remote_ask
form = FormAction("return_form", None)
tracker = DialogueStateTracker.from_events(
    "s", [ActionExecuted("action_listen"), UserUttered("hi"), ActiveLoop("return_form")], slots=domain.slots
)
nlg = TemplatedNaturalLanguageGenerator(domain.responses)

async def run(events_so_far):
    asked.clear()
    events = await form.request_next_slot(tracker, domain, CollectingOutputChannel(), nlg, events_so_far)
    return [list(asked), [e.as_dict()["event"] for e in events]]

async def main():
    out = {}
    reason = SlotSet("requested_slot", "return_reason")
    out["asked_in_validation"] = await run([reason, SlotSet("form_asked_slot", "return_reason")])
    out["no_marker"] = await run([reason])
    out["other_slot"] = await run([reason, SlotSet("form_asked_slot", "return_items")])
    out["marker_cleared"] = await run([reason, SlotSet("form_asked_slot", None)])
    done = SlotSet("requested_slot", None)
    out["form_done"] = await run([done, SlotSet("form_asked_slot", "return_reason")])
    print(json.dumps(out))

asyncio.run(main())
"""


def test_a_question_asked_by_the_validation_is_not_asked_again() -> None:
    done = run_in_rasa_venv(ASK_SCRIPT)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["asked_in_validation"] == [[], []]  # no second call, nothing added
    assert out["no_marker"] == [["return_reason"], ["bot"]]  # Rasa's own path, unchanged
    assert out["other_slot"] == [["return_reason"], ["bot"]]
    assert out["marker_cleared"] == [["return_reason"], ["bot"]]
    assert out["form_done"] == [[], ["slot"]]  # the form ends: requested_slot None, nothing asked


LOOP_SCRIPT = r"""
import asyncio, json, logging, sys
logging.disable(logging.WARNING)
from rasa.utils.log_utils import configure_structlog
configure_structlog(logging.WARNING)
import bot.channels.webchat  # applies the fixes
from bot.channels import speedups
from rasa.core.agent import load_agent
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.generator import TrainingDataGenerator
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.importers.importer import TrainingDataImporter

def view(prediction):
    events = [e.as_dict() for e in prediction.events]
    for e in events:
        e.pop("timestamp", None)
    return [prediction.policy_name, prediction.max_confidence_index, prediction.max_confidence,
            prediction.hide_rule_turn, prediction.is_no_user_prediction, events,
            list(prediction.probabilities)]

async def main():
    agent = await load_agent(model_path=sys.argv[1])
    processor = agent.processor
    importer = TrainingDataImporter.load_from_dict(
        domain_path="bot/domain", training_data_paths=["bot/data", "tests/bot/test_stories.yml"]
    )
    trackers = TrainingDataGenerator(
        importer.get_stories(), agent.domain, use_story_concatenation=False, augmentation_factor=0
    ).generate_story_trackers()
    shortcut, graph_only, mismatches, kinds = 0, 0, [], set()
    for story in trackers:
        events = list(story.events)
        for index, event in enumerate(events):
            if index == 0 or not isinstance(event, ActionExecuted):
                continue
            def prefix():
                return DialogueStateTracker.from_events(
                    story.sender_id, events[:index], slots=agent.domain.slots
                )
            fast = speedups.loop_prediction(processor, prefix())
            if fast is None:
                graph_only += 1
                continue
            shortcut += 1
            slow = speedups._rasa_predict_next(processor, prefix())
            kinds.add(agent.domain.action_names_or_texts[fast.max_confidence_index])
            if view(fast) != view(slow):
                mismatches.append([story.sender_id, event.action_name, view(fast)[:5], view(slow)[:5]])
    # through the processor: a form turn's predictions come from the shortcut, others from the graph
    patched = type(processor)._predict_next_with_tracker is speedups.predict_next_with_tracker
    print(json.dumps({"shortcut": shortcut, "graph_only": graph_only, "mismatches": mismatches[:5],
                      "mismatch_count": len(mismatches), "kinds": sorted(kinds), "patched": patched}))

asyncio.run(main())
"""


def test_predictions_inside_a_form_are_the_ones_the_policy_graph_makes() -> None:
    if not MODEL.exists():
        missing_prerequisite(f"no trained model at {MODEL}: run `make rasa-model`")
    done = run_in_rasa_venv(LOOP_SCRIPT, str(MODEL), timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["patched"] is True
    assert out["mismatch_count"] == 0, out["mismatches"]
    # both the form after a message and action_listen after the form, many times; and the graph
    # still decides everything else (interruptions, the first message, after the form ends)
    assert out["shortcut"] > 150 and out["graph_only"] > 150
    assert "action_listen" in out["kinds"] and {"return_form", "status_form"} <= set(out["kinds"])
