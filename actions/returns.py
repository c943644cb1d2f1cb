"""The return form: order -> proof -> item(s) -> reason -> photos -> decision -> resolution ->
pickup -> summary -> written through the API with an idempotency key.

`ValidateReturnForm.required_slots` is the journey: it only reads the tracker, so the form asks
exactly what the policy's decision calls for (photos when it says `need_photos`, no pickup when
the shopper keeps the item, nothing more after a rejection).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backend
from actions.common import (
    PICKUP_SLOTS,
    RESOLUTION_LABELS,
    RETURN_SLOTS,
    VERIFY_SLOTS,
    AsksNextSlot,
    RejectOnInterruption,
    bullet_list,
    button_payload,
    channel,
    conversation_id,
    day_label,
    interruption,
    latest_text,
    money,
    names,
    proof,
    reset,
    unavailable,
    verified_order,
)
from actions.parsing import (
    item_key,
    parse_item_choice,
    parse_reason,
    parse_resolution,
    parse_variant,
)
from actions.photos import MAX_PHOTOS, assess_photos, photo_ids, warm_up
from actions.pickup import PickupMixin, address_line
from actions.verify import OwnershipMixin

log = logging.getLogger(__name__)


# --- reading the draft from the tracker ---------------------------------------------------


def selectable_items(order: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Items the shopper may pick: delivered, not final sale, something left to return."""
    if not order or order.get("status") != "delivered":
        return []
    return [
        i
        for i in order.get("items") or []
        if not i.get("final_sale") and int(i.get("returnable_quantity", i.get("quantity", 1)) or 0) > 0
    ]


def chosen_items(tracker: Tracker) -> list[dict[str, Any]]:
    order = verified_order(tracker) or {}
    wanted = [str(i) for i in tracker.get_slot("return_items") or []]
    by_id = {str(i["id"]): i for i in order.get("items") or []}
    return [by_id[i] for i in wanted if i in by_id]


def exchange_alternatives(item: dict[str, Any]) -> list[dict[str, Any]]:
    """In-stock variants other than the one bought."""
    return [
        v
        for v in item.get("variants") or []
        if v.get("in_stock", True) and v.get("name") != item.get("variant")
    ]


def pending_variant_items(tracker: Tracker) -> list[dict[str, Any]]:
    """Items of an exchange whose replacement variant is still to be chosen."""
    if tracker.get_slot("return_resolution") != "exchange":
        return []
    choices = tracker.get_slot("return_exchange_choices") or {}
    return [i for i in chosen_items(tracker) if i.get("variants") and str(i["id"]) not in choices]


def build_draft(tracker: Tracker, *, with_resolution: bool = True) -> dict[str, Any]:
    order = verified_order(tracker) or {}
    reason = tracker.get_slot("return_reason") or "other"
    reason_text = str(tracker.get_slot("return_reason_text") or "")[:2000]
    photos = photo_ids(tracker.get_slot("return_photos_accepted"))
    photo_items = [str(i) for i in tracker.get_slot("return_photo_items") or []]
    choices = tracker.get_slot("return_exchange_choices") or {}
    resolution = tracker.get_slot("return_resolution") if with_resolution else None
    items = []
    for item_id in tracker.get_slot("return_items") or []:
        line: dict[str, Any] = {
            "order_item_id": int(item_id),
            "quantity": 1,
            "reason_code": reason,
            "reason_text": reason_text,
            "photo_ids": photos if (not photo_items or str(item_id) in photo_items) else [],
        }
        if resolution == "exchange" and str(item_id) in choices:
            line["exchange_variant_id"] = int(choices[str(item_id)])
        items.append(line)
    draft: dict[str, Any] = {
        "order_number": order.get("order_number") or tracker.get_slot("verify_order_number"),
        **proof(tracker),
        "items": items,
        "conversation_id": conversation_id(tracker)[:128],
        "channel": channel(tracker),
    }
    if resolution:
        draft["resolution"] = resolution
    return draft


def _decision_key(draft: dict[str, Any]) -> str:
    lines = [
        (i["order_item_id"], i["reason_code"], tuple(i["photo_ids"]), i.get("exchange_variant_id"))
        for i in draft["items"]
    ]
    return repr((draft.get("order_number"), lines, draft.get("resolution")))


