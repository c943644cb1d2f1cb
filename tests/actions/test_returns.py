"""The return form step by step, on the fake API: events, response names and what was written."""

from __future__ import annotations

import json
from typing import Any

from rasa_sdk.events import ActionExecutionRejected, SlotSet

from actions.pickup import ActionAskPickupSlot
from actions.returns import (
    ActionAskReturnConfirmed,
    ActionAskReturnItems,
    ActionAskReturnReason,
    ActionAskReturnResolution,
    ActionFinishReturn,
    ActionPreferExchange,
    ActionResetReturn,
    ValidateReturnForm,
)
from tests.actions.helpers import (
    REASONS,
    FakeApi,
    asked,
    catalogue_event,
    decision,
    make_tracker,
    proven,
    responses,
    run_action,
    slot_sets,
)

FORM = "return_form"


def step(
    slots: dict[str, Any], asking: str, value: Any, *, text: str | None = None, intent: str = "inform"
) -> tuple[list[dict[str, Any]], Any]:
    tracker = make_tracker(
        {**slots, "requested_slot": asking},
        text=text if text is not None else str(value),
        intent=intent,
        candidates={asking: value},
        active_loop=FORM,
    )
    return run_action(ValidateReturnForm(), tracker)


# --- items and reason -----------------------------------------------------------------------


def test_items_by_typing_both(fake_api: FakeApi) -> None:
    events, dispatcher = step(proven("100231"), "return_items", ["both"], text="both")
    assert events == [
        SlotSet("return_items", ["1", "2"]),
        SlotSet("requested_slot", "return_reason"),
        *asked("return_reason", catalogue_event()),
    ]
    assert responses(dispatcher) == ["utter_ask_return_reason"]  # the next question, same call
    assert dispatcher.messages[0]["item"] == "Running shoes and Cotton t-shirt"


def test_item_buttons_list_only_returnable_items(fake_api: FakeApi) -> None:
    _, dispatcher = run_action(ActionAskReturnItems(), make_tracker(proven("100231")))
    assert responses(dispatcher) == ["utter_ask_return_items"]
    assert dispatcher.messages[0]["buttons"] == [
        {"title": "Running shoes ($120.00)", "payload": '/inform{"item": "item-1"}'},
        {"title": "Cotton t-shirt ($25.00)", "payload": '/inform{"item": "item-2"}'},
        {"title": "All of them", "payload": '/inform{"item": "all"}'},
    ]


def test_unknown_item_is_asked_again(fake_api: FakeApi) -> None:
    events, dispatcher = step(proven("100231"), "return_items", ["the vase"], text="the vase")
    assert events == [
        SlotSet("return_items", None),
        SlotSet("requested_slot", "return_items"),
        *asked("return_items"),
    ]
    assert responses(dispatcher) == ["utter_item_not_understood", "utter_ask_return_items"]


def test_item_named_before_proof_is_kept_as_a_hint(fake_api: FakeApi) -> None:
    tracker = make_tracker(
        {}, intent="start_return", text="return the t-shirt", candidates={"return_items": ["t-shirt"]}
    )
    events, dispatcher = run_action(ValidateReturnForm(), tracker)
    assert events == [
        SlotSet("return_items", None),
        SlotSet("return_item_hint", "t-shirt"),
        SlotSet("requested_slot", "verify_order_number"),
    ]
    assert dispatcher.messages == []
    # once the order is proven the hint picks the item, and the reason is asked next
    tracker = make_tracker(
        {"verify_order_number": "100231", "return_item_hint": "t-shirt", "requested_slot": "verify_proof"},
        text="10001",
        candidates={"verify_proof": "10001"},
        active_loop=FORM,
    )
    events, _ = run_action(ValidateReturnForm(), tracker)
    slots = slot_sets(events)
    assert slots["return_items"] == ["2"]
    assert slots["requested_slot"] == "return_reason"


