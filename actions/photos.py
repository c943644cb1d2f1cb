"""Photos: each uploaded photo is assessed at once by the damage model and stored with the API.

The widget uploads the photo to `POST /api/v1/uploads` and sends `/photo_uploaded{"photo_ids": [..]}`.
Here: fetch the bytes (`GET /api/v1/photos/{id}`), run the DamageAssessor in a worker thread,
store the assessment and heatmap (`POST /api/v1/photos/{id}/assessment`). A photo failing the
quality gate gets the model's own retake sentence and is not counted.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backend

log = logging.getLogger(__name__)

MAX_PHOTOS = 5
_PHOTO_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")

RETAKE_SENTENCES = {
    "too_dark": "That photo is too dark, please retake it in better light.",
    "overexposed": "That photo is too bright, please retake it without direct light or flash glare.",
    "blurred": "That photo is blurry, please hold the camera still and retake it.",
    "too_small": "That photo is too small, please send a larger, closer photo of the item.",
    "not_product_photo": "I can't see the item in that photo, please send a photo of the item itself.",
}


@dataclass(frozen=True)
class PhotoVerdict:
    photo_id: str
    usable: bool
    retake_message: str = ""
    assessment: dict[str, Any] | None = None
    missing: bool = False


def photo_ids(value: Any) -> list[str]:
    """Photo ids from a slot or entity value (a list, or one id), well-formed ones only, in order."""
    values = value if isinstance(value, list) else [value] if value else []
    seen: list[str] = []
    for item in values:
        text = str(item).strip()
        if _PHOTO_ID.match(text) and text not in seen:
            seen.append(text)
    return seen


class _InFlight:
    """Photos being assessed in this process, so that heatmaps can wait for none."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    def __enter__(self) -> None:
        with self._changed:
            self._count += 1

    def __exit__(self, *_: object) -> None:
        with self._changed:
            self._count -= 1
            self._changed.notify_all()

    def wait_until_none(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._count == 0, timeout)


_assessing = _InFlight()


def _assess_sync(data: bytes) -> dict[str, Any]:
    """Run the damage model (blocking: called in a worker thread). Imported lazily."""
    from vision.assess import get_assessor

    with _assessing:
        return dict(get_assessor().assess(data).to_dict())


# The heatmap is for the merchant, not the shopper: it is drawn after the shopper's turn has
# been answered. It costs about twice the assessment (a backward pass, a PNG), so heatmaps are
# drawn one at a time in their own thread, each once no assessment is running (or after
# HEATMAP_MAX_WAIT_S): drawn side by side they took the CPU that shoppers' photo turns need.
HEATMAP_MAX_WAIT_S = 5.0
_heatmap_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="heatmap")


def _heatmap_sync(data: bytes) -> str:
    from vision.assess import get_assessor

    _assessing.wait_until_none(HEATMAP_MAX_WAIT_S)
    return base64.b64encode(get_assessor().heatmap_png(data)).decode("ascii")


# References keep the tasks alive.
_heatmap_tasks: set[asyncio.Task[None]] = set()


async def _attach_heatmap(
    photo_id: str, data: bytes, model_version: str, conversation_id: str | None
) -> None:
    try:
        heatmap = await asyncio.get_running_loop().run_in_executor(_heatmap_pool, _heatmap_sync, data)
        async with backend.client(conversation_id) as api:
            await api.store_heatmap(photo_id, heatmap, model_version)
    except Exception as exc:  # the merchant page says "no heatmap"; nothing else depends on it
        log.warning("heatmap for %s not stored: %s", photo_id, exc)


async def drain_heatmaps() -> None:
    """Wait for the heatmaps still being drawn (tests; a graceful shutdown)."""
    while _heatmap_tasks:
        await asyncio.gather(*list(_heatmap_tasks), return_exceptions=True)


def schedule_heatmap(photo_id: str, data: bytes, model_version: str, conversation_id: str | None) -> None:
    task = asyncio.get_running_loop().create_task(
        _attach_heatmap(photo_id, data, model_version, conversation_id)
    )
    _heatmap_tasks.add(task)
    task.add_done_callback(_heatmap_tasks.discard)


_warm_up: threading.Thread | None = None
WARM_UP = True  # tests switch it off
HEATMAPS = True  # tests that count API calls switch it off


def warm_up() -> None:
    """Load the damage model in the background while the shopper takes the photo (once)."""
    global _warm_up
    if not WARM_UP or _warm_up is not None:
        return
    _warm_up = threading.Thread(target=_load_model_quietly, name="damage-model-warm-up", daemon=True)
    _warm_up.start()


def _load_model_quietly() -> None:
    """Load the model and run it once on a made-up photo, heatmap included: the first real photo
    then pays neither the loading (about 2 s) nor PyTorch's first-call set-up."""
    try:
        import io

        from PIL import Image

        from vision.assess import get_assessor

        assessor = get_assessor()
        sample = io.BytesIO()
        Image.new("RGB", (320, 240), (180, 140, 100)).save(sample, format="JPEG")
        assessor.assess(sample.getvalue())
        assessor.heatmap_png(sample.getvalue())
    except Exception as exc:  # reported again, with the photo, when a photo comes
        log.warning("damage model not loaded: %s", exc)


