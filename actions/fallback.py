"""Two-stage fallback: "Did you mean ...?" in words a shopper understands, not intent names."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

INTENT_WORDS = {
    "start_return": "start a return",
    "exchange_request": "exchange an item",
    "order_status": "know where your order is",
    "return_status": "check on a return",
    "refund_status": "check on a refund",
    "return_policy": "know our return policy",
    "cancel_return": "cancel a return",
    "reschedule_pickup": "change a pickup time",
    "human_handoff": "talk to a person",
    "greet": "say hello",
    "goodbye": "end the chat",
    "thank": "say thanks",
    "bot_challenge": "know whether I'm a bot",
}


class ActionDefaultAskAffirmation(Action):
    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        ranking = (tracker.latest_message or {}).get("intent_ranking") or []
        candidates = [r.get("name") for r in ranking if r.get("name") in INTENT_WORDS]
        if not candidates:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        intent = candidates[0]
        dispatcher.utter_message(
            response="utter_ask_affirm_intent",
            meaning=INTENT_WORDS[intent],
            buttons=[
                {"title": "Yes", "payload": f"/{intent}"},
                {"title": "No, something else", "payload": "/out_of_scope"},
            ],
        )
        return []