def test_reason_buttons_come_from_the_policy_catalogue(fake_api: FakeApi) -> None:
    tracker = make_tracker({**proven("100231"), "return_items": ["1"]})
    events, dispatcher = run_action(ActionAskReturnReason(), tracker)
    assert responses(dispatcher) == ["utter_ask_return_reason"]
    assert dispatcher.messages[0]["item"] == "Running shoes"
    assert dispatcher.messages[0]["buttons"][0] == {
        "title": "Arrived damaged",
        "payload": '/inform{"return_reason": "damaged_on_arrival"}',
    }
    assert events == [
        SlotSet("return_reason_catalogue", [{"code": r["code"], "label": r["label"]} for r in REASONS])
    ]


def test_free_text_reason_gets_a_decision_with_its_reasons(fake_api: FakeApi) -> None:
    slots = {**proven("100231"), "return_items": ["1"]}
    events, dispatcher = step(slots, "return_reason", "they're too small", text="they're too small")
    new = slot_sets(events)
    assert new["return_reason"] == "doesnt_fit"
    assert new["return_reason_text"] == "they're too small"
    assert new["return_decision"]["outcome"] == "approve"
    assert new["requested_slot"] == "return_resolution"
    assert responses(dispatcher) == [
        "utter_decision_approve",
        "utter_decision_reasons",
        "utter_ask_return_resolution",
    ]
    assert dispatcher.messages[1]["reasons"] == "• You're within the 30-day return window."
    assert new["form_asked_slot"] == "return_resolution"
    quote = json.loads(fake_api.requests[-1].content)
    assert quote["items"] == [
        {
            "order_item_id": 1,
            "quantity": 1,
            "reason_code": "doesnt_fit",
            "reason_text": "they're too small",
            "photo_ids": [],
        }
    ]
    assert quote["email"] == "jane@example.com"
    assert quote["conversation_id"] == "conv-test-1"


def test_unclear_reason_is_asked_again(fake_api: FakeApi) -> None:
    events, dispatcher = step({**proven("100231"), "return_items": ["1"]}, "return_reason", "hmm", text="hmm")
    assert events == [
        SlotSet("return_reason", None),
        SlotSet("requested_slot", "return_reason"),
        *asked("return_reason", catalogue_event()),
    ]
    assert responses(dispatcher) == ["utter_reason_not_understood", "utter_ask_return_reason"]


def test_stop_instead_of_a_reason_rejects_the_form(fake_api: FakeApi) -> None:
    events, _ = step({**proven("100231"), "return_items": ["1"]}, "return_reason", "stop", intent="deny")
    assert events[-1] == ActionExecutionRejected(FORM)


def test_api_down_while_quoting_asks_the_reason_again(fake_api: FakeApi) -> None:
    fake_api.down = True
    events, dispatcher = step({**proven("100231"), "return_items": ["1"]}, "return_reason", "doesnt_fit")
    # the question again, without the catalogue's buttons while the API is down
    assert events == [
        SlotSet("return_reason", None),
        SlotSet("requested_slot", "return_reason"),
        *asked("return_reason"),
    ]
    assert responses(dispatcher) == ["utter_backend_unavailable", "utter_ask_return_reason"]
    assert "buttons" not in dispatcher.messages[1] or not dispatcher.messages[1]["buttons"]


def test_nothing_returnable_is_explained_with_the_policy_words(fake_api: FakeApi) -> None:
    tracker = make_tracker(
        {"verify_order_number": "100235", "requested_slot": "verify_proof"},
        text="73301",
        candidates={"verify_proof": "73301"},
        active_loop=FORM,
    )
    events, dispatcher = run_action(ValidateReturnForm(), tracker)
    assert slot_sets(events)["return_blocked"] is True
    assert events[-1] == SlotSet("requested_slot", None)
    assert responses(dispatcher) == ["utter_verified", "utter_nothing_returnable"]
    assert (
        dispatcher.messages[1]["reasons"]
        == "• The swimsuit was bought on final sale, so it can't be returned."
    )


