"""Tracker fixtures, a domain loader and an in-memory fake of the returns API for action tests.

The fake (an httpx.MockTransport) follows docs/interfaces.md closely enough for the unit tests
of wording and events; the tests that need the real thing use the `live_api` fixture.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import ASKED_SLOT

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_DIR = ROOT / "bot" / "domain"


def load_domain() -> dict[str, Any]:
    """The split domain merged into the one dict rasa-sdk receives (slots, forms, responses...)."""
    merged: dict[str, Any] = {
        "intents": [],
        "entities": [],
        "slots": {},
        "forms": {},
        "responses": {},
        "actions": [],
    }
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text()) or {}
        for key in ("intents", "entities", "actions"):
            merged[key] += data.get(key) or []
        for key in ("slots", "forms", "responses"):
            merged[key].update(data.get(key) or {})
    return merged


def user_event(text: str, intent: str, entities: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "input_channel": "rest",
        "parse_data": {
            "intent": {"name": intent, "confidence": 0.99},
            "entities": entities or [],
            "text": text,
        },
    }


def make_tracker(
    slots: dict[str, Any] | None = None,
    *,
    text: str = "",
    intent: str = "inform",
    entities: list[dict[str, Any]] | None = None,
    candidates: dict[str, Any] | None = None,
    active_loop: str | None = None,
    sender_id: str = "conv-test-1",
    intent_ranking: list[dict[str, Any]] | None = None,
) -> Tracker:
    """A tracker as the action server receives it.

    `candidates` are the slot values the form extracted from the latest message: they are in the
    slots and, as Rasa sends them, the trailing SlotSet events (that is what slots_to_validate reads).
    """
    all_slots = {"verify_attempts": 0.0, "verify_locked": False, **(slots or {}), **(candidates or {})}
    latest = {
        "intent": {"name": intent, "confidence": 0.99},
        "entities": entities or [],
        "text": text,
        "intent_ranking": intent_ranking or [{"name": intent, "confidence": 0.99}],
    }
    events: list[dict[str, Any]] = [
        {"event": "action", "name": "action_listen"},
        user_event(text, intent, entities),
        {"event": "action", "name": "action_extract_slots"},
    ]
    if active_loop:
        events.append({"event": "action", "name": active_loop})
    events += [{"event": "slot", "name": k, "value": v} for k, v in (candidates or {}).items()]
    return Tracker(
        sender_id,
        all_slots,
        latest,
        events,
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


def run_action(
    action: Action, tracker: Tracker, domain: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(_run_and_draw_heatmaps(action, dispatcher, tracker, domain or load_domain()))
    return events, dispatcher


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m.get("response") or m.get("text") for m in dispatcher.messages]


def slot_sets(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def asked(slot: str, *ask_events: dict[str, Any]) -> list[dict[str, Any]]:
    """How a validation of an active form ends when it has asked the next question itself
    (actions/common.py, AsksNextSlot): the ask action's events, then the marker Rasa reads."""
    return [*ask_events, SlotSet(ASKED_SLOT, slot)]


def catalogue_event() -> dict[str, Any]:
    """What `action_ask_return_reason` keeps of the policy's reason catalogue."""
    slim = [{"code": r["code"], "label": r["label"]} for r in REASONS]
    return {"event": "slot", "timestamp": None, "name": "return_reason_catalogue", "value": slim}


# --- a fake of the returns API ------------------------------------------------------------------