def _text(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


def decision_reasons(decision: dict[str, Any]) -> list[str]:
    """The rules' shopper sentences, once each, leaving out what the summary already says."""
    summary = str(decision.get("shopper_summary") or "")
    seen: list[str] = []
    for rule in decision.get("rules") or []:
        message = str(rule.get("shopper_message") or "").strip()
        if message and message not in summary and message not in seen:
            seen.append(message)
    return seen


# --- the form ------------------------------------------------------------------------------


class ValidateReturnForm(
    AsksNextSlot, RejectOnInterruption, OwnershipMixin, PickupMixin, FormValidationAction
):
    def name(self) -> str:
        return "validate_return_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        if tracker.get_slot("verify_locked") or tracker.get_slot("return_blocked"):
            return []
        slots = ["verify_order_number", "verify_proof", "return_items", "return_reason"]
        decision = tracker.get_slot("return_decision")
        if not decision or verified_order(tracker) is None:
            return slots
        outcome = decision.get("outcome")
        if outcome == "need_photos":
            return [*slots, "return_photos"]
        if outcome not in ("approve", "review"):
            return slots
        slots.append("return_resolution")
        if pending_variant_items(tracker) or tracker.get_slot("return_exchange_choices"):
            slots.append("return_exchange_variant")
        if not decision.get("keep_item"):
            slots += ["pickup_slot", "pickup_address_confirmed"]
        slots.append("return_confirmed")
        return slots

    def on_order_changed(self, tracker: Tracker) -> dict[str, Any]:
        return {
            **reset(
                tracker,
                RETURN_SLOTS,
                keep=(
                    "return_preferred_resolution",
                    "return_photo_inbox",
                    "return_item_hint",
                    "return_reason",
                    "return_reason_text",
                ),
            ),
            **reset(tracker, PICKUP_SLOTS),
        }

    async def on_verified(
        self, order: dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("return_items") or tracker.get_slot("return_blocked"):
            return {}
        selectable = selectable_items(order)
        if not selectable:
            await self._explain_nothing_returnable(order, dispatcher, tracker)
            return {"return_blocked": True}
        slots: dict[str, Any] = {}
        hint = tracker.get_slot("return_item_hint")
        ids = parse_item_choice(hint, selectable) if hint else []
        if not ids and len(selectable) == 1:
            ids = [str(selectable[0]["id"])]
            dispatcher.utter_message(
                response="utter_item_preselected", item=selectable[0].get("name", "item")
            )
        if ids:
            slots["return_items"] = ids
            slots.update(reset(tracker, ("return_item_hint",)))
            tracker.slots.update(slots)
            if tracker.get_slot("return_reason") and "return_reason" not in tracker.slots_to_validate():
                slots.update(await self._quote(dispatcher, tracker) or {})
        return slots

    async def _explain_nothing_returnable(
        self, order: dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> None:
        """Why nothing on this order can be returned, in the policy's own words."""
        items = order.get("items") or []
        draft = {
            "order_number": order["order_number"],
            **proof(tracker),
            "items": [
                {"order_item_id": int(i["id"]), "quantity": 1, "reason_code": "other"}
                for i in items
                if int(i.get("returnable_quantity", 1) or 0) > 0
            ],
            "conversation_id": conversation_id(tracker)[:128],
            "channel": channel(tracker),
        }
        reasons: list[str] = []
        if draft["items"]:
            try:
                async with backend.client(conversation_id(tracker)) as api:
                    decision = await api.quote(draft)
                reasons = [
                    str(r["shopper_message"])
                    for r in decision.get("rules") or []
                    if r.get("effect") == "reject" and r.get("shopper_message")
                ]
            except backend.BackendUnavailable:
                unavailable(dispatcher)
                return
            except backend.BackendError as exc:
                log.info("quote for the explanation refused: %s", exc)
        if not reasons:  # the policy gave no reason (or could not be asked): say what we know
            reasons = [
                "The order hasn't been delivered yet. You can start a return once it arrives."
                if order.get("status") != "delivered"
                else "Everything on this order has already been returned or was bought on final sale."
            ]
        dispatcher.utter_message(
            response="utter_nothing_returnable",
            order_number=order["order_number"],
            reasons=bullet_list(list(dict.fromkeys(reasons))),
        )

    # --- items and reason -------------------------------------------------------------------

    async def validate_return_items(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        order = verified_order(tracker)
        if order is None:
            # Mentioned before the order was proven: remember it, say nothing about the order yet.
            return {"return_items": None, "return_item_hint": _text(slot_value) or None}
        selectable = selectable_items(order)
        values = slot_value if isinstance(slot_value, list) else [_text(slot_value)]
        ids = parse_item_choice(values, selectable)
        if not ids:
            if rejected := interruption(tracker, "return_items"):
                return rejected
            others = [i for i in order.get("items") or [] if i not in selectable]
            named = parse_item_choice(values, others) if others else []
            if named:
                item = next(i for i in others if str(i["id"]) == named[0])
                why = "it was bought on final sale" if item.get("final_sale") else "it already has a return"
                dispatcher.utter_message(response="utter_item_not_returnable", item=item.get("name"), why=why)
            else:
                dispatcher.utter_message(response="utter_item_not_understood")
            return {"return_items": None}
        slots: dict[str, Any] = {"return_items": ids, **reset(tracker, ("return_item_hint",))}
        tracker.slots.update(slots)
        if tracker.get_slot("return_reason") and "return_reason" not in tracker.slots_to_validate():
            quoted = await self._quote(dispatcher, tracker)
            if quoted is None:
                return {"return_items": None}
            slots.update(quoted)
        return slots

    async def validate_return_reason(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        catalogue = tracker.get_slot("return_reason_catalogue") or []
        text = _text(slot_value)
        code = parse_reason(text, catalogue)
        if code is None:
            # An extracted return_reason entity may carry the shopper's words; try the message too.
            code = parse_reason(latest_text(tracker), catalogue)
        if code is None:
            if rejected := interruption(tracker, "return_reason"):
                return rejected
            if tracker.get_slot("requested_slot") == "return_reason":
                dispatcher.utter_message(response="utter_reason_not_understood")
            return {"return_reason": None}
        words = latest_text(tracker) or (text if not text.startswith("/") and text != code else "")
        slots: dict[str, Any] = {"return_reason": code, "return_reason_text": words[:2000] or None}
        if verified_order(tracker) is None or not tracker.get_slot("return_items"):
            return slots
        tracker.slots.update(slots)
        quoted = await self._quote(dispatcher, tracker)
        if quoted is None:
            return {"return_reason": None}
        return {**slots, **quoted}

    # --- photos -------------------------------------------------------------------------------

    async def validate_return_photos(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        accepted = photo_ids(tracker.get_slot("return_photos_accepted"))
        new = [p for p in photo_ids(slot_value) if p not in accepted][: max(MAX_PHOTOS - len(accepted), 0)]
        if not new:
            return {"return_photos": None}
        try:
            async with backend.client(conversation_id(tracker)) as api:
                accepted += await assess_photos(api, new, dispatcher)
        except backend.BackendUnavailable:
            unavailable(dispatcher)
            return {"return_photos": None}
        slots: dict[str, Any] = {"return_photos_accepted": accepted, "return_photos": None}
        needed = int(tracker.get_slot("return_photos_needed") or 1)
        if len(accepted) < needed:
            return slots
        tracker.slots.update(slots)
        quoted = await self._quote(dispatcher, tracker)
        if quoted is None:
            return slots
        slots.update(quoted)
        if (slots.get("return_decision") or {}).get("outcome") != "need_photos" and not slots.get(
            "return_blocked"
        ):
            slots["return_photos"] = accepted
        return slots

    # --- resolution -------------------------------------------------------------------------

    async def validate_return_resolution(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        allowed = list((tracker.get_slot("return_decision") or {}).get("resolutions") or [])
        resolution = parse_resolution(_text(slot_value), None)
        if resolution is None:
            if rejected := interruption(tracker, "return_resolution"):
                return rejected
            dispatcher.utter_message(response="utter_resolution_not_understood")
            return {"return_resolution": None}
        if resolution not in allowed:
            dispatcher.utter_message(
                response="utter_resolution_not_available", resolution=RESOLUTION_LABELS[resolution]
            )
            return {"return_resolution": None}
        return await self._set_resolution(resolution, dispatcher, tracker)

    async def _set_resolution(
        self, resolution: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        slots: dict[str, Any] = {
            "return_resolution": resolution,
            "return_exchange_variant": None,
            "return_exchange_choices": None,
        }
        if resolution == "exchange":
            for item in chosen_items(tracker):
                if item.get("variants") and not exchange_alternatives(item):
                    dispatcher.utter_message(response="utter_exchange_no_stock", item=item.get("name"))
                    return {"return_resolution": None}
        tracker.slots.update(slots)
        if pending_variant_items(tracker):
            return slots  # the replacement is asked next, then the decision is refreshed
        return {**slots, **await self._refresh(dispatcher, tracker)}

    async def validate_return_exchange_variant(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        pending = pending_variant_items(tracker)
        choices = dict(tracker.get_slot("return_exchange_choices") or {})
        if not pending:
            return {"return_exchange_variant": "done" if choices else None}
        item = pending[0]
        variant_id = parse_variant(_text(slot_value), exchange_alternatives(item))
        if variant_id is None:
            if rejected := interruption(tracker, "return_exchange_variant"):
                return rejected
            dispatcher.utter_message(response="utter_variant_not_understood", item=item.get("name"))
            return {"return_exchange_variant": None}
        choices[str(item["id"])] = variant_id
        slots: dict[str, Any] = {"return_exchange_choices": choices}
        tracker.slots.update(slots)
        if pending_variant_items(tracker):
            return {**slots, "return_exchange_variant": None}
        return {**slots, "return_exchange_variant": "done", **await self._refresh(dispatcher, tracker)}

    async def _refresh(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        """Quote again with the chosen resolution (fees, stock) without repeating the decision."""
        quoted = await self._quote(dispatcher, tracker, announce=False)
        if quoted is None:
            return {"return_resolution": None, "return_exchange_choices": None}
        decision = quoted.get("return_decision") or {}
        resolution = tracker.get_slot("return_resolution")
        if decision and resolution not in (decision.get("resolutions") or []):
            for message in decision_reasons(decision):
                if "exchange" in message.lower() and resolution == "exchange":
                    dispatcher.utter_message(response="utter_decision_reasons", reasons=message)
                    break
            else:
                dispatcher.utter_message(
                    response="utter_resolution_not_available",
                    resolution=RESOLUTION_LABELS.get(str(resolution), str(resolution)),
                )
            quoted.update(
                {"return_resolution": None, "return_exchange_variant": None, "return_exchange_choices": None}
            )
        return quoted

    # --- confirmation and submission ---------------------------------------------------------

    async def validate_return_confirmed(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value is False:
            return {"return_confirmed": False}
        if slot_value is not True:
            return {"return_confirmed": None}
        body = build_draft(tracker)
        decision = tracker.get_slot("return_decision") or {}
        if not decision.get("keep_item"):
            choice = tracker.get_slot("pickup_choice") or {}
            body["pickup"] = {"date": choice.get("date"), "window": choice.get("window")}
            body["address_confirmed"] = bool(tracker.get_slot("pickup_address_confirmed"))
        key = backend.idempotency_key(conversation_id(tracker), body)
        try:
            async with backend.client(conversation_id(tracker)) as api:
                created = await api.create_return(body, key)
        except backend.BackendUnavailable:
            unavailable(dispatcher)
            return {"return_confirmed": None}
        except backend.Conflict as exc:
            if "slot" in exc.detail.lower() or "full" in exc.detail.lower() or "pickup" in exc.detail.lower():
                dispatcher.utter_message(response="utter_pickup_slot_taken")
                return {
                    "return_confirmed": None,
                    "pickup_slot": None,
                    "pickup_choice": None,
                    "pickup_slots_offered": None,
                }
            dispatcher.utter_message(response="utter_return_refused", detail=exc.detail)
            return {"return_confirmed": None, "return_blocked": True}
        except backend.BackendError as exc:
            dispatcher.utter_message(response="utter_return_refused", detail=exc.detail)
            return {"return_confirmed": None, "return_blocked": True}
        return {"return_confirmed": True, "return_result": created}

    # --- quoting ---------------------------------------------------------------------------------

    async def _quote(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, *, announce: bool = True
    ) -> dict[str, Any] | None:
        """Ask the policy (POST /api/v1/returns/quote); None when the API could not be reached."""
        draft = build_draft(tracker)
        if not draft["items"]:
            return {}
        key = _decision_key(draft)
        current = tracker.get_slot("return_decision") or {}
        if current.get("_key") == key:
            return {}
        try:
            async with backend.client(conversation_id(tracker)) as api:
                decision = await api.quote(draft)
        except backend.BackendUnavailable:
            unavailable(dispatcher)
            return None
        except backend.BackendError as exc:
            dispatcher.utter_message(response="utter_return_refused", detail=exc.detail)
            return {"return_blocked": True}
        decision["_key"] = key
        return await self._apply_decision(decision, dispatcher, tracker, announce=announce)

    async def _apply_decision(
        self, decision: dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker, *, announce: bool
    ) -> dict[str, Any]:
        outcome = decision.get("outcome")
        slots: dict[str, Any] = {"return_decision": decision}
        if outcome == "need_photos":
            return await self._need_photos(decision, dispatcher, tracker)
        if announce:
            dispatcher.utter_message(
                response=f"utter_decision_{outcome}", summary=decision.get("shopper_summary") or ""
            )
            reasons = decision_reasons(decision)
            if reasons:
                dispatcher.utter_message(response="utter_decision_reasons", reasons=bullet_list(reasons))
        if outcome == "reject":
            return slots
        rejected = {
            str(i.get("item_id")) for i in decision.get("items") or [] if i.get("outcome") == "reject"
        }
        items = [str(i) for i in tracker.get_slot("return_items") or []]
        if rejected & set(items):
            slots["return_items"] = [i for i in items if i not in rejected]
        if not announce:
            return slots
        allowed = list(decision.get("resolutions") or [])
        current = tracker.get_slot("return_resolution")
        preferred = tracker.get_slot("return_preferred_resolution")
        chosen = None
        if current and current not in allowed:
            slots["return_resolution"] = None
        elif not current:
            if preferred in allowed:
                chosen = preferred
            elif preferred:
                dispatcher.utter_message(
                    response="utter_resolution_not_available",
                    resolution=RESOLUTION_LABELS.get(preferred, preferred),
                )
            if chosen is None and len(allowed) == 1:
                chosen = allowed[0]
        if chosen:
            dispatcher.utter_message(response="utter_resolution_set", resolution=RESOLUTION_LABELS[chosen])
            tracker.slots.update(slots)
            slots.update(await self._set_resolution(chosen, dispatcher, tracker))
        return slots

    async def _need_photos(
        self, decision: dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        ask = decision.get("ask_for") or {}
        accepted = photo_ids(tracker.get_slot("return_photos_accepted"))
        warm_up()
        if len(accepted) >= MAX_PHOTOS:
            dispatcher.utter_message(response="utter_photos_exhausted")
            return {"return_decision": decision, "return_blocked": True}
        missing = max(int(ask.get("photos") or 1), 1)
        slots: dict[str, Any] = {
            "return_decision": decision,
            "return_photos": None,
            "return_photos_needed": float(min(len(accepted) + missing, MAX_PHOTOS)),
            "return_photo_items": [str(i) for i in ask.get("item_ids") or []] or None,
        }
        inbox = [p for p in photo_ids(tracker.get_slot("return_photo_inbox")) if p not in accepted]
        if not inbox:
            return slots
        # Photos sent before we asked: use them now.
        slots["return_photo_inbox"] = None
        try:
            async with backend.client(conversation_id(tracker)) as api:
                accepted += await assess_photos(api, inbox[: MAX_PHOTOS - len(accepted)], dispatcher)
        except backend.BackendUnavailable:
            unavailable(dispatcher)
            return slots
        slots["return_photos_accepted"] = accepted
        if len(accepted) < slots["return_photos_needed"]:
            return slots
        tracker.slots.update(slots)
        quoted = await self._quote(dispatcher, tracker)
        if quoted and (quoted.get("return_decision") or {}).get("outcome") != "need_photos":
            quoted["return_photos"] = accepted
        return {**slots, **(quoted or {})}


# --- questions the form asks ------------------------------------------------------------------


class ActionAskReturnItems(Action):
    def name(self) -> str:
        return "action_ask_return_items"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        order = verified_order(tracker) or {}
        items = selectable_items(order)
        currency = order.get("currency")
        buttons = [
            {
                "title": f"{i.get('name')} ({money(i.get('price'), currency)})",
                "payload": button_payload("item", item_key(i["id"])),
            }
            for i in items
        ]
        if len(items) > 1:
            buttons.append({"title": "All of them", "payload": button_payload("item", "all")})
        dispatcher.utter_message(response="utter_ask_return_items", buttons=buttons)
        return []


class ActionAskReturnReason(Action):
    def name(self) -> str:
        return "action_ask_return_reason"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            async with backend.client(conversation_id(tracker)) as api:
                catalogue = (await api.policy()).get("reasons") or []
        except (backend.BackendUnavailable, backend.BackendError):
            dispatcher.utter_message(response="utter_ask_return_reason", item=names(chosen_items(tracker)))
            return []
        buttons = [
            {
                "title": str(r.get("label") or r["code"]),
                "payload": button_payload("return_reason", r["code"]),
            }
            for r in catalogue
        ]
        dispatcher.utter_message(
            response="utter_ask_return_reason", item=names(chosen_items(tracker)), buttons=buttons
        )
        slim = [{"code": r["code"], "label": r.get("label")} for r in catalogue]
        return [SlotSet("return_reason_catalogue", slim)]


class ActionAskReturnResolution(Action):
    def name(self) -> str:
        return "action_ask_return_resolution"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        decision = tracker.get_slot("return_decision") or {}
        currency = (verified_order(tracker) or {}).get("currency")
        titles = {
            "refund": f"Refund ({money(decision.get('refund_amount'), currency)})",
            "exchange": "Exchange",
            "store_credit": "Store credit"
            + (
                f" (+{decision['store_credit_bonus_pct']}% bonus)"
                if str(decision.get("store_credit_bonus_pct") or "0") not in ("0", "0.0")
                else ""
            ),
        }
        buttons = [
            {"title": titles.get(r, r), "payload": button_payload("choice", r)}
            for r in decision.get("resolutions") or []
        ]
        dispatcher.utter_message(response="utter_ask_return_resolution", buttons=buttons)
        return []


class ActionAskReturnExchangeVariant(Action):
    def name(self) -> str:
        return "action_ask_return_exchange_variant"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        pending = pending_variant_items(tracker)
        if not pending:
            return []
        item = pending[0]
        buttons = [
            {"title": str(v.get("name")), "payload": button_payload("choice", f"variant-{v['id']}")}
            for v in exchange_alternatives(item)
        ]
        dispatcher.utter_message(
            response="utter_ask_return_exchange_variant",
            item=item.get("name"),
            current=item.get("variant") or "the one you have",
            buttons=buttons,
        )
        return []


class ActionAskReturnConfirmed(Action):
    """The summary before anything is written."""

    def name(self) -> str:
        return "action_ask_return_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        order = verified_order(tracker) or {}
        decision = tracker.get_slot("return_decision") or {}
        currency = order.get("currency")
        events: list[EventType] = []
        known = tracker.get_slot("return_reason_catalogue")
        if not known:  # the reason came before its question: fetch the labels for the summary
            try:
                async with backend.client(conversation_id(tracker)) as api:
                    known = [
                        {"code": r["code"], "label": r.get("label")} for r in (await api.policy())["reasons"]
                    ]
                events.append(SlotSet("return_reason_catalogue", known))
            except (backend.BackendUnavailable, backend.BackendError, KeyError):
                known = []
        catalogue = {r["code"]: r.get("label") for r in known}
        reason = tracker.get_slot("return_reason") or "other"
        resolution = tracker.get_slot("return_resolution") or "refund"
        lines = [
            f"Order {order.get('order_number')}: {names(chosen_items(tracker))}",
            f"Reason: {catalogue.get(reason) or reason.replace('_', ' ')}",
        ]
        if resolution == "refund":
            lines.append(
                f"Refund: {money(decision.get('refund_amount'), currency)} to your original payment method"
            )
        elif resolution == "store_credit":
            lines.append(
                f"Store credit: {money(decision.get('refund_amount'), currency)}"
                + (
                    f" plus a {decision.get('store_credit_bonus_pct')}% bonus"
                    if str(decision.get("store_credit_bonus_pct") or "0") != "0"
                    else ""
                )
            )
        else:
            variants = _variant_names(tracker)
            lines.append("Exchange" + (f" for {variants}" if variants else ""))
        if decision.get("keep_item"):
            lines.append("No need to send anything back")
        else:
            choice = tracker.get_slot("pickup_choice") or {}
            lines.append(
                f"Pickup: {day_label(choice.get('date'))}, {choice.get('window')} "
                f"({choice.get('hours', '')}) with {choice.get('carrier', 'our courier')}"
            )
            lines.append(f"From: {address_line(order.get('shipping_address'))}")
        if decision.get("outcome") == "review":
            lines.append(
                "Our team reviews it before the pickup goes ahead"
                if not decision.get("keep_item")
                else "Our team reviews it first"
            )
        dispatcher.utter_message(response="utter_ask_return_confirmed", summary=bullet_list(lines))
        return events


def _variant_names(tracker: Tracker) -> str:
    choices = tracker.get_slot("return_exchange_choices") or {}
    labels = []
    for item in chosen_items(tracker):
        vid = choices.get(str(item["id"]))
        variant = next((v for v in item.get("variants") or [] if str(v.get("id")) == str(vid)), None)
        if variant:
            labels.append(f"{item.get('name')} in {variant.get('name')}")
    return ", ".join(labels)


# --- after the form ----------------------------------------------------------------------------


def _clear_return(tracker: Tracker) -> list[EventType]:
    return [SlotSet(name, None) for name in reset(tracker, (*RETURN_SLOTS, *PICKUP_SLOTS))]


class ActionFinishReturn(Action):
    """Says how the return ended (created, rejected, stopped) and clears the draft."""

    def name(self) -> str:
        return "action_finish_return"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        created = tracker.get_slot("return_result")
        decision = tracker.get_slot("return_decision") or {}
        if created:
            self._created(created, dispatcher, tracker)
        elif tracker.get_slot("verify_locked") or tracker.get_slot("return_blocked"):
            dispatcher.utter_message(response="utter_offer_handoff")
        elif decision.get("outcome") == "reject":
            dispatcher.utter_message(response="utter_return_rejected_next")
        elif tracker.get_slot("return_confirmed") is False:
            dispatcher.utter_message(response="utter_return_not_submitted")
        else:
            dispatcher.utter_message(response="utter_anything_else")
        return _clear_return(tracker)

    @staticmethod
    def _created(ret: dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        pickup = ret.get("pickup") or {}
        amount = money(ret.get("refund_amount"), ret.get("currency"))
        dispatcher.utter_message(response="utter_return_created", rma=ret.get("rma"))
        pickup_facts = {
            "day": day_label(pickup.get("date")),
            "window": pickup.get("window", ""),
            "hours": pickup.get("hours", ""),
            "carrier": pickup.get("carrier", "our courier"),
            "reference": pickup.get("reference", ""),
            "label_url": ret.get("label_url") or "",
        }
        under_review = ret.get("status") == "under_review"
        if under_review:
            dispatcher.utter_message(
                response="utter_return_under_review", review_hours=ret.get("review_hours") or 48
            )
        if ret.get("keep_item"):
            dispatcher.utter_message(response="utter_return_keep_item")
        elif pickup and (under_review or pickup.get("status") == "on_hold"):
            dispatcher.utter_message(response="utter_return_pickup_on_hold", **pickup_facts)
        elif pickup:
            dispatcher.utter_message(response="utter_return_pickup_booked", **pickup_facts)
        resolution = ret.get("resolution") or "refund"
        dispatcher.utter_message(
            response=f"utter_next_steps_{resolution}",
            amount=amount,
            when="once it's approved"
            if under_review
            else ("in the next few days" if ret.get("keep_item") else "as soon as it reaches us"),
        )


class ActionResetReturn(Action):
    """Clears the return draft and the order in play ("start over", "stop"); keeps the lock-out."""

    def name(self) -> str:
        return "action_reset_return"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return [*_clear_return(tracker), *[SlotSet(name, None) for name in reset(tracker, VERIFY_SLOTS)]]


class ActionPreferExchange(Action):
    """ "Can I exchange it instead?" in the middle of the return."""

    def name(self) -> str:
        return "action_prefer_exchange"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events: list[EventType] = [SlotSet("return_preferred_resolution", "exchange")]
        decision = tracker.get_slot("return_decision") or {}
        if decision.get("outcome") not in ("approve", "review"):
            dispatcher.utter_message(response="utter_exchange_noted")
            return events
        if "exchange" not in (decision.get("resolutions") or []):
            dispatcher.utter_message(
                response="utter_resolution_not_available", resolution=RESOLUTION_LABELS["exchange"]
            )
            return events
        dispatcher.utter_message(response="utter_resolution_set", resolution=RESOLUTION_LABELS["exchange"])
        return [
            *events,
            SlotSet("return_resolution", "exchange"),
            SlotSet("return_exchange_choices", None),
            SlotSet("return_exchange_variant", None),
            SlotSet("return_confirmed", None),
        ]