# --- photos ------------------------------------------------------------------------------------


def vase_waiting_for_photos(fake_api: FakeApi) -> dict[str, Any]:
    slots = {**proven("100232"), "return_items": ["3"]}
    events, dispatcher = step(slots, "return_reason", "it arrived cracked", text="it arrived cracked")
    new = slot_sets(events)
    assert new["requested_slot"] == "return_photos"
    assert new["return_photos_needed"] == 1.0
    assert new["return_photo_items"] == ["3"]
    # the photo question, in the policy's words, comes from the ask action within the same call
    assert responses(dispatcher) == ["utter_ask_return_photos_policy"]
    assert dispatcher.messages[0]["policy_message"].startswith("Please send 1 photo of the ceramic vase")
    assert new.pop("form_asked_slot") == "return_photos"
    new.pop("requested_slot")
    return {**slots, **new}


def test_damage_reason_asks_for_photos(fake_api: FakeApi) -> None:
    from actions.photos import ActionAskReturnPhotos

    slots = vase_waiting_for_photos(fake_api)
    _, dispatcher = run_action(ActionAskReturnPhotos(), make_tracker(slots))
    assert responses(dispatcher) == ["utter_ask_return_photos_policy"]
    assert dispatcher.messages[0]["policy_message"].startswith("Please send 1 photo of the ceramic vase")


def test_dark_photo_gets_its_retake_sentence(fake_api: FakeApi, no_model: None) -> None:
    slots = vase_waiting_for_photos(fake_api)
    fake_api.photos["ph_dark"] = b"dark pixels"
    events, dispatcher = step(
        slots,
        "return_photos",
        ["ph_dark"],
        text='/photo_uploaded{"photo_ids": ["ph_dark"]}',
        intent="photo_uploaded",
    )
    assert events == [
        SlotSet("return_photos", None),
        SlotSet("return_photos_accepted", []),
        SlotSet("requested_slot", "return_photos"),
        *asked("return_photos"),
    ]
    assert responses(dispatcher) == ["utter_photo_retake", "utter_ask_return_photos_policy"]
    assert (
        dispatcher.messages[0]["retake_message"]
        == "That photo is too dark, please retake it in better light."
    )
    assert fake_api.assessments["ph_dark"]["quality"]["ok"] is False  # stored for the merchant anyway


def test_good_photo_is_assessed_stored_and_decided(fake_api: FakeApi, no_model: None) -> None:
    slots = vase_waiting_for_photos(fake_api)
    fake_api.photos["ph_good"] = b"jpeg bytes"
    events, dispatcher = step(
        slots,
        "return_photos",
        ["ph_good"],
        text='/photo_uploaded{"photo_ids": ["ph_good"]}',
        intent="photo_uploaded",
    )
    new = slot_sets(events)
    assert new["return_photos"] == ["ph_good"]
    assert new["return_photos_accepted"] == ["ph_good"]
    assert new["return_decision"]["outcome"] == "approve"
    assert new["requested_slot"] == "return_resolution"
    assert responses(dispatcher) == [
        "utter_decision_approve",
        "utter_decision_reasons",
        "utter_ask_return_resolution",
    ]
    stored = fake_api.assessments["ph_good"]
    assert stored["heatmap_png_b64"].startswith("iVBORw0KGgo")  # a PNG
    assert stored["model_version"] == "test-model"
    quotes = [json.loads(r.content) for r in fake_api.requests if r.url.path == "/api/v1/returns/quote"]
    assert quotes[-1]["items"][0]["photo_ids"] == ["ph_good"]


def test_photo_without_a_working_model_still_counts(fake_api: FakeApi, monkeypatch: Any) -> None:
    from actions import photos

    def broken(data: bytes) -> Any:
        raise RuntimeError("no models/damage here")

    monkeypatch.setattr(photos, "_assess_sync", broken)
    slots = vase_waiting_for_photos(fake_api)
    fake_api.photos["ph_x"] = b"jpeg"
    events, _ = step(slots, "return_photos", ["ph_x"], intent="photo_uploaded")
    assert slot_sets(events)["return_photos"] == ["ph_x"]
    assert "ph_x" not in fake_api.assessments  # the policy sees it as unassessed and sends it to review


