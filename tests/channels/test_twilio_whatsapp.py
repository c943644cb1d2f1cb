"""The WhatsApp (Twilio) connector against a loopback Twilio (tests/channels/fakes.py)."""

from __future__ import annotations

import json

import pytest

from bot.channels._common import twilio_signature
from tests.channels.conftest import (
    Harness,
    jpeg_bytes,
)
from tests.channels.fakes import FakeTwilio, FakeUploadApi
from tests.channels.script import LONG_PAYLOAD, PUBLIC_IMAGE

SHOPPER = "whatsapp:+14155550123"


def test_text_goes_to_the_bot_and_the_answer_comes_back(harness: Harness, fake_twilio: FakeTwilio) -> None:
    status, body = fake_twilio.deliver(fake_twilio.webhook_params(SHOPPER, "my vase arrived broken"))
    assert status == 200 and b"<Response>" in body
    [received] = harness.received()
    assert received["text"] == "my vase arrived broken"
    assert received["sender_id"] == SHOPPER
    assert received["input_channel"] == "twilio_whatsapp"
    [sent] = fake_twilio.sent()  # the fake answers 401 without the account's basic auth
    assert sent == {
        "To": SHOPPER,
        "From": fake_twilio.whatsapp_number,
        "Body": "echo: my vase arrived broken",
    }


@pytest.mark.parametrize("forgery", ["missing", "wrong token", "tampered body", "other url", "garbage"])
def test_a_bad_signature_gets_403_and_changes_nothing(
    harness: Harness, fake_twilio: FakeTwilio, fake_api: FakeUploadApi, forgery: str
) -> None:
    params = fake_twilio.webhook_params(SHOPPER, "hello", media=[(jpeg_bytes(), "image/jpeg")])
    url = fake_twilio.webhook_url
    signature = {
        "missing": "",
        "wrong token": twilio_signature("not-the-auth-token", url, params),
        "tampered body": twilio_signature(fake_twilio.auth_token, url, {**params, "Body": "hi"}),
        "other url": twilio_signature(fake_twilio.auth_token, "https://elsewhere.example/webhook", params),
        "garbage": "bm90IGEgc2lnbmF0dXJl",
    }[forgery]
    status, _ = fake_twilio.deliver(params, signature=signature)
    assert status == 403
    assert harness.received() == []
    assert fake_twilio.sent() == [] and fake_twilio.media_requests == []
    assert fake_api.uploads == []


