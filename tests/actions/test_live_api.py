"""Whole flows of the actions against the real API (`live_api`: the FastAPI app on a free port,
a fresh seeded database). A small driver plays Rasa's part: it keeps the slots and hands each
message's slot candidates to the form's validation action, which also asks the form's next
question when that is one of our ask actions (actions/common.py, AsksNextSlot)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from rasa_sdk import Action, FormValidationAction

from actions.cancel import ActionCancelReturn, ValidateCancelForm
from actions.handoff import ActionHandoff
from actions.policy_info import ActionAnswerPolicy
from actions.returns import ActionFinishReturn, ValidateReturnForm
from actions.status import ActionAnswerStatus, ValidateStatusForm
from tests.actions.helpers import load_domain, make_tracker, responses, run_action, slot_sets
from tests.conftest import SERVICE_TOKEN, demo_photo

DOMAIN = load_domain()


class Conversation:
    """Rasa's bookkeeping, reduced to what the actions read."""

    def __init__(self, form: FormValidationAction, form_name: str, sender: str = "conv-live-1") -> None:
        self.form, self.form_name, self.sender = form, form_name, sender
        self.slots: dict[str, Any] = {}
        self.said: list[dict[str, Any]] = []

    def apply(self, events: list[dict[str, Any]]) -> None:
        self.slots.update(slot_sets(events))

    def say(self, slot_values: dict[str, Any], *, intent: str = "inform", text: str = "") -> list[str]:
        tracker = make_tracker(
            self.slots,
            text=text or json.dumps(slot_values),
            intent=intent,
            candidates=slot_values,
            active_loop=self.form_name,
            sender_id=self.sender,
        )
        events, dispatcher = run_action(self.form, tracker, DOMAIN)
        self.apply(events)
        self.said += dispatcher.messages
        return responses(dispatcher)

    def run(self, action: Action, *, intent: str = "inform") -> list[dict[str, Any]]:
        tracker = make_tracker(
            self.slots,
            intent=intent,
            sender_id=self.sender,
            active_loop=self.form_name if self.slots.get("requested_slot") else None,
        )
        events, dispatcher = run_action(action, tracker, DOMAIN)
        self.apply(events)
        self.said += dispatcher.messages
        return dispatcher.messages

    @property
    def asking(self) -> str | None:
        return self.slots.get("requested_slot")


def service(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}, timeout=30)


def returns_of(base: str, order_number: str, email: str) -> list[dict[str, Any]]:
    with service(base) as http:
        answer = http.post("/api/v1/returns/lookup", json={"order_number": order_number, "email": email})
    answer.raise_for_status()
    return answer.json()


def test_a_whole_return_is_written_once(api_url: str) -> None:
    chat = Conversation(ValidateReturnForm(), "return_form")
    assert chat.say({"verify_order_number": "#100231"}) == []
    assert chat.asking == "verify_proof"
    assert chat.say({"verify_proof": "jane@example.com"}) == ["utter_verified", "utter_ask_return_items"]
    assert chat.asking == "return_items"
    shoes = next(i for i in chat.slots["verify_order"]["items"] if i["name"] == "Running shoes")
    chat.say({"return_items": ["the running shoes"]})
    assert chat.slots["return_items"] == [str(shoes["id"])]
    assert chat.say({"return_reason": "they're too small"}) == [
        "utter_decision_approve",
        "utter_decision_reasons",
        "utter_ask_return_resolution",
    ]
    assert chat.slots["return_decision"]["outcome"] == "approve"
    assert chat.asking == "return_resolution"
    chat.say({"return_resolution": "refund"})
    assert chat.asking == "pickup_slot"
    asked = chat.said[-1]
    assert asked["response"] == "utter_ask_pickup_slot"
    first_slot = re.search(r'"choice": "([^"]+)"', asked["buttons"][0]["payload"]).group(1)  # type: ignore[union-attr]
    chat.say({"pickup_slot": first_slot})
    assert chat.asking == "pickup_address_confirmed"
    chat.say({"pickup_address_confirmed": True}, intent="affirm")
    assert chat.asking == "return_confirmed"
    summary = chat.said[-1]
    assert summary["response"] == "utter_ask_return_confirmed"
    assert "Running shoes" in summary["summary"]
    chat.say({"return_confirmed": True}, intent="affirm")
    assert chat.asking is None
    created = chat.slots["return_result"]
    assert created["rma"].startswith("RMA-")
    assert created["pickup"]["status"] == "scheduled"

    # The same turn again (a retry): the same return comes back, nothing new is written.
    chat.slots["return_confirmed"] = None
    chat.slots["requested_slot"] = "return_confirmed"
    chat.say({"return_confirmed": True}, intent="affirm")
    assert chat.slots["return_result"]["rma"] == created["rma"]
    stored = returns_of(api_url, "100231", "jane@example.com")
    assert [r["rma"] for r in stored] == [created["rma"]]
    assert stored[0]["decision"]["outcome"] == "approve"
    assert stored[0]["pickup"]["date"] == first_slot.split("|")[0]

    messages = chat.run(ActionFinishReturn())
    assert [m["response"] for m in messages] == [
        "utter_return_created",
        "utter_return_pickup_booked",
        "utter_next_steps_refund",
    ]
    assert messages[1]["label_url"] == created["label_url"]
    assert messages[1]["reference"] == created["pickup"]["reference"]