def test_early_photos_are_used_when_photos_are_needed(fake_api: FakeApi, no_model: None) -> None:
    fake_api.photos["ph_early"] = b"jpeg"
    slots = {**proven("100232"), "return_items": ["3"], "return_photo_inbox": ["ph_early"]}
    events, _ = step(slots, "return_reason", "damaged_on_arrival")
    new = slot_sets(events)
    assert new["return_photo_inbox"] is None
    assert new["return_photos"] == ["ph_early"]
    assert new["return_decision"]["outcome"] == "approve"
    assert new["requested_slot"] == "return_resolution"


# --- resolution, pickup, confirmation -------------------------------------------------------------


def approved_shoes() -> dict[str, Any]:
    return {
        **proven("100231"),
        "return_items": ["1"],
        "return_reason": "doesnt_fit",
        "return_decision": {**decision("approve"), "_key": "x"},
    }


def test_resolution_buttons_show_the_money(fake_api: FakeApi) -> None:
    _, dispatcher = run_action(ActionAskReturnResolution(), make_tracker(approved_shoes()))
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == [
        "Refund ($114.05)",
        "Exchange",
        "Store credit (+10% bonus)",
    ]


def test_refund_chosen_then_pickup(fake_api: FakeApi) -> None:
    events, dispatcher = step(
        approved_shoes(), "return_resolution", "refund", text='/inform{"choice": "refund"}'
    )
    new = slot_sets(events)
    assert new["return_resolution"] == "refund"
    assert new["requested_slot"] == "pickup_slot"
    quotes = [r for r in fake_api.requests if r.url.path == "/api/v1/returns/quote"]
    assert json.loads(quotes[-1].content)["resolution"] == "refund"
    assert responses(dispatcher) == ["utter_ask_pickup_slot"]  # the slots, asked in the same call
    assert new["pickup_slots_offered"] and new["form_asked_slot"] == "pickup_slot"


def test_exchange_asks_for_the_replacement_size(fake_api: FakeApi) -> None:
    events, _ = step(approved_shoes(), "return_resolution", "exchange")
    assert slot_sets(events)["requested_slot"] == "return_exchange_variant"
    slots = {**approved_shoes(), "return_resolution": "exchange"}
    events, _ = step(slots, "return_exchange_variant", "EU 41")
    new = slot_sets(events)
    assert new["return_exchange_choices"] == {"1": "11"}
    assert new["requested_slot"] == "pickup_slot"
    quotes = [r for r in fake_api.requests if r.url.path == "/api/v1/returns/quote"]
    assert json.loads(quotes[-1].content)["items"][0]["exchange_variant_id"] == 11


def test_keep_item_skips_the_pickup(fake_api: FakeApi) -> None:
    slots = {**proven("100237"), "return_items": ["7"]}
    events, _ = step(slots, "return_reason", "changed my mind")
    new = slot_sets(events)
    assert new["return_decision"]["keep_item"] is True
    assert new["requested_slot"] == "return_resolution"
    events, _ = step(
        {**slots, **{k: v for k, v in new.items() if k != "requested_slot"}}, "return_resolution", "refund"
    )
    assert slot_sets(events)["requested_slot"] == "return_confirmed"


def test_pickup_slot_buttons_only_available_slots(fake_api: FakeApi) -> None:
    events, dispatcher = run_action(ActionAskPickupSlot(), make_tracker(approved_shoes()))
    assert responses(dispatcher) == ["utter_ask_pickup_slot"]
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == [
        '/inform{"choice": "2026-11-27|morning"}',
        '/inform{"choice": "2026-11-27|afternoon"}',
    ]
    assert fake_api.requests[-1].url.params["postcode"] == "10001"
    assert len(slot_sets(events)["pickup_slots_offered"]) == 2