ORDERS = {
    "100231": {
        "proof": {"email": "jane@example.com", "postcode": "10001"},
        "order": {
            "order_number": "100231",
            "status": "delivered",
            "currency": "USD",
            "ordered_at": "2026-11-18T10:00:00+00:00",
            "shipped_at": "2026-11-19T10:00:00+00:00",
            "delivered_at": "2026-11-21T10:00:00+00:00",
            "shipping_address": {
                "name": "Jane Doe",
                "line1": "350 5th Ave",
                "city": "New York",
                "postcode": "10001",
                "country": "US",
            },
            "items": [
                {
                    "id": 1,
                    "sku": "SHOE-RUN-42-EU42",
                    "name": "Running shoes",
                    "category": "footwear",
                    "price": "120.00",
                    "quantity": 1,
                    "returnable_quantity": 1,
                    "final_sale": False,
                    "fragile": False,
                    "variant": "EU 42",
                    "variants": [
                        {"id": 11, "name": "EU 41", "in_stock": True},
                        {"id": 12, "name": "EU 42", "in_stock": True},
                        {"id": 13, "name": "EU 43", "in_stock": False},
                    ],
                },
                {
                    "id": 2,
                    "sku": "TSHIRT-COT-M-M",
                    "name": "Cotton t-shirt",
                    "category": "apparel",
                    "price": "25.00",
                    "quantity": 1,
                    "returnable_quantity": 1,
                    "final_sale": False,
                    "fragile": False,
                    "variant": "M",
                    "variants": [
                        {"id": 21, "name": "S", "in_stock": True},
                        {"id": 22, "name": "M", "in_stock": True},
                        {"id": 23, "name": "L", "in_stock": True},
                    ],
                },
            ],
        },
    },
    "100232": {
        "proof": {"email": "raj@example.com", "postcode": "94107"},
        "order": {
            "order_number": "100232",
            "status": "delivered",
            "currency": "USD",
            "ordered_at": "2026-11-21T10:00:00+00:00",
            "shipped_at": "2026-11-22T10:00:00+00:00",
            "delivered_at": "2026-11-24T10:00:00+00:00",
            "shipping_address": {
                "name": "Raj Patel",
                "line1": "500 Brannan St",
                "city": "San Francisco",
                "postcode": "94107",
                "country": "US",
            },
            "items": [
                {
                    "id": 3,
                    "sku": "VASE-CER-01",
                    "name": "Ceramic vase",
                    "category": "home",
                    "price": "60.00",
                    "quantity": 1,
                    "returnable_quantity": 1,
                    "final_sale": False,
                    "fragile": True,
                    "variant": None,
                    "variants": [],
                }
            ],
        },
    },
    "100235": {
        "proof": {"email": "sam@example.com", "postcode": "73301"},
        "order": {
            "order_number": "100235",
            "status": "delivered",
            "currency": "USD",
            "ordered_at": "2026-11-19T10:00:00+00:00",
            "shipped_at": "2026-11-20T10:00:00+00:00",
            "delivered_at": "2026-11-22T10:00:00+00:00",
            "shipping_address": {
                "name": "Sam Rivera",
                "line1": "1100 Congress Ave",
                "city": "Austin",
                "postcode": "73301",
                "country": "US",
            },
            "items": [
                {
                    "id": 6,
                    "sku": "SWIM-01",
                    "name": "Swimsuit",
                    "category": "apparel",
                    "price": "40.00",
                    "quantity": 1,
                    "returnable_quantity": 1,
                    "final_sale": True,
                    "fragile": False,
                    "variant": None,
                    "variants": [],
                }
            ],
        },
    },
    "100237": {
        "proof": {"email": "tom@example.com", "postcode": "30301"},
        "order": {
            "order_number": "100237",
            "status": "delivered",
            "currency": "USD",
            "ordered_at": "2026-11-21T10:00:00+00:00",
            "shipped_at": "2026-11-22T10:00:00+00:00",
            "delivered_at": "2026-11-24T10:00:00+00:00",
            "shipping_address": {
                "name": "Tom Baker",
                "line1": "55 Marietta St",
                "city": "Atlanta",
                "postcode": "30301",
                "country": "US",
            },
            "items": [
                {
                    "id": 7,
                    "sku": "CASE-PHONE-01",
                    "name": "Phone case",
                    "category": "accessories",
                    "price": "15.00",
                    "quantity": 1,
                    "returnable_quantity": 1,
                    "final_sale": False,
                    "fragile": False,
                    "variant": None,
                    "variants": [],
                }
            ],
        },
    },
}

SLOTS = [
    {
        "date": "2026-11-27",
        "window": "morning",
        "hours": "09:00-12:00",
        "label": "Fri 27 Nov, morning (09:00-12:00)",
        "available": True,
        "carrier": "Acme Local Courier",
    },
    {
        "date": "2026-11-27",
        "window": "afternoon",
        "hours": "13:00-17:00",
        "label": "Fri 27 Nov, afternoon (13:00-17:00)",
        "available": True,
        "carrier": "Acme Local Courier",
    },
    {
        "date": "2026-11-30",
        "window": "morning",
        "hours": "09:00-12:00",
        "label": "Mon 30 Nov, morning (09:00-12:00)",
        "available": False,
        "carrier": "Acme Local Courier",
    },
]

REASONS = [
    {"code": "damaged_on_arrival", "label": "Arrived damaged", "photos_required": 1},
    {"code": "defective", "label": "Defective or doesn't work", "photos_required": 1},
    {"code": "doesnt_fit", "label": "Doesn't fit", "photos_required": 0},
    {"code": "changed_mind", "label": "Changed my mind", "photos_required": 0},
    {"code": "other", "label": "Other reason", "photos_required": 0},
]

POLICY = {
    "version": "2026-11-01.1",
    "reasons": REASONS,
    "windows": {"default": 30, "electronics": 14},
    "summary": [
        "You can return items within 30 days of delivery (electronics: 14 days).",
        "Final-sale items can't be returned.",
    ],
}


