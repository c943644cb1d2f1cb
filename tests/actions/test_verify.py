"""Ownership proof inside the forms: nothing about an order before proof, three strikes, API down."""

from __future__ import annotations

from rasa_sdk.events import ActionExecutionRejected, SlotSet

from actions.returns import ValidateReturnForm
from actions.status import ValidateStatusForm
from tests.actions.helpers import ORDERS, FakeApi, asked, make_tracker, responses, run_action, slot_sets

JANE = ORDERS["100231"]["order"]


def asking(slot: str, **slots: object) -> dict[str, object]:
    return {"requested_slot": slot, **slots}


def test_a_bad_order_number_is_explained_and_asked_again(fake_api: FakeApi) -> None:
    tracker = make_tracker(
        asking("verify_order_number"),
        text="hello there",
        candidates={"verify_order_number": "hello there"},
        active_loop="return_form",
    )
    events, dispatcher = run_action(ValidateReturnForm(), tracker)
    assert events == [SlotSet("verify_order_number", None), SlotSet("requested_slot", "verify_order_number")]
    assert responses(dispatcher) == ["utter_invalid_order_number"]
    assert fake_api.requests == []


def test_the_order_number_alone_reveals_nothing(fake_api: FakeApi) -> None:
    tracker = make_tracker(
        asking("verify_order_number"),
        text="ORD-100231",
        candidates={"verify_order_number": "ORD-100231"},
        active_loop="return_form",
    )
    events, dispatcher = run_action(ValidateReturnForm(), tracker)
    assert events == [SlotSet("verify_order_number", "100231"), SlotSet("requested_slot", "verify_proof")]
    assert dispatcher.messages == []
    assert fake_api.requests == []  # no lookup until the proof is there


def test_right_proof_unlocks_the_order_and_asks_for_the_item(fake_api: FakeApi) -> None:
    tracker = make_tracker(
        asking("verify_proof", verify_order_number="100231"),
        text="Jane@Example.com",
        candidates={"verify_proof": "Jane@Example.com"},
        active_loop="return_form",
    )
    events, dispatcher = run_action(ValidateReturnForm(), tracker)
    assert events == [
        SlotSet("verify_proof", "jane@example.com"),
        SlotSet("verify_order_number", "100231"),
        SlotSet("verify_proof_kind", "email"),
        SlotSet("verify_order", JANE),
        SlotSet("verify_identity", {"order_number": "100231", "kind": "email", "value": "jane@example.com"}),
        SlotSet("requested_slot", "return_items"),
        *asked("return_items"),
    ]
    assert responses(dispatcher) == ["utter_verified", "utter_ask_return_items"]  # the item question
    assert dispatcher.messages[0]["order_number"] == "100231"
    request = fake_api.requests[0]
    assert request.url.path == "/api/v1/orders/lookup"
    assert request.headers["Authorization"] == "Bearer svc-token-for-tests"


def test_a_single_item_order_skips_the_item_question(fake_api: FakeApi) -> None:
    tracker = make_tracker(
        asking("verify_proof", verify_order_number="100232"),
        text="94107",
        candidates={"verify_proof": "94107"},
        active_loop="return_form",
    )
    events, dispatcher = run_action(ValidateReturnForm(), tracker)
    slots = slot_sets(events)
    assert slots["return_items"] == ["3"]
    assert slots["requested_slot"] == "return_reason"
    assert responses(dispatcher) == ["utter_verified", "utter_item_preselected", "utter_ask_return_reason"]
    assert slots["form_asked_slot"] == "return_reason"


def test_wrong_proof_counts_an_attempt_and_asks_both_again(fake_api: FakeApi) -> None:
    tracker = make_tracker(
        asking("verify_proof", verify_order_number="100231"),
        text="99999",
        candidates={"verify_proof": "99999"},
        active_loop="return_form",
    )
    events, dispatcher = run_action(ValidateReturnForm(), tracker)
    assert events == [
        SlotSet("verify_proof", None),
        SlotSet("verify_attempts", 1.0),
        SlotSet("verify_order_number", None),
        SlotSet("verify_proof_kind", None),
        SlotSet("requested_slot", "verify_order_number"),
    ]
    assert responses(dispatcher) == ["utter_verify_failed"]
    assert dispatcher.messages[0]["attempts_left"] == 2
    assert dispatcher.messages[0]["tries_left"] == "2 more tries"
    assert dispatcher.messages[0]["proof_kind"] == "postcode"


def test_third_failure_locks_and_ends_the_form(fake_api: FakeApi) -> None:
    tracker = make_tracker(
        asking("verify_proof", verify_order_number="100231", verify_attempts=2.0),
        text="nobody@example.com",
        candidates={"verify_proof": "nobody@example.com"},
        active_loop="return_form",
    )
    events, dispatcher = run_action(ValidateReturnForm(), tracker)
    slots = slot_sets(events)
    assert slots["verify_locked"] is True
    assert slots["verify_attempts"] == 3.0
    assert events[-1] == SlotSet("requested_slot", None)
    assert responses(dispatcher) == ["utter_verify_locked"]


