"""Whole system over the chat channels: a full return with a photo over Telegram and over
WhatsApp (Twilio), with rasa + actions + api running as real processes (scripts/run.py) and
the providers replaced by loopback fakes speaking their wire formats (fakes.py).

The shopper is scripted but reactive: it answers what the bot asks (order number, proof,
photo) and taps the sensible button when offered, so wording changes in the bot do not break
the test; the backend is then asked, with the shopper's proof, for the return and its photo.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.channels._common import REPLY_WITH_NUMBER
from tests.channels.conftest import jpeg_bytes
from tests.channels.fakes import FakeTelegram, FakeTwilio
from tests.conftest import ROOT, SERVICE_TOKEN, free_port
from tests.support import missing_prerequisite

pytestmark = pytest.mark.e2e

RASA_MODEL = ROOT / "models" / "rasa" / "returns-assistant.tar.gz"
PREFERRED = ("arrived damaged", "refund", "yes", "submit")
AVOID = ("no", "talk to a person", "stop", "another address")
DONE = re.compile(r"return number is (RMA-[A-Z0-9-]+)", re.IGNORECASE)


@dataclass
class Stack:
    api: str
    rasa: str
    telegram: FakeTelegram
    twilio: FakeTwilio
    log: list[str]


def _get_json(url: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not RASA_MODEL.exists():
        missing_prerequisite(f"no Rasa model at {RASA_MODEL.relative_to(ROOT)}: run `make rasa-model`")
    from scripts.run import isolated_env, migrate_and_seed, start_stack, stop_stack

    var = tmp_path_factory.mktemp("channels-e2e") / "var"
    var.mkdir()
    telegram, twilio = FakeTelegram().start(), FakeTwilio().start()
    api_port, rasa_port, actions_port = free_port(), free_port(), free_port()
    api, rasa = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{rasa_port}"
    env = {
        **isolated_env(var, (api_port, rasa_port, actions_port), name="e2e", service_token=SERVICE_TOKEN),
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_SECRET_TOKEN": telegram.secret_token,
        "TELEGRAM_API_BASE": telegram.url,
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_WHATSAPP_NUMBER": twilio.whatsapp_number,
        "TWILIO_API_BASE": twilio.url,
    }
    migrate_and_seed(env)
    log: list[str] = []
    services = start_stack(env, ports=(api_port, rasa_port, actions_port), log_sink=log, timeout=400)
    telegram.webhook_url = f"{rasa}/webhooks/telegram_returns/webhook"
    twilio.webhook_url = f"{rasa}/webhooks/twilio_whatsapp/webhook"
    try:
        yield Stack(api, rasa, telegram, twilio, log)
    finally:
        stop_stack(services)
        telegram.stop()
        twilio.stop()


# -- talking to the bot ----------------------------------------------------------------------


def tracker(stack: Stack, sender_id: str) -> dict[str, Any]:
    return dict(_get_json(f"{stack.rasa}/conversations/{urllib.parse.quote(sender_id, safe=':+')}/tracker"))


def user_turns(stack: Stack, sender_id: str) -> int:
    return sum(1 for e in tracker(stack, sender_id)["events"] if e["event"] == "user")


def wait_for_turn(stack: Stack, sender_id: str, turns_before: int, timeout: float = 90) -> None:
    """Until Rasa has handled one more user message and listens again (its answers are sent)."""
    deadline = time.monotonic() + timeout
    events: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        events = tracker(stack, sender_id)["events"]
        users = sum(1 for e in events if e["event"] == "user")
        if users > turns_before and events[-1]["event"] == "action" and events[-1]["name"] == "action_listen":
            time.sleep(0.3)
            return
        time.sleep(0.25)
    last = [(e["event"], e.get("name") or e.get("text")) for e in events[-8:]]
    raise AssertionError(
        f"the bot did not finish its turn; last events {last}:\n" + "\n".join(stack.log[-40:])
    )


def pick(buttons: list[str]) -> int:
    lowered = [b.lower() for b in buttons]
    for wanted in PREFERRED:
        for index, title in enumerate(lowered):
            if wanted in title:
                return index
    for index, title in enumerate(lowered):
        if not title.startswith(AVOID):
            return index
    return 0


def converse(
    say: Callable[[str], None],
    send_photo: Callable[[], None],
    press: Callable[[int], None],
    read: Callable[[], list[tuple[str, list[str]]]],
    order: str,
    email: str,
) -> tuple[str, list[str]]:
    """Play the shopper until the bot gives a return number; (RMA, transcript)."""
    transcript: list[str] = ["shopper: I'd like to return an item"]
    say("I'd like to return an item")
    photos_sent = 0
    for _ in range(25):
        messages = read()
        transcript += [f"bot: {text} {buttons or ''}" for text, buttons in messages]
        text = " ".join(t for t, _ in messages)
        done = DONE.search(text)
        if done:
            return done.group(1), transcript
        buttons = next((b for _, b in reversed(messages) if b), [])
        lowered = text.lower()
        if (
            "photo" in lowered
            and ("send" in lowered or "📎" in text or "retake" in lowered)
            and photos_sent < 4
        ):
            transcript.append("shopper: <photo>")
            photos_sent += 1
            send_photo()
        elif buttons:
            choice = pick(buttons)
            transcript.append(f"shopper: taps {buttons[choice]!r}")
            press(choice)
        elif "order number" in lowered:
            transcript.append(f"shopper: {order}")
            say(order)
        elif "email" in lowered or "postcode" in lowered:
            transcript.append(f"shopper: {email}")
            say(email)
        elif "reason" in lowered:
            say("it arrived damaged")
        else:
            raise AssertionError("no idea how to answer:\n" + "\n".join(transcript))
    raise AssertionError("no return number after 25 turns:\n" + "\n".join(transcript))


def lookup_return(stack: Stack, rma: str, email: str) -> dict[str, Any]:
    returns = _get_json(f"{stack.api}/api/v1/returns/lookup", {"rma": rma, "email": email})
    [found] = [r for r in returns if r["rma"] == rma]
    return dict(found)


def test_full_return_with_a_photo_over_telegram(stack: Stack) -> None:
    fake, chat = stack.telegram, 880011
    sender = f"telegram:{chat}"
    seen = {"messages": 0}
    keyboard: list[dict[str, Any]] = []

    def deliver(update: dict[str, Any]) -> None:
        before = user_turns(stack, sender)
        assert fake.deliver(update)[0] == 200
        wait_for_turn(stack, sender, before)

    def read() -> list[tuple[str, list[str]]]:
        sent = fake.sent("sendMessage")[seen["messages"] :]
        seen["messages"] += len(sent)
        out = []
        for message in sent:
            rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
            if rows:
                keyboard[:] = [button for row in rows for button in row]
            out.append((str(message["text"]), [b["text"] for row in rows for b in row] if rows else []))
        return out

    photo = jpeg_bytes()
    rma, transcript = converse(
        say=lambda text: deliver(fake.text_update(chat, text)),
        send_photo=lambda: deliver(fake.photo_update(chat, photo)),
        press=lambda index: deliver(fake.button_update(chat, keyboard[index]["callback_data"])),
        read=read,
        order="100232",
        email="raj@example.com",
    )

    print("\n".join(transcript))  # shown with -s or on failure
    found = lookup_return(stack, rma, "raj@example.com")
    photo_ids = [p for item in found["items"] for p in item["photo_ids"]]
    assert photo_ids, transcript
    assert fake.sent("getFile") and fake.downloads
    assert found["status"] and found["decision"]["outcome"] in ("approve", "review"), transcript

    # A forged update (wrong secret) that would cancel it gets 403 and changes nothing.
    turns = user_turns(stack, sender)
    forged = fake.text_update(chat, "cancel my return " + rma)
    assert fake.deliver(forged, secret="not-the-secret")[0] == 403
    assert fake.deliver(forged, secret="")[0] == 403
    time.sleep(1.0)
    assert user_turns(stack, sender) == turns
    assert lookup_return(stack, rma, "raj@example.com")["status"] == found["status"]


def test_full_return_with_a_photo_over_whatsapp(stack: Stack) -> None:
    fake, sender = stack.twilio, "whatsapp:+14155550177"
    seen = {"messages": 0}

    def deliver(params: dict[str, str]) -> None:
        before = user_turns(stack, sender)
        assert fake.deliver(params)[0] == 200
        wait_for_turn(stack, sender, before)

    def read() -> list[tuple[str, list[str]]]:
        sent = fake.sent()[seen["messages"] :]
        seen["messages"] += len(sent)
        out = []
        for message in sent:
            body = message.get("Body", "")
            options: list[str] = []
            if body.endswith(REPLY_WITH_NUMBER):  # the options are the paragraph above the hint
                block = body[: -len(REPLY_WITH_NUMBER)].rstrip().rsplit("\n\n", 1)[-1]
                options = [title for _, title in re.findall(r"^(\d+)\. (.+)$", block, re.MULTILINE)]
            out.append((body, options))
        return out

    photo = jpeg_bytes()
    rma, transcript = converse(
        say=lambda text: deliver(fake.webhook_params(sender, text)),
        send_photo=lambda: deliver(fake.webhook_params(sender, media=[(photo, "image/jpeg")])),
        press=lambda index: deliver(fake.webhook_params(sender, str(index + 1))),
        read=read,
        order="100231",
        email="jane@example.com",
    )

    print("\n".join(transcript))
    found = lookup_return(stack, rma, "jane@example.com")
    assert [p for item in found["items"] for p in item["photo_ids"]], transcript
    assert all(authenticated for _, authenticated in fake.media_requests)

    turns = user_turns(stack, sender)
    forged = fake.webhook_params(sender, "cancel my return " + rma)
    assert fake.deliver(forged, signature="bm90IGEgc2lnbmF0dXJl")[0] == 403
    assert fake.deliver(forged, signature="")[0] == 403
    time.sleep(1.0)
    assert user_turns(stack, sender) == turns
    assert lookup_return(stack, rma, "jane@example.com")["status"] == found["status"]