def upload(base: str, path: Any) -> str:
    with httpx.Client(base_url=base, timeout=30) as http:
        answer = http.post(
            "/api/v1/uploads",
            files={"file": (path.name, path.read_bytes(), "image/jpeg")},
            data={"conversation_id": "conv-live-2"},
        )
    answer.raise_for_status()
    return str(answer.json()["photo_id"])


def test_damaged_vase_with_a_real_photo(api_url: str, no_model: None) -> None:
    chat = Conversation(ValidateReturnForm(), "return_form", sender="conv-live-2")
    chat.say({"verify_order_number": "100232", "return_reason": "damaged_on_arrival"}, intent="start_return")
    chat.say({"verify_proof": "94107"})
    assert chat.asking == "return_photos"
    asked = chat.said[-1]
    assert asked["response"] == "utter_ask_return_photos_policy"
    photo_id = upload(api_url, demo_photo("damaged"))
    said = chat.say({"return_photos": [photo_id]}, intent="photo_uploaded")
    assert chat.slots["return_photos"] == [photo_id], (said, chat.said[-3:])
    with service(api_url) as http:
        heatmap = http.get(f"/api/v1/photos/{photo_id}/heatmap.png")
    assert heatmap.status_code == 200  # the assessment and its heatmap are stored with the API
    assert chat.slots["return_decision"]["outcome"] in ("approve", "review")


def test_final_sale_is_refused_in_the_policy_words(api_url: str) -> None:
    chat = Conversation(ValidateReturnForm(), "return_form", sender="conv-live-3")
    chat.say({"verify_order_number": "100235"})
    assert chat.say({"verify_proof": "sam@example.com"}) == ["utter_verified", "utter_nothing_returnable"]
    assert "final sale" in chat.said[-1]["reasons"]
    assert chat.slots["return_blocked"] is True
    assert chat.asking is None


def test_wrong_proof_three_times_locks(api_url: str) -> None:
    chat = Conversation(ValidateStatusForm(), "status_form", sender="conv-live-4")
    for attempt in range(3):
        chat.slots["requested_slot"] = "verify_order_number"
        chat.say({"verify_order_number": "100231"})
        chat.slots["requested_slot"] = "verify_proof"
        said = chat.say({"verify_proof": f"wrong{attempt}@example.com"})
    assert said == ["utter_verify_locked"]
    assert chat.slots["verify_locked"] is True
    assert "verify_order" not in chat.slots or chat.slots["verify_order"] is None


def test_status_then_cancel(api_url: str) -> None:
    returned = Conversation(ValidateReturnForm(), "return_form", sender="conv-live-5")
    returned.say({"verify_order_number": "100237"})
    returned.say({"verify_proof": "30301"})
    returned.say({"return_reason": "changed my mind"})
    returned.say({"return_resolution": "refund"})
    assert returned.asking == "return_confirmed"  # keep it: no pickup questions
    returned.say({"return_confirmed": True}, intent="affirm")
    rma = returned.slots["return_result"]["rma"]
    assert returned.slots["return_result"]["keep_item"] is True

    chat = Conversation(ValidateStatusForm(), "status_form", sender="conv-live-6")
    chat.slots["status_topic"] = "refund"
    chat.say({"verify_order_number": "100237", "verify_proof": "tom@example.com"}, intent="refund_status")
    [answer] = chat.run(ActionAnswerStatus())
    assert answer["response"] == "utter_refund_status"
    assert rma in answer["lines"]

    cancel = Conversation(ValidateCancelForm(), "cancel_form", sender="conv-live-7")
    cancel.say({"verify_order_number": "100237", "verify_proof": "tom@example.com"}, intent="cancel_return")
    assert cancel.slots["cancel_rma"] == rma
    cancel.slots["cancel_confirmed"] = True
    [done] = cancel.run(ActionCancelReturn())
    assert done["response"] == "utter_return_cancelled"
    assert returns_of(api_url, "100237", "tom@example.com")[0]["status"] == "cancelled"


def test_policy_and_handoff(api_url: str) -> None:
    [policy] = Conversation(ValidateStatusForm(), "status_form").run(
        ActionAnswerPolicy(), intent="return_policy"
    )
    with httpx.Client(base_url=api_url) as http:
        summary = http.get("/api/v1/policy").json()["summary"]
    assert policy["summary"].splitlines() == [f"• {line}" for line in summary]
    chat = Conversation(ValidateStatusForm(), "status_form", sender="conv-live-8")
    [ticket] = chat.run(ActionHandoff(), intent="human_handoff")
    assert ticket["response"] == "utter_handoff_created"
    assert ticket["ticket_id"]


def test_api_unreachable_is_said_plainly(api_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.settings import get_settings

    monkeypatch.setenv("API_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    get_settings.cache_clear()
    chat = Conversation(ValidateReturnForm(), "return_form", sender="conv-live-9")
    chat.say({"verify_order_number": "100231"})
    assert chat.say({"verify_proof": "jane@example.com"}) == ["utter_backend_unavailable"]
    assert chat.asking == "verify_proof"
