"""Relaying the backend's proactive notices (pickup booked, parcel arrived, refund issued,
review decision) into the chat: the API triggers EXTERNAL_* intents with the message as entities.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

MESSAGE_ENTITIES = ("return_message", "review_message")


def notice_message(tracker: Tracker) -> str | None:
    entities: list[dict[str, Any]] = tracker.latest_message.get("entities") or []
    for entity in entities:
        if entity.get("entity") in MESSAGE_ENTITIES and str(entity.get("value") or "").strip():
            return str(entity["value"]).strip()
    return None


class ActionRelayNotice(Action):
    def name(self) -> str:
        return "action_relay_notice"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        message = notice_message(tracker)
        if message:
            dispatcher.utter_message(text=message)
        else:
            dispatcher.utter_message(response="utter_notice_fallback")
        return []