def decision(outcome: str, **extra: Any) -> dict[str, Any]:
    base = {
        "outcome": outcome,
        "resolutions": ["refund", "exchange", "store_credit"],
        "store_credit_bonus_pct": "10",
        "keep_item": False,
        "refund_amount": "114.05",
        "fees": [],
        "ask_for": {"photos": 0, "reason": None, "message": "", "item_ids": []},
        "rules": [
            {
                "code": "window.ok",
                "effect": "info",
                "shopper_message": "You're within the 30-day return window.",
                "merchant_detail": "",
                "item_id": None,
            }
        ],
        "policy_version": "2026-11-01.1",
        "shopper_summary": "Your return of the running shoes is approved.",
        "items": [],
    }
    base.update(extra)
    return base


class FakeApi:
    """State and behaviour of the API as the action server sees it."""

    def __init__(self) -> None:
        self.down = False
        self.fail_with: int | None = None
        self.requests: list[httpx.Request] = []
        self.returns: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[str, dict[str, Any]] = {}
        self.assessments: dict[str, dict[str, Any]] = {}
        self.handoffs: list[dict[str, Any]] = []
        self.photos: dict[str, bytes] = {}
        self.quote_override: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self.create_status: tuple[int, str] | None = None

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def _order_for(self, body: dict[str, Any]) -> dict[str, Any] | None:
        entry = ORDERS.get(str(body.get("order_number")))
        if not entry:
            return None
        proof = entry["proof"]
        email, postcode = body.get("email"), body.get("postcode")
        if (email and email.lower() == proof["email"]) or (
            postcode and postcode.replace(" ", "") == proof["postcode"]
        ):
            return copy.deepcopy(entry["order"])
        return None

    def quote(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.quote_override:
            return self.quote_override(body)
        order = body["order_number"]
        items = body["items"]
        reason = items[0]["reason_code"]
        if order == "100235":
            return decision(
                "reject",
                resolutions=[],
                refund_amount="0.00",
                shopper_summary="The swimsuit was bought on final sale, so it can't be returned.",
                rules=[
                    {
                        "code": "final_sale",
                        "effect": "reject",
                        "item_id": "6",
                        "shopper_message": "The swimsuit was bought on final sale, so it can't be returned.",
                        "merchant_detail": "",
                    }
                ],
            )
        if reason == "damaged_on_arrival" and not items[0]["photo_ids"]:
            return decision(
                "need_photos",
                ask_for={
                    "photos": 1,
                    "reason": "more",
                    "item_ids": [str(items[0]["order_item_id"])],
                    "message": "Please send 1 photo of the ceramic vase so we can process your return.",
                },
                shopper_summary="Please send 1 photo of the ceramic vase so we can process your return.",
            )
        if order == "100237":
            return decision(
                "approve",
                keep_item=True,
                refund_amount="15.00",
                shopper_summary="Your return of the phone case is approved. No need to send anything back.",
            )
        if order == "100232":
            return decision(
                "approve",
                refund_amount="60.00",
                shopper_summary="Your return of the ceramic vase is approved.",
                rules=[
                    {
                        "code": "damage.confirmed",
                        "effect": "approve",
                        "item_id": "3",
                        "shopper_message": "Your photos show the damage.",
                        "merchant_detail": "",
                    }
                ],
            )
        resolution = body.get("resolution")
        if resolution in ("exchange", "store_credit"):
            return decision("approve", refund_amount="120.00")
        return decision("approve")

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if self.fail_with:
            return httpx.Response(self.fail_with, json={"detail": "boom"})
        path = request.url.path
        body = (
            json.loads(request.content or b"{}")
            if request.method in ("POST", "PUT")
            and request.content
            and request.headers.get("content-type", "").startswith("application/json")
            else {}
        )
        if path == "/api/v1/orders/lookup":
            order = self._order_for(body)
            return (
                httpx.Response(200, json=order)
                if order
                else httpx.Response(404, json={"detail": "We could not find an order with those details."})
            )
        if path == "/api/v1/policy":
            return httpx.Response(200, json=POLICY)
        if path == "/api/v1/returns/quote":
            if not self._order_for(body):
                return httpx.Response(404, json={"detail": "We could not find an order with those details."})
            return httpx.Response(200, json=self.quote(body))
        if path == "/api/v1/returns" and request.method == "POST":
            return self._create(request, body)
        if path == "/api/v1/returns/lookup":
            if not self._order_for(body):
                return httpx.Response(404, json={"detail": "We could not find an order with those details."})
            return httpx.Response(
                200, json=[r for r in self.returns.values() if r["order_number"] == body["order_number"]]
            )
        if m := re.fullmatch(r"/api/v1/returns/(RMA-[0-9A-F]+)/cancel", path):
            ret = self.returns[m.group(1)]
            if ret["status"] == "picked_up":
                return httpx.Response(
                    409, json={"detail": f"Return {ret['rma']} is picked up and can no longer be cancelled."}
                )
            ret["status"] = "cancelled"
            return httpx.Response(200, json=ret)
        if m := re.fullmatch(r"/api/v1/returns/(RMA-[0-9A-F]+)/reschedule", path):
            ret = self.returns[m.group(1)]
            slot = next(s for s in SLOTS if s["date"] == body["date"] and s["window"] == body["window"])
            ret["pickup"] = {
                **ret["pickup"],
                "date": slot["date"],
                "window": slot["window"],
                "hours": slot["hours"],
                "reference": "PU-NEW-0002",
            }
            return httpx.Response(200, json=ret)
        if path == "/api/v1/pickups/slots":
            return httpx.Response(200, json=SLOTS)
        if m := re.fullmatch(r"/api/v1/photos/([\w-]+)", path):
            data = self.photos.get(m.group(1))
            return (
                httpx.Response(200, content=data)
                if data is not None
                else httpx.Response(404, json={"detail": "No such photo."})
            )
        if m := re.fullmatch(r"/api/v1/photos/([\w-]+)/heatmap", path):
            self.assessments[m.group(1)]["heatmap_png_b64"] = body["heatmap_png_b64"]
            return httpx.Response(200, json={"photo_id": m.group(1), "heatmap": True})
        if m := re.fullmatch(r"/api/v1/photos/([\w-]+)/assessment", path):
            self.assessments[m.group(1)] = body
            return httpx.Response(201, json={"assessment_id": len(self.assessments), "photo_id": m.group(1)})
        if path == "/api/v1/handoffs":
            self.handoffs.append(body)
            return httpx.Response(201, json={"ticket_id": len(self.handoffs), "status": "open"})
        return httpx.Response(404, json={"detail": f"no route {path}"})

    def _create(self, request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        if self.create_status:
            code, detail = self.create_status
            return httpx.Response(code, json={"detail": detail})
        key = request.headers["Idempotency-Key"]
        if key in self.idempotency:
            return httpx.Response(201, json=self.idempotency[key])
        rma = f"RMA-{len(self.returns) + 1:08X}"
        q = self.quote(body)
        pickup = None
        if body.get("pickup"):
            slot = next(
                s
                for s in SLOTS
                if s["date"] == body["pickup"]["date"] and s["window"] == body["pickup"]["window"]
            )
            pickup = {
                "carrier": "Acme Local Courier",
                "date": slot["date"],
                "window": slot["window"],
                "hours": slot["hours"],
                "reference": "PU-0001",
                "status": "on_hold" if q["outcome"] == "review" else "scheduled",
                "address": ORDERS[body["order_number"]]["order"]["shipping_address"],
            }
        ret = {
            "rma": rma,
            "order_number": body["order_number"],
            "status": "under_review"
            if q["outcome"] == "review"
            else ("pickup_scheduled" if pickup else "approved"),
            "resolution": body.get("resolution") or "refund",
            "refund_amount": q["refund_amount"],
            "currency": "USD",
            "keep_item": q["keep_item"],
            "items": [
                {"order_item_id": i["order_item_id"], "name": "item", "quantity": 1} for i in body["items"]
            ],
            "pickup": pickup,
            "label_url": f"http://127.0.0.1:8000/api/v1/returns/{rma}/label.pdf?token=t0k"
            if pickup
            else None,
            "review_hours": 48 if q["outcome"] == "review" else None,
        }
        self.returns[rma] = ret
        self.idempotency[key] = ret
        return httpx.Response(201, json=ret)


def proven(order_number: str, kind: str = "email") -> dict[str, Any]:
    """Slots of a conversation in which the shopper has proven the order is theirs."""
    entry = ORDERS[order_number]
    value = entry["proof"][kind]
    return {
        "verify_order_number": order_number,
        "verify_proof": value,
        "verify_proof_kind": kind,
        "verify_order": copy.deepcopy(entry["order"]),
        "verify_identity": {"order_number": order_number, "kind": kind, "value": value},
    }


async def _run_and_draw_heatmaps(action: Any, dispatcher: Any, tracker: Any, domain: Any) -> Any:
    """Run the action, then let its background heatmap work finish before the loop closes."""
    from actions.photos import drain_heatmaps

    events = await action.run(dispatcher, tracker, domain)
    await drain_heatmaps()
    return events
