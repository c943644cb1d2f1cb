"""Proactive notices from the backend are said in the chat as the backend wrote them."""

from __future__ import annotations

from actions.notices import ActionRelayNotice
from tests.actions.helpers import make_tracker, responses, run_action


def test_the_backend_message_is_said_as_is() -> None:
    tracker = make_tracker(
        intent="EXTERNAL_return_update",
        entities=[
            {"entity": "rma", "value": "RMA-1A2B3C4D"},
            {"entity": "return_event", "value": "refund_issued"},
            {"entity": "return_message", "value": "Your refund of $60.00 for RMA-1A2B3C4D is on its way."},
        ],
    )
    events, dispatcher = run_action(ActionRelayNotice(), tracker)
    assert events == []
    assert [m["text"] for m in dispatcher.messages] == [
        "Your refund of $60.00 for RMA-1A2B3C4D is on its way."
    ]


def test_a_review_decision_uses_its_own_message() -> None:
    tracker = make_tracker(
        intent="EXTERNAL_review_decision",
        entities=[{"entity": "review_message", "value": "Good news: your return is approved."}],
    )
    _, dispatcher = run_action(ActionRelayNotice(), tracker)
    assert dispatcher.messages[0]["text"] == "Good news: your return is approved."


def test_a_notice_without_a_message_points_to_the_email() -> None:
    tracker = make_tracker(intent="EXTERNAL_return_update", entities=[{"entity": "rma", "value": "RMA-1"}])
    _, dispatcher = run_action(ActionRelayNotice(), tracker)
    assert responses(dispatcher) == ["utter_notice_fallback"]
