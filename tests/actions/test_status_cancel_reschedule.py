"""Order/return/refund status, cancelling and moving a pickup, on the fake API."""

from __future__ import annotations

import json
from typing import Any

from rasa_sdk.events import SlotSet

from actions.cancel import ActionAskCancelConfirmed, ActionCancelReturn, ValidateCancelForm
from actions.pickup import ActionAskRescheduleSlot, ActionReschedulePickup, ValidateRescheduleForm
from actions.status import ActionAnswerStatus
from tests.actions.helpers import FakeApi, make_tracker, proven, responses, run_action, slot_sets


def booked_return(fake_api: FakeApi, status: str = "pickup_scheduled") -> dict[str, Any]:
    ret = {
        "rma": "RMA-0000ABCD",
        "order_number": "100231",
        "status": status,
        "resolution": "refund",
        "refund_amount": "114.05",
        "currency": "USD",
        "keep_item": False,
        "review_hours": None,
        "items": [{"order_item_id": 1, "name": "Running shoes", "quantity": 1}],
        "pickup": {
            "carrier": "Acme Local Courier",
            "date": "2026-11-27",
            "window": "morning",
            "hours": "09:00-12:00",
            "reference": "PU-0001",
            "status": "scheduled",
            "address": {"postcode": "10001"},
        },
        "label_url": "http://x/label.pdf?token=t",
    }
    fake_api.returns[ret["rma"]] = ret
    return ret


# --- status -------------------------------------------------------------------------------------


def test_order_status_after_proof(fake_api: FakeApi) -> None:
    tracker = make_tracker({**proven("100231"), "status_topic": "order"}, intent="inform", text="10001")
    events, dispatcher = run_action(ActionAnswerStatus(), tracker)
    assert events == []
    assert responses(dispatcher) == ["utter_order_status_delivered"]
    assert dispatcher.messages[0]["day"] == "Saturday 21 November"
    assert dispatcher.messages[0]["items"] == "Running shoes and Cotton t-shirt"


def test_return_status_lists_each_return(fake_api: FakeApi) -> None:
    booked_return(fake_api)
    tracker = make_tracker({**proven("100231"), "status_topic": "return"}, text="jane@example.com")
    _, dispatcher = run_action(ActionAnswerStatus(), tracker)
    assert responses(dispatcher) == ["utter_return_status"]
    assert dispatcher.messages[0]["lines"] == (
        "• RMA-0000ABCD (Running shoes): approved, with a pickup booked; pickup Friday 27 November, morning "
        "(09:00-12:00) with Acme Local Courier, reference PU-0001"
    )
    assert json.loads(fake_api.requests[-1].content) == {
        "order_number": "100231",
        "email": "jane@example.com",
    }


def test_refund_status_says_when_the_money_comes(fake_api: FakeApi) -> None:
    booked_return(fake_api)
    tracker = make_tracker({**proven("100231"), "status_topic": "order"}, intent="refund_status")
    _, dispatcher = run_action(ActionAnswerStatus(), tracker)
    assert responses(dispatcher) == ["utter_refund_status"]
    assert dispatcher.messages[0]["lines"].endswith(
        "Refund of $114.05 is issued as soon as the item reaches us"
    )


def test_no_returns_yet_offers_to_start_one(fake_api: FakeApi) -> None:
    _, dispatcher = run_action(
        ActionAnswerStatus(), make_tracker({**proven("100231"), "status_topic": "return"})
    )
    assert responses(dispatcher) == ["utter_no_returns_yet"]


def test_status_question_before_proof_reveals_nothing(fake_api: FakeApi) -> None:
    tracker = make_tracker(
        {"verify_order_number": "100231"}, intent="order_status", active_loop="return_form"
    )
    _, dispatcher = run_action(ActionAnswerStatus(), tracker)
    assert responses(dispatcher) == ["utter_status_after_verification"]
    assert fake_api.requests == []


def test_status_with_api_down(fake_api: FakeApi) -> None:
    fake_api.down = True
    _, dispatcher = run_action(
        ActionAnswerStatus(), make_tracker({**proven("100231"), "status_topic": "return"})
    )
    assert responses(dispatcher) == ["utter_backend_unavailable"]


# --- cancel -----------------------------------------------------------------------------------


def test_cancel_form_picks_the_only_cancellable_return(fake_api: FakeApi) -> None:
    ret = booked_return(fake_api)
    tracker = make_tracker(
        {"verify_order_number": "100231", "requested_slot": "verify_proof"},
        text="jane@example.com",
        candidates={"verify_proof": "jane@example.com"},
        active_loop="cancel_form",
    )
    events, dispatcher = run_action(ValidateCancelForm(), tracker)
    slots = slot_sets(events)
    assert slots["cancel_rma"] == "RMA-0000ABCD"
    assert slots["cancel_candidates"] == [ret]
    assert "requested_slot" not in slots  # Rasa's FormAction asks the next empty slot: cancel_confirmed
    assert responses(dispatcher) == ["utter_verified"]


