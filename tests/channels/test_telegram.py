"""The Telegram connector against a loopback Telegram Bot API (tests/channels/fakes.py)."""

from __future__ import annotations

import json
import threading

import pytest

from tests.channels.conftest import (
    Harness,
    jpeg_bytes,
)
from tests.channels.fakes import FakeTelegram, FakeUploadApi
from tests.channels.script import LOCAL_IMAGE, LONG_PAYLOAD, PUBLIC_IMAGE

CHAT = 700100200


def test_text_goes_to_the_bot_and_the_answer_comes_back(
    harness: Harness, fake_telegram: FakeTelegram
) -> None:
    status, body = fake_telegram.deliver(fake_telegram.text_update(CHAT, "my vase arrived broken"))
    assert status == 200 and json.loads(body) == {"ok": True}
    [received] = harness.received()
    assert received["text"] == "my vase arrived broken"
    assert received["sender_id"] == f"telegram:{CHAT}"
    assert received["input_channel"] == "telegram_returns"
    assert received["metadata"]["telegram"]["chat_id"] == CHAT
    assert fake_telegram.sent("sendMessage") == [
        {"chat_id": str(CHAT), "text": "echo: my vase arrived broken"}
    ]


@pytest.mark.parametrize("secret", ["", "wrong-secret", "tg-secret_TEST-"])
def test_a_missing_or_wrong_secret_token_gets_403_and_changes_nothing(
    harness: Harness, fake_telegram: FakeTelegram, fake_api: FakeUploadApi, secret: str
) -> None:
    for update in (
        fake_telegram.text_update(CHAT, "hello"),
        fake_telegram.photo_update(CHAT, jpeg_bytes()),
        fake_telegram.button_update(CHAT, "/affirm"),
    ):
        status, _ = fake_telegram.deliver(update, secret=secret)
        assert status == 403
    assert harness.received() == []
    assert fake_telegram.calls == [] and fake_telegram.downloads == []
    assert fake_api.uploads == []


def test_start_greets(harness: Harness, fake_telegram: FakeTelegram) -> None:
    fake_telegram.deliver(fake_telegram.text_update(CHAT, "/start"))
    assert harness.texts() == ["/greet"]