def preload_at_start() -> None:
    """The action server loads the model as it starts (DAMAGE_MODEL_PRELOAD=0 turns it off, e.g.
    for unit tests); otherwise `warm_up` runs when the bot first asks for a photo."""
    if os.environ.get("DAMAGE_MODEL_PRELOAD", "1") != "0":
        warm_up()


UNREADABLE = "I couldn't open that photo, please send it again as a JPEG or PNG picture."


def retake_sentence(quality: dict[str, Any]) -> str:
    message = str(quality.get("message") or "").strip()
    if message:
        return message
    for issue in quality.get("issues") or []:
        if issue in RETAKE_SENTENCES:
            return RETAKE_SENTENCES[issue]
    return "I couldn't use that photo, please retake it in good light with the item filling the frame."


async def assess_photo(api: backend.BackendClient, photo_id: str) -> PhotoVerdict:
    """Fetch, assess and store one photo. Raises BackendUnavailable when the API is down."""
    try:
        data = await api.photo_bytes(photo_id)
    except backend.BackendError:  # 404: never uploaded (or another shop's id)
        return PhotoVerdict(photo_id, usable=False, missing=True)
    try:
        assessment = await asyncio.to_thread(_assess_sync, data)
    except Exception as exc:
        if type(exc).__name__ == "ImageError":  # vision.images.ImageError: not a readable picture
            return PhotoVerdict(photo_id, usable=False, retake_message=UNREADABLE)
        # The model missing or failing must not lose the shopper's photo: the policy gets it
        # unassessed and sends the return to a person.
        log.exception("damage assessment failed for %s; the photo goes to the policy unassessed", photo_id)
        return PhotoVerdict(photo_id, usable=True)
    try:
        await api.store_assessment(photo_id, assessment, None)
    except backend.BackendError as exc:  # the verdict still counts for this conversation
        log.warning("assessment of %s not stored: %s", photo_id, exc)
    else:
        if (assessment.get("quality") or {}).get("ok", True) and HEATMAPS:
            schedule_heatmap(
                photo_id,
                data,
                str(assessment.get("model_version", "")),
                getattr(api, "conversation_id", None),
            )
    quality = assessment.get("quality") or {}
    if not quality.get("ok", True):
        return PhotoVerdict(
            photo_id, usable=False, retake_message=retake_sentence(quality), assessment=assessment
        )
    return PhotoVerdict(photo_id, usable=True, assessment=assessment)


async def assess_photos(
    api: backend.BackendClient, ids: list[str], dispatcher: CollectingDispatcher
) -> list[str]:
    """Assess each photo at once; say the retake sentence for those failing. Returns usable ids."""
    usable: list[str] = []
    for photo_id in ids:
        verdict = await assess_photo(api, photo_id)
        if verdict.missing:
            dispatcher.utter_message(response="utter_photo_missing")
        elif not verdict.usable:
            dispatcher.utter_message(response="utter_photo_retake", retake_message=verdict.retake_message)
        else:
            usable.append(photo_id)
    return usable


class ActionAskReturnPhotos(Action):
    """Asks for the photos the policy wants (its own sentence when it has one)."""

    def name(self) -> str:
        return "action_ask_return_photos"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        needed = int(tracker.get_slot("return_photos_needed") or 1)
        accepted = photo_ids(tracker.get_slot("return_photos_accepted"))
        decision = tracker.get_slot("return_decision") or {}
        ask = decision.get("ask_for") or {}
        message = str(ask.get("message") or "")
        if message and (not accepted or ask.get("reason") == "retake"):
            # the policy's own sentence: which item, how many, and why a retake
            dispatcher.utter_message(response="utter_ask_return_photos_policy", policy_message=message)
        elif accepted:
            dispatcher.utter_message(
                response="utter_ask_return_photos_more", missing=max(needed - len(accepted), 1)
            )
        else:
            dispatcher.utter_message(response="utter_ask_return_photos", needed=needed)
        return []


class ActionKeepEarlyPhotos(Action):
    """A photo sent before the photo step: kept, and used as soon as photos are needed."""

    def name(self) -> str:
        return "action_keep_early_photos"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        new = photo_ids(list(tracker.get_latest_entity_values("photo_ids")))
        inbox = photo_ids(tracker.get_slot("return_photo_inbox"))
        for photo_id in new:
            if photo_id not in inbox:
                inbox.append(photo_id)
        inbox = inbox[:MAX_PHOTOS]
        if tracker.active_loop_name == "return_form":
            dispatcher.utter_message(response="utter_photo_kept_for_later")
        else:
            dispatcher.utter_message(response="utter_photo_without_return")
        return [SlotSet("return_photo_inbox", inbox)]


preload_at_start()