def test_cancel_with_nothing_cancellable(fake_api: FakeApi) -> None:
    booked_return(fake_api, status="picked_up")
    tracker = make_tracker(
        {"verify_order_number": "100231", "requested_slot": "verify_proof"},
        text="10001",
        candidates={"verify_proof": "10001"},
        active_loop="cancel_form",
    )
    events, dispatcher = run_action(ValidateCancelForm(), tracker)
    assert slot_sets(events)["cancel_blocked"] is True
    assert events[-1] == SlotSet("requested_slot", None)
    assert responses(dispatcher) == ["utter_verified", "utter_nothing_to_cancel"]


def test_cancel_confirmation_and_cancel(fake_api: FakeApi) -> None:
    ret = booked_return(fake_api)
    slots = {**proven("100231"), "cancel_rma": ret["rma"], "cancel_candidates": [ret]}
    _, dispatcher = run_action(ActionAskCancelConfirmed(), make_tracker(slots))
    assert responses(dispatcher) == ["utter_ask_cancel_confirmed"]
    assert "RMA-0000ABCD" in dispatcher.messages[0]["summary"]
    events, dispatcher = run_action(ActionCancelReturn(), make_tracker({**slots, "cancel_confirmed": True}))
    assert responses(dispatcher) == ["utter_return_cancelled"]
    assert fake_api.returns[ret["rma"]]["status"] == "cancelled"
    assert events == [
        SlotSet("cancel_rma", None),
        SlotSet("cancel_candidates", None),
        SlotSet("cancel_confirmed", None),
        SlotSet("cancel_blocked", None),
    ]


def test_cancel_declined_keeps_the_return(fake_api: FakeApi) -> None:
    ret = booked_return(fake_api)
    slots = {**proven("100231"), "cancel_rma": ret["rma"], "cancel_confirmed": False}
    _, dispatcher = run_action(ActionCancelReturn(), make_tracker(slots))
    assert responses(dispatcher) == ["utter_cancel_kept"]
    assert fake_api.returns[ret["rma"]]["status"] == "pickup_scheduled"


def test_cancel_after_pickup_is_refused_in_words(fake_api: FakeApi) -> None:
    ret = booked_return(fake_api, status="picked_up")
    slots = {**proven("100231"), "cancel_rma": ret["rma"], "cancel_confirmed": True}
    _, dispatcher = run_action(ActionCancelReturn(), make_tracker(slots))
    assert responses(dispatcher) == ["utter_cancel_refused"]
    assert "can no longer be cancelled" in dispatcher.messages[0]["detail"]


# --- reschedule ---------------------------------------------------------------------------------


def test_reschedule_offers_other_slots_and_moves_the_pickup(fake_api: FakeApi) -> None:
    ret = booked_return(fake_api)
    tracker = make_tracker(
        {"verify_order_number": "100231", "requested_slot": "verify_proof"},
        text="10001",
        candidates={"verify_proof": "10001"},
        active_loop="reschedule_form",
    )
    events, _ = run_action(ValidateRescheduleForm(), tracker)
    slots = {**slot_sets(events)}
    assert slots["reschedule_rma"] == ret["rma"]
    assert "requested_slot" not in slots  # Rasa's FormAction asks the next empty slot: reschedule_slot
    state = {**proven("100231", "postcode"), **slots}
    events, dispatcher = run_action(ActionAskRescheduleSlot(), make_tracker(state))
    assert responses(dispatcher) == ["utter_ask_reschedule_slot"]
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == [
        '/inform{"choice": "2026-11-27|afternoon"}'
    ]
    state.update(slot_sets(events))
    tracker = make_tracker(
        {**state, "requested_slot": "reschedule_slot"},
        text="afternoon",
        candidates={"reschedule_slot": "afternoon"},
        active_loop="reschedule_form",
    )
    events, _ = run_action(ValidateRescheduleForm(), tracker)
    assert slot_sets(events)["reschedule_slot"] == "2026-11-27|afternoon"
    state.update(slot_sets(events))
    _, dispatcher = run_action(ActionReschedulePickup(), make_tracker(state))
    assert responses(dispatcher) == ["utter_pickup_rescheduled"]
    assert dispatcher.messages[0]["reference"] == "PU-NEW-0002"
    assert json.loads(fake_api.requests[-1].content) == {
        "postcode": "10001",
        "date": "2026-11-27",
        "window": "afternoon",
    }


def test_reschedule_without_a_booked_pickup(fake_api: FakeApi) -> None:
    tracker = make_tracker(
        {"verify_order_number": "100231", "requested_slot": "verify_proof"},
        text="10001",
        candidates={"verify_proof": "10001"},
        active_loop="reschedule_form",
    )
    events, dispatcher = run_action(ValidateRescheduleForm(), tracker)
    assert slot_sets(events)["reschedule_blocked"] is True
    assert responses(dispatcher) == ["utter_verified", "utter_nothing_to_reschedule"]