def test_buttons_become_an_inline_keyboard_and_a_press_sends_the_payload(
    harness: Harness, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.deliver(fake_telegram.text_update(CHAT, "buttons"))
    harness.settle()
    [message] = fake_telegram.sent("sendMessage")
    assert message["text"] == "How would you like to be refunded?"
    keyboard = message["reply_markup"]["inline_keyboard"]
    assert [[b["text"] for b in row] for row in keyboard] == [
        ["Refund to my card"],
        ["Exchange for another size"],
    ]
    assert keyboard[0][0]["callback_data"] == '/choose_resolution{"resolution": "refund"}'
    long_data = keyboard[1][0]["callback_data"]
    assert len(long_data.encode()) <= 64  # Telegram's limit; the payload itself is longer

    status, _ = fake_telegram.deliver(fake_telegram.button_update(CHAT, long_data, message_id=77))
    assert status == 200
    assert harness.texts() == ["buttons", LONG_PAYLOAD]
    assert len(fake_telegram.sent("answerCallbackQuery")) == 1
    assert fake_telegram.sent("editMessageReplyMarkup") == [{"chat_id": CHAT, "message_id": 77}]


def test_a_long_payload_button_still_works_after_a_restart(
    harness: Harness, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.deliver(fake_telegram.text_update(CHAT, "buttons"))
    harness.settle()
    long_data = fake_telegram.sent("sendMessage")[0]["reply_markup"]["inline_keyboard"][1][0]["callback_data"]
    harness.forget()  # the in-memory token table is gone; the tracker still has the buttons
    fake_telegram.deliver(fake_telegram.button_update(CHAT, long_data))
    assert harness.texts() == ["buttons", LONG_PAYLOAD]


def test_an_unknown_button_token_asks_the_shopper_to_type(
    harness: Harness, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.deliver(fake_telegram.button_update(CHAT, "~cb:" + "0" * 32))
    assert harness.received() == []
    assert fake_telegram.texts() == ["That button has expired. Please type your answer instead."]


def test_a_photo_is_downloaded_uploaded_and_announced(
    harness: Harness, fake_telegram: FakeTelegram, fake_api: FakeUploadApi
) -> None:
    photo = jpeg_bytes()
    update = fake_telegram.photo_update(CHAT, photo, caption="it arrived like this")
    largest = update["message"]["photo"][-1]
    fake_telegram.deliver(update)
    [received] = harness.received()
    [upload] = fake_api.uploads
    assert fake_telegram.sent("getFile") == [{"file_id": largest["file_id"]}]  # the largest size only
    assert upload["data"] == photo
    assert upload["conversation_id"] == f"telegram:{CHAT}"
    assert upload["content_type"] == "image/jpeg"
    assert received["text"] == '/photo_uploaded{"photo_ids": ["' + upload["photo_id"] + '"]}'
    assert received["metadata"]["telegram"]["caption"] == "it arrived like this"
    assert fake_telegram.texts() == ["Thanks, I got 1 photo(s)."]


def test_an_image_sent_as_a_file_counts_as_a_photo(
    harness: Harness, fake_telegram: FakeTelegram, fake_api: FakeUploadApi
) -> None:
    update = fake_telegram.text_update(CHAT, "x")
    message = update["message"]
    del message["text"]
    message["document"] = {
        "file_id": fake_telegram.add_file(jpeg_bytes(), "documents/IMG_0001.png"),
        "file_unique_id": "d1",
        "file_name": "IMG_0001.png",
        "mime_type": "image/png",
    }
    fake_telegram.deliver(update)
    assert harness.texts()[0].startswith('/photo_uploaded{"photo_ids": ["ph_')
    assert fake_api.uploads[0]["filename"] == "IMG_0001.png"


def test_an_album_becomes_one_message(
    harness: Harness, fake_telegram: FakeTelegram, fake_api: FakeUploadApi
) -> None:
    updates = [fake_telegram.photo_update(CHAT, jpeg_bytes(), media_group_id="13579") for _ in range(3)]
    threads = [threading.Thread(target=fake_telegram.deliver, args=(u,)) for u in updates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [received] = harness.received()
    photo_ids = json.loads(received["text"][len("/photo_uploaded") :])["photo_ids"]
    assert sorted(photo_ids) == sorted(u["photo_id"] for u in fake_api.uploads)
    assert len(photo_ids) == 3


def test_a_photo_the_api_refuses_is_explained_to_the_shopper(
    harness: Harness, fake_telegram: FakeTelegram, fake_api: FakeUploadApi
) -> None:
    fake_api.reject_with = (415, "That file is not an image. Please send a photo as JPEG, PNG or WebP.")
    fake_telegram.deliver(fake_telegram.photo_update(CHAT, b"GIF89a not really"))
    assert harness.received() == []
    refusal = "That file is not an image. Please send a photo as JPEG, PNG or WebP."
    assert fake_telegram.texts() == ["Sorry, I couldn't use that photo. " + refusal]


def test_a_redelivered_update_is_handled_once(harness: Harness, fake_telegram: FakeTelegram) -> None:
    update = fake_telegram.text_update(CHAT, "once")
    fake_telegram.deliver(update)
    fake_telegram.deliver(update)
    assert harness.texts() == ["once"]


def test_images_long_texts_and_custom_messages(harness: Harness, fake_telegram: FakeTelegram) -> None:
    for text in ("image", "local image", "long", "custom"):
        fake_telegram.deliver(fake_telegram.text_update(CHAT, text))
    harness.settle()
    photos = fake_telegram.sent("sendPhoto")
    assert [p["photo"] for p in photos] == [PUBLIC_IMAGE, LOCAL_IMAGE]
    texts = fake_telegram.texts()
    # Telegram cannot fetch a loopback URL: the shopper gets the link instead.
    assert LOCAL_IMAGE in texts
    long_parts = [t for t in texts if t.startswith("Paragraph") or "lorem" in t]
    assert len(long_parts) > 1 and all(len(t) <= 4096 for t in long_parts)
    assert "custom hello" in texts


def test_group_chats_and_edits_are_ignored(harness: Harness, fake_telegram: FakeTelegram) -> None:
    group = fake_telegram.text_update(CHAT, "hello group")
    group["message"]["chat"] = {"id": -100123, "type": "supergroup", "title": "Shoppers"}
    edited = fake_telegram.text_update(CHAT, "edited")
    edited["edited_message"] = edited.pop("message")
    assert fake_telegram.deliver(group)[0] == 200
    assert fake_telegram.deliver(edited)[0] == 200
    assert harness.received() == []


def test_malformed_body_is_400(harness: Harness, fake_telegram: FakeTelegram) -> None:
    from tests.channels.fakes import post

    status, _ = post(
        fake_telegram.webhook_url,
        b"[1, 2",
        {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": fake_telegram.secret_token},
    )
    assert status == 400


def test_setup_registers_the_webhook_with_the_secret(
    fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.channels import telegram_setup

    fake_telegram.reset()
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake_telegram.token)
    monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", fake_telegram.secret_token)
    monkeypatch.setenv("TELEGRAM_API_BASE", fake_telegram.url)
    assert telegram_setup.main(["https://returns.example.com/"]) == 0
    assert fake_telegram.sent("setWebhook") == [
        {
            "url": "https://returns.example.com/webhooks/telegram_returns/webhook",
            "secret_token": fake_telegram.secret_token,
            "allowed_updates": ["message", "callback_query"],
            "drop_pending_updates": False,
        }
    ]
    assert fake_telegram.secret_token not in capsys.readouterr().out
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:wrong")
    with pytest.raises(SystemExit, match="Unauthorized"):
        telegram_setup.main(["--delete"])