def ready_to_submit() -> dict[str, Any]:
    choice = {
        "date": "2026-11-27",
        "window": "morning",
        "hours": "09:00-12:00",
        "carrier": "Acme Local Courier",
    }
    return {
        **approved_shoes(),
        "return_resolution": "refund",
        "pickup_slot": "2026-11-27|morning",
        "pickup_choice": choice,
        "pickup_address_confirmed": True,
        "return_reason_catalogue": [{"code": "doesnt_fit", "label": "Doesn't fit"}],
    }


def test_summary_before_submitting(fake_api: FakeApi) -> None:
    _, dispatcher = run_action(ActionAskReturnConfirmed(), make_tracker(ready_to_submit()))
    assert responses(dispatcher) == ["utter_ask_return_confirmed"]
    assert dispatcher.messages[0]["summary"] == "\n".join(
        [
            "• Order 100231: Running shoes",
            "• Reason: Doesn't fit",
            "• Refund: $114.05 to your original payment method",
            "• Pickup: Friday 27 November, morning (09:00-12:00) with Acme Local Courier",
            "• From: Jane Doe, 350 5th Ave, New York 10001",
        ]
    )


def test_yes_writes_the_return_once_even_when_retried(fake_api: FakeApi) -> None:
    events, _ = step(ready_to_submit(), "return_confirmed", True, text="yes", intent="affirm")
    created = slot_sets(events)["return_result"]
    assert events[-1] == SlotSet("requested_slot", None)
    post = next(r for r in fake_api.requests if r.url.path == "/api/v1/returns")
    body = json.loads(post.content)
    assert body["pickup"] == {"date": "2026-11-27", "window": "morning"}
    assert body["address_confirmed"] is True
    key = post.headers["Idempotency-Key"]
    # the same turn again (e.g. the shopper pressed "yes" twice after a timeout): same key, same return
    events, _ = step(ready_to_submit(), "return_confirmed", True, text="yes", intent="affirm")
    assert slot_sets(events)["return_result"]["rma"] == created["rma"]
    posts = [r for r in fake_api.requests if r.url.path == "/api/v1/returns"]
    assert [p.headers["Idempotency-Key"] for p in posts] == [key, key]
    assert len(fake_api.returns) == 1


def test_api_down_at_submit_writes_nothing_and_asks_again(fake_api: FakeApi) -> None:
    fake_api.down = True
    events, dispatcher = step(ready_to_submit(), "return_confirmed", True, text="yes", intent="affirm")
    assert events == [
        SlotSet("return_confirmed", None),
        SlotSet("requested_slot", "return_confirmed"),
        *asked("return_confirmed"),
    ]
    assert responses(dispatcher) == ["utter_backend_unavailable", "utter_ask_return_confirmed"]
    assert fake_api.returns == {}


def test_slot_taken_meanwhile_asks_for_another(fake_api: FakeApi) -> None:
    fake_api.create_status = (409, "That pickup slot is full; please choose another one.")
    events, dispatcher = step(ready_to_submit(), "return_confirmed", True, text="yes", intent="affirm")
    new = slot_sets(events)
    assert new["pickup_slot"] is None
    assert new["requested_slot"] == "pickup_slot"
    assert responses(dispatcher) == ["utter_pickup_slot_taken", "utter_ask_pickup_slot"]


def test_no_at_the_summary_ends_without_writing(fake_api: FakeApi) -> None:
    events, _ = step(ready_to_submit(), "return_confirmed", False, text="no", intent="deny")
    assert events == [SlotSet("return_confirmed", False), SlotSet("requested_slot", None)]
    assert not any(r.url.path == "/api/v1/returns" for r in fake_api.requests)


# --- after the form -----------------------------------------------------------------------------