def test_buttons_are_numbered_and_a_number_picks_the_payload(
    harness: Harness, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.deliver(fake_twilio.webhook_params(SHOPPER, "buttons"))
    harness.settle()
    [offer] = fake_twilio.bodies()
    assert offer == (
        "How would you like to be refunded?\n\n1. Refund to my card\n2. Exchange for another size"
        "\n\nReply with the number of your choice."
    )
    fake_twilio.deliver(fake_twilio.webhook_params(SHOPPER, "2"))
    fake_twilio.deliver(fake_twilio.webhook_params(SHOPPER, "2"))  # nothing on offer any more
    received = harness.received()
    assert [m["text"] for m in received] == ["buttons", LONG_PAYLOAD, "2"]
    assert received[1]["metadata"]["whatsapp"]["reply"] == "2"


def test_a_title_picks_too_and_other_senders_are_not_affected(
    harness: Harness, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.deliver(fake_twilio.webhook_params(SHOPPER, "buttons"))
    fake_twilio.deliver(fake_twilio.webhook_params("whatsapp:+14155550999", "1"))
    fake_twilio.deliver(fake_twilio.webhook_params(SHOPPER, "refund to my card"))
    texts = {(m["sender_id"], m["text"]) for m in harness.received()}
    assert ("whatsapp:+14155550999", "1") in texts
    assert (SHOPPER, '/choose_resolution{"resolution": "refund"}') in texts


def test_the_offer_is_read_back_from_the_tracker_after_a_restart(
    harness: Harness, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.deliver(fake_twilio.webhook_params(SHOPPER, "buttons"))
    harness.settle()
    harness.forget()
    fake_twilio.deliver(fake_twilio.webhook_params(SHOPPER, "1"))
    assert harness.texts() == ["buttons", '/choose_resolution{"resolution": "refund"}']


def test_a_photo_is_downloaded_with_basic_auth_uploaded_and_announced(
    harness: Harness, fake_twilio: FakeTwilio, fake_api: FakeUploadApi
) -> None:
    first, second = jpeg_bytes(), jpeg_bytes()[:-2] + b"\xff\xd9"
    params = fake_twilio.webhook_params(
        SHOPPER, "it came cracked", media=[(first, "image/jpeg"), (second, "image/jpeg")]
    )
    status, _ = fake_twilio.deliver(params)
    assert status == 200
    [received] = harness.received()
    assert [authenticated for _, authenticated in fake_twilio.media_requests] == [True, True]
    uploads = fake_api.uploads
    assert sorted(u["data"] for u in uploads) == sorted([first, second])
    assert {u["conversation_id"] for u in uploads} == {SHOPPER}
    photo_ids = json.loads(received["text"][len("/photo_uploaded") :])["photo_ids"]
    assert sorted(photo_ids) == sorted(u["photo_id"] for u in uploads)
    assert received["metadata"]["whatsapp"]["caption"] == "it came cracked"
    assert fake_twilio.bodies() == ["Thanks, I got 2 photo(s)."]


def test_media_that_is_not_a_photo_is_refused_politely(
    harness: Harness, fake_twilio: FakeTwilio, fake_api: FakeUploadApi
) -> None:
    fake_twilio.deliver(fake_twilio.webhook_params(SHOPPER, media=[(b"%PDF-1.4", "application/pdf")]))
    assert harness.received() == []
    assert fake_api.uploads == [] and fake_twilio.media_requests == []
    assert fake_twilio.bodies() == [
        "Sorry, I can only look at photos (JPEG, PNG or WebP). Please send a photo of the item."
    ]


def test_a_photo_the_api_refuses_is_explained(
    harness: Harness, fake_twilio: FakeTwilio, fake_api: FakeUploadApi
) -> None:
    fake_api.reject_with = (
        422,
        "The photo is corrupt or incomplete (perhaps the upload was cut off). Please send it again.",
    )
    fake_twilio.deliver(fake_twilio.webhook_params(SHOPPER, media=[(b"\xff\xd8broken", "image/jpeg")]))
    assert harness.received() == []
    assert fake_twilio.bodies() == [
        "Sorry, I couldn't use that photo. The photo is corrupt or incomplete "
        "(perhaps the upload was cut off). Please send it again."
    ]


def test_a_redelivered_webhook_is_handled_once(harness: Harness, fake_twilio: FakeTwilio) -> None:
    params = fake_twilio.webhook_params(SHOPPER, "once")
    fake_twilio.deliver(params)
    fake_twilio.deliver(params)
    assert harness.texts() == ["once"]


def test_images_long_texts_and_custom_messages(harness: Harness, fake_twilio: FakeTwilio) -> None:
    for text in ("image", "long", "custom"):
        fake_twilio.deliver(fake_twilio.webhook_params(SHOPPER, text))
    harness.settle()
    sent = fake_twilio.sent()
    assert {"To": SHOPPER, "From": fake_twilio.whatsapp_number, "MediaUrl": PUBLIC_IMAGE} in sent
    long_parts = [m["Body"] for m in sent if "lorem" in m.get("Body", "")]
    assert len(long_parts) > 1 and all(len(b) <= 1600 for b in long_parts)
    assert "custom hello" in fake_twilio.bodies()


def test_a_transient_api_error_is_retried(
    harness: Harness, fake_twilio: FakeTwilio, fake_api: FakeUploadApi
) -> None:
    fake_api.fail_next = 2  # e.g. SQLite busy under concurrent uploads: 500, 500, then 201
    fake_twilio.deliver(fake_twilio.webhook_params(SHOPPER, media=[(jpeg_bytes(), "image/jpeg")]))
    [received] = harness.received()
    assert received["text"].startswith('/photo_uploaded{"photo_ids": ["ph_')
    assert fake_twilio.bodies() == ["Thanks, I got 1 photo(s)."]


def test_a_lasting_api_error_is_told_to_the_shopper(
    harness: Harness, fake_twilio: FakeTwilio, fake_api: FakeUploadApi
) -> None:
    fake_api.fail_next = 3
    fake_twilio.deliver(fake_twilio.webhook_params(SHOPPER, media=[(jpeg_bytes(), "image/jpeg")]))
    assert harness.received() == []
    assert fake_twilio.bodies() == [
        "Sorry, I couldn't receive that photo just now. Please try sending it again in a moment."
    ]
