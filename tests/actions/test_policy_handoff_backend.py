"""Policy answer, handoff, fallback wording, and the HTTP client's error mapping."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from actions import backend
from actions.fallback import ActionDefaultAskAffirmation
from actions.handoff import ActionHandoff
from actions.photos import ActionKeepEarlyPhotos, photo_ids, retake_sentence
from actions.policy_info import ActionAnswerPolicy
from tests.actions.helpers import POLICY, FakeApi, make_tracker, proven, responses, run_action, slot_sets


def test_policy_comes_from_the_api(fake_api: FakeApi) -> None:
    _, dispatcher = run_action(ActionAnswerPolicy(), make_tracker(intent="return_policy"))
    assert responses(dispatcher) == ["utter_return_policy"]
    assert dispatcher.messages[0]["summary"] == "\n".join(f"• {line}" for line in POLICY["summary"])


@pytest.mark.parametrize("failure", ["down", 503])
def test_policy_when_the_api_is_down(fake_api: FakeApi, failure: object) -> None:
    if failure == "down":
        fake_api.down = True
    else:
        fake_api.fail_with = 503
    _, dispatcher = run_action(ActionAnswerPolicy(), make_tracker(intent="return_policy"))
    assert responses(dispatcher) == ["utter_backend_unavailable"]


def test_handoff_opens_a_ticket_with_context(fake_api: FakeApi) -> None:
    tracker = make_tracker(
        {**proven("100231"), "requested_slot": "return_reason"},
        intent="human_handoff",
        text="i want to talk to a human",
        active_loop="return_form",
    )
    events, dispatcher = run_action(ActionHandoff(), tracker)
    assert events == []
    assert responses(dispatcher) == ["utter_handoff_created"]
    assert dispatcher.messages[0]["ticket_id"] == 1
    ticket = fake_api.handoffs[0]
    assert ticket["conversation_id"] == "conv-test-1"
    assert ticket["order_number"] == "100231"
    assert ticket["channel"] == "rest"
    assert '"i want to talk to a human"' in ticket["message"]
    assert "return_form, at return_reason" in ticket["message"]


def test_handoff_before_proof_sends_no_order_number(fake_api: FakeApi) -> None:
    tracker = make_tracker({"verify_order_number": "100231"}, intent="human_handoff", text="agent")
    run_action(ActionHandoff(), tracker)
    assert "order_number" not in fake_api.handoffs[0]


def test_early_photo_is_kept(fake_api: FakeApi) -> None:
    tracker = make_tracker(
        {},
        intent="photo_uploaded",
        text='/photo_uploaded{"photo_ids": ["ph_1", "ph_2"]}',
        entities=[{"entity": "photo_ids", "value": "ph_1"}, {"entity": "photo_ids", "value": "ph_2"}],
    )
    events, dispatcher = run_action(ActionKeepEarlyPhotos(), tracker)
    assert slot_sets(events) == {"return_photo_inbox": ["ph_1", "ph_2"]}
    assert responses(dispatcher) == ["utter_photo_without_return"]


def test_photo_ids_and_retake_sentences() -> None:
    assert photo_ids(["ph_1", "ph_1", "../etc/passwd", "ph_2"]) == ["ph_1", "ph_2"]
    assert photo_ids("ph_9") == ["ph_9"]
    assert retake_sentence({"ok": False, "issues": ["blurred"], "message": ""}).startswith(
        "That photo is blurry"
    )
    assert retake_sentence({"ok": False, "issues": [], "message": "Too dark."}) == "Too dark."


def test_fallback_asks_in_words() -> None:
    tracker = make_tracker(
        intent="nlu_fallback",
        text="uhh the thing",
        intent_ranking=[
            {"name": "nlu_fallback", "confidence": 0.4},
            {"name": "refund_status", "confidence": 0.3},
        ],
    )
    _, dispatcher = run_action(ActionDefaultAskAffirmation(), tracker)
    assert responses(dispatcher) == ["utter_ask_affirm_intent"]
    assert dispatcher.messages[0]["meaning"] == "check on a refund"
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/refund_status"


# --- the HTTP client -----------------------------------------------------------------------------


def call(handler: httpx.MockTransport, coro_factory):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        async with backend.BackendClient("http://api.test", "tok", transport=handler) as api:
            return await coro_factory(api)

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.ConnectError("refused"), backend.BackendUnavailable),
        (httpx.ReadTimeout("slow"), backend.BackendUnavailable),
        (httpx.Response(502, text="bad gateway"), backend.BackendUnavailable),
        (httpx.Response(500, json={"detail": "oops"}), backend.BackendUnavailable),
        (
            httpx.Response(404, json={"detail": "We could not find an order with those details."}),
            backend.NotFound,
        ),
        (httpx.Response(429, json={"detail": "Too many attempts."}), backend.RateLimited),
        (httpx.Response(409, json={"detail": "slot full"}), backend.Conflict),
        (httpx.Response(422, json={"detail": "items: too short"}), backend.BackendError),
    ],
)
def test_errors_are_mapped(response: object, error: type[Exception]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(response, Exception):
            raise response
        assert isinstance(response, httpx.Response)
        return response

    with pytest.raises(error):
        call(httpx.MockTransport(handler), lambda api: api.lookup_order("100231", {"email": "a@b.co"}))


def test_service_token_and_json_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"order_number": "100231"})

    call(httpx.MockTransport(handler), lambda api: api.lookup_order("100231", {"postcode": "10001"}))
    assert seen[0].headers["Authorization"] == "Bearer tok"
    assert json.loads(seen[0].content) == {"order_number": "100231", "postcode": "10001"}


def test_idempotency_key_is_stable_per_conversation_and_body() -> None:
    body = {"order_number": "100231", "items": [{"order_item_id": 1}], "resolution": "refund"}
    key = backend.idempotency_key("conv-1", body)
    assert key == backend.idempotency_key("conv-1", dict(reversed(list(body.items()))))
    assert key != backend.idempotency_key("conv-2", body)
    assert key != backend.idempotency_key("conv-1", {**body, "resolution": "exchange"})
    assert 8 <= len(key) <= 128
