"""Messages outside any flow that only make sense in context.

- "yes" / "no": the answer to the bot's last offer ("Would you like a person to help?", "Would
  you like to start one?"). Those offers are sent from custom actions, so rules cannot see them;
  their response name is in the last bot message's metadata (`utter_action`).
- an `inform` ("my vase arrived broken", "100232"): a reason or an item starts a return; an
  order number alone asks what the shopper wants to do with that order.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import latest_intent
from actions.handoff import ActionHandoff

OFFERS_A_PERSON = (
    "utter_offer_handoff",
    "utter_return_rejected_next",
    "utter_verify_locked",
    "utter_verify_rate_limited",
    "utter_no_pickup_slots",
)
OFFERS_A_RETURN = ("utter_no_returns_yet", "utter_photo_without_return")


def last_bot_response(tracker: Tracker) -> str | None:
    """The response name of the bot's last message before the shopper's latest one."""
    users = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            users += 1
            if users > 1:
                return None
        elif event.get("event") == "bot":
            metadata: dict[str, Any] = event.get("metadata") or {}
            return metadata.get("utter_action")
    return None


class ActionAnswerYesNo(Action):
    def name(self) -> str:
        return "action_answer_yes_no"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        offered = last_bot_response(tracker)
        yes = latest_intent(tracker) == "affirm"
        if yes and offered in OFFERS_A_PERSON:
            return await ActionHandoff().run(dispatcher, tracker, domain)
        if yes and offered in OFFERS_A_RETURN:
            return [FollowupAction("return_form")]
        if not yes and offered == "utter_anything_else":
            dispatcher.utter_message(response="utter_goodbye")
        elif yes:
            dispatcher.utter_message(response="utter_how_can_i_help")
        else:
            dispatcher.utter_message(response="utter_anything_else")
        return []


class ActionRouteInform(Action):
    def name(self) -> str:
        return "action_route_inform"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        entities = {e.get("entity") for e in (tracker.latest_message or {}).get("entities") or []}
        if entities & {"return_reason", "item", "photo_ids"}:
            return [FollowupAction("return_form")]
        if entities & {"order_number", "email", "postcode"}:
            dispatcher.utter_message(response="utter_what_about_the_order")
        else:
            dispatcher.utter_message(response="utter_how_can_i_help")
        return []