def test_locked_conversation_does_not_look_up_again(fake_api: FakeApi) -> None:
    tracker = make_tracker(
        asking("verify_proof", verify_order_number="100231", verify_locked=True),
        text="jane@example.com",
        candidates={"verify_proof": "jane@example.com"},
        active_loop="status_form",
    )
    events, _ = run_action(ValidateStatusForm(), tracker)
    assert events == [SlotSet("requested_slot", None)]
    assert fake_api.requests == []


def test_api_down_during_proof_says_so_and_keeps_the_attempts(fake_api: FakeApi) -> None:
    fake_api.down = True
    tracker = make_tracker(
        asking("verify_proof", verify_order_number="100231"),
        text="jane@example.com",
        candidates={"verify_proof": "jane@example.com"},
        active_loop="return_form",
    )
    events, dispatcher = run_action(ValidateReturnForm(), tracker)
    assert events == [
        SlotSet("verify_proof", None),
        SlotSet("verify_proof_kind", None),
        SlotSet("requested_slot", "verify_proof"),
    ]
    assert responses(dispatcher) == ["utter_backend_unavailable"]


def test_a_question_instead_of_the_proof_rejects_the_form(fake_api: FakeApi) -> None:
    tracker = make_tracker(
        asking("verify_proof", verify_order_number="100231"),
        intent="return_policy",
        text="whats ur return policy",
        candidates={"verify_proof": "whats ur return policy"},
        active_loop="return_form",
    )
    events, dispatcher = run_action(ValidateReturnForm(), tracker)
    assert events == [
        SlotSet("verify_proof", None),
        SlotSet("requested_slot", "verify_proof"),
        ActionExecutionRejected("return_form"),
    ]
    assert dispatcher.messages == []


def test_proof_given_before_the_number_is_checked_when_the_number_comes(fake_api: FakeApi) -> None:
    tracker = make_tracker(
        asking("verify_order_number", verify_proof="jane@example.com", verify_proof_kind="email"),
        text="100231",
        candidates={"verify_order_number": "100231"},
        active_loop="status_form",
    )
    events, dispatcher = run_action(ValidateStatusForm(), tracker)
    slots = slot_sets(events)
    assert slots["verify_identity"] == {
        "order_number": "100231",
        "kind": "email",
        "value": "jane@example.com",
    }
    # every slot of the status form is filled: Rasa's FormAction ends the form itself
    assert "requested_slot" not in slots
    assert responses(dispatcher) == ["utter_verified"]


def test_number_and_email_in_one_message_at_activation(fake_api: FakeApi) -> None:
    tracker = make_tracker(
        {},
        intent="order_status",
        text="where is 100231 jane@example.com",
        candidates={"verify_order_number": "100231", "verify_proof": "jane@example.com"},
    )
    events, _ = run_action(ValidateStatusForm(), tracker)
    assert slot_sets(events)["verify_order"]["order_number"] == "100231"
    assert "requested_slot" not in slot_sets(events)
    assert len(fake_api.requests) == 1


def test_already_proven_order_is_not_looked_up_again(fake_api: FakeApi) -> None:
    identity = {"order_number": "100231", "kind": "email", "value": "jane@example.com"}
    tracker = make_tracker(
        {"verify_order": JANE, "verify_identity": identity},
        intent="refund_status",
        candidates={"verify_order_number": "100231", "verify_proof": "jane@example.com"},
    )
    events, dispatcher = run_action(ValidateStatusForm(), tracker)
    assert events == [
        SlotSet("verify_order_number", "100231"),
        SlotSet("verify_proof", "jane@example.com"),
        SlotSet("verify_proof_kind", "email"),
    ]
    assert fake_api.requests == []
    assert dispatcher.messages == []


def test_another_order_number_needs_its_own_proof(fake_api: FakeApi) -> None:
    identity = {"order_number": "100231", "kind": "email", "value": "jane@example.com"}
    tracker = make_tracker(
        {
            "requested_slot": "verify_order_number",
            "verify_order": JANE,
            "verify_identity": identity,
            "verify_proof": "jane@example.com",
            "verify_proof_kind": "email",
        },
        text="100232",
        candidates={"verify_order_number": "100232"},
        active_loop="status_form",
    )
    events, _ = run_action(ValidateStatusForm(), tracker)
    assert events == [
        SlotSet("verify_order_number", "100232"),
        SlotSet("verify_order", None),
        SlotSet("verify_identity", None),
        SlotSet("verify_proof", None),
        SlotSet("verify_proof_kind", None),
    ]  # (Rasa's FormAction then asks verify_proof, the first empty slot of status_form)


def test_email_before_the_number_is_kept_and_the_number_asked_again(fake_api: FakeApi) -> None:
    tracker = make_tracker(
        asking("verify_order_number"),
        text="jane@example.com",
        candidates={"verify_order_number": "jane@example.com", "verify_proof": "jane@example.com"},
        active_loop="return_form",
    )
    events, dispatcher = run_action(ValidateReturnForm(), tracker)
    assert events == [
        SlotSet("verify_order_number", None),
        SlotSet("verify_proof", "jane@example.com"),
        SlotSet("verify_proof_kind", "email"),
        SlotSet("requested_slot", "verify_order_number"),
    ]
    assert dispatcher.messages == []
    assert fake_api.requests == []
