""" "What is your return policy?": answered from the merchant's active policy (GET /api/v1/policy),
so the answer can never drift from the rules that decide."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backend
from actions.common import bullet_list, conversation_id, unavailable


class ActionAnswerPolicy(Action):
    def name(self) -> str:
        return "action_answer_policy"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            async with backend.client(conversation_id(tracker)) as api:
                policy = await api.policy()
        except (backend.BackendUnavailable, backend.BackendError):
            unavailable(dispatcher)
            return []
        lines = [str(line) for line in policy.get("summary") or [] if line]
        if not lines:
            unavailable(dispatcher)
            return []
        dispatcher.utter_message(response="utter_return_policy", summary=bullet_list(lines))
        return []