def test_finish_tells_rma_pickup_label_and_next_steps(fake_api: FakeApi) -> None:
    events, _ = step(ready_to_submit(), "return_confirmed", True, text="yes", intent="affirm")
    slots = {**ready_to_submit(), **slot_sets(events)}
    events, dispatcher = run_action(ActionFinishReturn(), make_tracker(slots))
    assert responses(dispatcher) == [
        "utter_return_created",
        "utter_return_pickup_booked",
        "utter_next_steps_refund",
    ]
    booked = dispatcher.messages[1]
    assert booked["day"] == "Friday 27 November"
    assert booked["window"] == "morning"
    assert booked["hours"] == "09:00-12:00"
    assert booked["carrier"] == "Acme Local Courier"
    assert booked["reference"] == "PU-0001"
    assert booked["label_url"].endswith("/label.pdf?token=t0k")
    assert dispatcher.messages[2]["amount"] == "$114.05"
    cleared = slot_sets(events)
    assert set(cleared.values()) == {None}
    assert "verify_identity" not in cleared  # the proven order stays for "where is my return?"


def test_finish_after_a_rejection_offers_a_person(fake_api: FakeApi) -> None:
    slots = {**proven("100231"), "return_decision": decision("reject")}
    _, dispatcher = run_action(ActionFinishReturn(), make_tracker(slots))
    assert responses(dispatcher) == ["utter_return_rejected_next"]


def test_finish_after_lockout_offers_a_person(fake_api: FakeApi) -> None:
    _, dispatcher = run_action(ActionFinishReturn(), make_tracker({"verify_locked": True}))
    assert responses(dispatcher) == ["utter_offer_handoff"]


def test_review_keeps_the_pickup_on_hold(fake_api: FakeApi) -> None:
    created = {
        "rma": "RMA-0000000A",
        "status": "under_review",
        "resolution": "refund",
        "refund_amount": "349.00",
        "currency": "USD",
        "keep_item": False,
        "review_hours": 48,
        "label_url": "http://x/label.pdf?token=t",
        "pickup": {
            "carrier": "Acme Local Courier",
            "date": "2026-11-27",
            "window": "morning",
            "hours": "09:00-12:00",
            "reference": "PU-1",
            "status": "on_hold",
        },
    }
    _, dispatcher = run_action(ActionFinishReturn(), make_tracker({"return_result": created}))
    assert responses(dispatcher) == [
        "utter_return_created",
        "utter_return_under_review",
        "utter_return_pickup_on_hold",
        "utter_next_steps_refund",
    ]
    assert dispatcher.messages[1]["review_hours"] == 48
    assert dispatcher.messages[3]["when"] == "once it's approved"


def test_keep_item_return_needs_no_pickup_words(fake_api: FakeApi) -> None:
    created = {
        "rma": "RMA-0000000B",
        "status": "approved",
        "resolution": "refund",
        "refund_amount": "15.00",
        "currency": "USD",
        "keep_item": True,
        "pickup": None,
        "label_url": None,
    }
    _, dispatcher = run_action(ActionFinishReturn(), make_tracker({"return_result": created}))
    assert responses(dispatcher) == [
        "utter_return_created",
        "utter_return_keep_item",
        "utter_next_steps_refund",
    ]


def test_start_over_clears_the_draft_and_the_order(fake_api: FakeApi) -> None:
    events, dispatcher = run_action(
        ActionResetReturn(), make_tracker({**approved_shoes(), "verify_attempts": 1.0})
    )
    cleared = slot_sets(events)
    assert set(cleared) == {
        "verify_order_number",
        "verify_proof",
        "verify_proof_kind",
        "verify_order",
        "verify_identity",
        "return_items",
        "return_reason",
        "return_decision",
    }
    assert set(cleared.values()) == {None}
    assert dispatcher.messages == []


