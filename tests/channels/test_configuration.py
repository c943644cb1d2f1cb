"""How the connectors are configured: settings from the environment, no secret -> 403 for all,
the public URL Twilio signs, and the photo path against the real backend API."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from bot.channels._common import twilio_signature
from tests.channels.conftest import (
    TELEGRAM,
    TWILIO,
    channel_credentials,
    jpeg_bytes,
    start_harness,
    stop_harness,
)
from tests.channels.fakes import FakeTelegram, FakeTwilio, FakeUploadApi

SHOPPER = "whatsapp:+14155550123"
PUBLIC_URL = "https://returns.example.com/webhooks/twilio_whatsapp/webhook?shop=acme"


def test_settings_from_the_environment_and_no_secret_means_403(
    fake_telegram: FakeTelegram, fake_twilio: FakeTwilio, fake_api: FakeUploadApi, tmp_path: Path
) -> None:
    """credentials.yml names the channels without settings (as bot/credentials.yml does): they come
    from $TELEGRAM_* / $TWILIO_* / $API_BASE_URL; where those are missing, everything gets 403."""
    configured = start_harness(
        {TELEGRAM: {"media_group_wait": 1.0}, TWILIO: None},
        tmp_path,
        env={
            "TELEGRAM_BOT_TOKEN": fake_telegram.token,
            "TELEGRAM_SECRET_TOKEN": fake_telegram.secret_token,
            "TELEGRAM_API_BASE": fake_telegram.url,
            "TWILIO_ACCOUNT_SID": fake_twilio.account_sid,
            "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
            "TWILIO_WHATSAPP_NUMBER": fake_twilio.whatsapp_number,
            "TWILIO_API_BASE": fake_twilio.url,
            "TWILIO_WEBHOOK_URL": PUBLIC_URL,  # behind a proxy: the URL Twilio signs
            "API_BASE_URL": fake_api.url,
        },
    )
    bare = start_harness({TELEGRAM: None, TWILIO: None}, tmp_path)
    try:
        fake_telegram.reset(), fake_twilio.reset(), fake_api.reset()
        fake_telegram.webhook_url = configured.telegram_webhook
        assert fake_telegram.deliver(fake_telegram.photo_update(5, jpeg_bytes()))[0] == 200
        params = fake_twilio.webhook_params(SHOPPER, "hello")
        signature = twilio_signature(fake_twilio.auth_token, PUBLIC_URL, params)
        assert fake_twilio.deliver(params, url=configured.twilio_webhook, signature=signature)[0] == 200
        # Signed for the URL Rasa sees, not the configured public one: refused.
        params = fake_twilio.webhook_params(SHOPPER, "again")
        assert fake_twilio.deliver(params, url=configured.twilio_webhook)[0] == 403

        texts = {m["sender_id"]: m["text"] for m in configured.received()}  # two senders: any order
        assert texts[SHOPPER] == "hello"
        assert texts["telegram:5"].startswith('/photo_uploaded{"photo_ids": ["ph_')
        assert [u["conversation_id"] for u in fake_api.uploads] == ["telegram:5"]
        assert fake_telegram.texts() == ["Thanks, I got 1 photo(s)."]
        assert fake_twilio.bodies() == ["echo: hello"]

        fake_telegram.webhook_url = bare.telegram_webhook
        assert fake_telegram.deliver(fake_telegram.text_update(5, "hi"))[0] == 403
        assert fake_telegram.deliver(fake_telegram.text_update(5, "hi"), secret="")[0] == 403
        params = fake_twilio.webhook_params(SHOPPER, "hi")
        assert fake_twilio.deliver(params, url=bare.twilio_webhook)[0] == 403
        assert bare.received() == []
    finally:
        stop_harness(configured)
        stop_harness(bare)


def test_photos_reach_the_real_api(
    live_api: str,
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
    tmp_path: Path,
    service_headers: dict[str, str],
) -> None:
    """Both channels against the real backend: the uploads are accepted and stored."""
    own = start_harness(channel_credentials(fake_telegram, fake_twilio, live_api), tmp_path)
    try:
        fake_telegram.reset(), fake_twilio.reset()
        fake_telegram.webhook_url = own.telegram_webhook
        assert fake_telegram.deliver(fake_telegram.photo_update(5, jpeg_bytes()))[0] == 200
        own.settle()  # one upload at a time: concurrent ones are the API's own tests' business
        params = fake_twilio.webhook_params(SHOPPER, media=[(jpeg_bytes(), "image/jpeg")])
        assert fake_twilio.deliver(params, url=own.twilio_webhook)[0] == 200
        received = own.received()
        assert sorted(m["sender_id"] for m in received) == ["telegram:5", SHOPPER]
        for message in received:
            [photo_id] = json.loads(message["text"][len("/photo_uploaded") :])["photo_ids"]
            stored = httpx.get(f"{live_api}/api/v1/photos/{photo_id}", headers=service_headers, timeout=30)
            assert stored.status_code == 200 and stored.headers["content-type"].startswith("image/")
            assert stored.content[:2] == b"\xff\xd8"  # a JPEG, as cleaned by the API
    finally:
        stop_harness(own)