def test_exchange_asked_midway_switches_when_allowed(fake_api: FakeApi) -> None:
    tracker = make_tracker(
        {**approved_shoes(), "return_resolution": "refund", "requested_slot": "pickup_slot"},
        intent="exchange_request",
        text="actually can i swap them",
        active_loop=FORM,
    )
    events, dispatcher = run_action(ActionPreferExchange(), tracker)
    assert events == [
        SlotSet("return_preferred_resolution", "exchange"),
        SlotSet("return_resolution", "exchange"),
        SlotSet("return_exchange_choices", None),
        SlotSet("return_exchange_variant", None),
        SlotSet("return_confirmed", None),
    ]
    assert responses(dispatcher) == ["utter_resolution_set"]


def test_exchange_request_preselects_exchange(fake_api: FakeApi) -> None:
    slots = {**proven("100231"), "return_items": ["1"], "return_preferred_resolution": "exchange"}
    events, dispatcher = step(slots, "return_reason", "too small")
    new = slot_sets(events)
    assert new["return_resolution"] == "exchange"
    assert new["requested_slot"] == "return_exchange_variant"
    assert responses(dispatcher) == [
        "utter_decision_approve",
        "utter_decision_reasons",
        "utter_resolution_set",
        "utter_ask_return_exchange_variant",
    ]


def test_return_after_a_status_check_starts_from_the_proven_order(fake_api: FakeApi) -> None:
    proof = proven("100232")
    tracker = make_tracker(
        proof,
        intent="start_return",
        text="i want to return it",
        candidates={k: proof[k] for k in ("verify_order_number", "verify_proof")},
    )
    events, dispatcher = run_action(ValidateReturnForm(), tracker)
    assert slot_sets(events)["return_items"] == ["3"]
    assert events[-1] == SlotSet("requested_slot", "return_reason")
    assert responses(dispatcher) == ["utter_item_preselected"]  # no second "that matches"
    assert fake_api.requests == []


def test_return_of_an_undelivered_order_is_refused_at_once(fake_api: FakeApi) -> None:
    order = {
        **proven("100232")["verify_order"],
        "order_number": "100236",
        "status": "shipped",
        "delivered_at": None,
    }
    identity = {"order_number": "100236", "kind": "email", "value": "ana@example.com"}
    tracker = make_tracker(
        {"verify_order": order, "verify_identity": identity},
        intent="start_return",
        candidates={"verify_order_number": "100236", "verify_proof": "ana@example.com"},
    )
    events, dispatcher = run_action(ValidateReturnForm(), tracker)
    assert slot_sets(events)["return_blocked"] is True
    assert events[-1] == SlotSet("requested_slot", None)
    assert responses(dispatcher) == ["utter_nothing_returnable"]


def test_unreadable_photo_asks_again(fake_api: FakeApi, monkeypatch: Any) -> None:
    from actions import photos

    class ImageError(Exception):
        pass

    def unreadable(data: bytes) -> Any:
        raise ImageError("cannot identify image file")

    monkeypatch.setattr(photos, "_assess_sync", unreadable)
    slots = vase_waiting_for_photos(fake_api)
    fake_api.photos["ph_pdf"] = b"%PDF-1.4"
    events, dispatcher = step(slots, "return_photos", ["ph_pdf"], intent="photo_uploaded")
    assert slot_sets(events)["requested_slot"] == "return_photos"
    assert responses(dispatcher) == ["utter_photo_retake", "utter_ask_return_photos_policy"]
    assert dispatcher.messages[0]["retake_message"] == photos.UNREADABLE


def test_summary_fetches_reason_labels_when_the_reason_came_first(fake_api: FakeApi) -> None:
    slots = {**ready_to_submit(), "return_reason_catalogue": None}
    events, dispatcher = run_action(ActionAskReturnConfirmed(), make_tracker(slots))
    assert "• Reason: Doesn't fit" in dispatcher.messages[0]["summary"]
    assert slot_sets(events)["return_reason_catalogue"][0] == {
        "code": "damaged_on_arrival",
        "label": "Arrived damaged",
    }
