"""Reviewing flagged returns: the queue, the evidence page, approve / reject / more photos, bulk
approve, photo verdicts; each with its outbox email, audit lines and Decision row."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.dashboard import helpers


def _state(rma: str) -> dict[str, Any]:
    """Everything an action should have written, read straight from the database."""
    from api.db import session_scope
    from api.models import AuditLog, OutboxMessage, ReturnRequest

    with session_scope() as db:
        ret = db.scalar(select(ReturnRequest).where(ReturnRequest.rma == rma))
        assert ret is not None
        return {
            "status": ret.status,
            "pickups": [(p.status, p.reference) for p in ret.pickups],
            "decisions": [(d.outcome, d.decided_by, d.note) for d in ret.decisions],
            "emails": [
                (m.event, m.to_address, m.body_text)
                for m in db.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.dedupe_key.like(f"{rma}:%"))
                    .order_by(OutboxMessage.id)
                )
            ],
            "audit": [
                (a.action, a.actor)
                for a in db.scalars(select(AuditLog).where(AuditLog.entity_id == rma).order_by(AuditLog.id))
            ],
        }


@pytest.fixture
def chat_notices(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What the chat hook was asked to tell the shopper."""
    from api.services import review

    sent: list[Any] = []
    monkeypatch.setattr(review, "tell_shopper_in_chat", lambda notice: sent.append(notice) or True)
    return sent


def _post(client: Any, path: str, token: str, **data: Any) -> Any:
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def test_queue_lists_flagged_returns_oldest_first_with_counts(
    client: Any, shops: dict[str, Any], reviewer: str
) -> None:
    from datetime import UTC, datetime, timedelta

    from api.db import session_scope
    from api.models import ReturnRequest

    vase = helpers.create_return(client, order_number="100232", email="raj@example.com", photos=1)
    headphones = helpers.create_return(client)
    with session_scope() as db:  # the vase waited longer
        ret = db.scalar(select(ReturnRequest).where(ReturnRequest.rma == vase["rma"]))
        assert ret is not None
        ret.created_at = datetime.now(UTC) - timedelta(hours=60)
    page = client.get("/merchant/queue").text
    assert page.index(vase["rma"]) < page.index(headphones["rma"])
    assert '<div class="value" id="queue-total">2</div>' in page
    assert "overdue" in page  # 60 h > the 48 h promise
    assert "$409.00" in page  # value waiting: 349 + 60
    by_value = client.get("/merchant/queue?sort=value").text
    assert by_value.index(headphones["rma"]) < by_value.index(vase["rma"])


def test_return_page_shows_the_evidence(client: Any, flagged: dict[str, Any], reviewer: str) -> None:
    rma = flagged["rma"]
    photo_id = flagged["items"][0]["photo_ids"][0]
    page = client.get(f"/merchant/returns/{rma}")
    assert page.status_code == 200
    text = page.text
    assert f'src="/merchant/photos/{photo_id}"' in text
    assert f'src="/merchant/photos/{photo_id}/heatmap.png"' in text
    assert 'class="heatmap-toggle"' in text
    assert "0.55" in text and "damage-test-2026.11.26" in text  # score and model version
    assert "unclear" in text  # model verdict at the policy thresholds
    for code in ("damage.unclear", "value.high"):  # every rule that fired, with its messages
        assert code in text
    assert "high-value item" in text  # shopper message of value.high
    assert "Price $349.00" in text  # merchant detail
    assert "Wireless headphones" in text and "li@example.com" in text and "02139" in text
    assert "First return by this customer" in text
    assert "did not answer" in text  # Rasa is down: said, not failed
    assert client.get(f"/merchant/photos/{photo_id}").headers["content-type"] == "image/jpeg"
    heatmap = client.get(f"/merchant/photos/{photo_id}/heatmap.png")
    assert heatmap.status_code == 200 and heatmap.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_customers_past_returns_are_listed(client: Any, shops: dict[str, Any], reviewer: str) -> None:
    first = helpers.create_return(
        client, order_number="100231", email="jane@example.com", reason="doesnt_fit", photos=0, expect=None
    )
    second = helpers.create_return(
        client,
        order_number="100231",
        email="jane@example.com",
        reason="defective",
        photos=1,
        expect="under_review",
        item_index=1,
    )
    text = client.get(f"/merchant/returns/{second['rma']}").text
    assert first["rma"] in text


def test_approve_books_the_held_pickup_and_emails_the_shopper(
    client: Any, flagged: dict[str, Any], reviewer: str, shops: dict[str, Any], chat_notices: list[Any]
) -> None:
    rma = flagged["rma"]
    assert _state(rma)["pickups"][0][0] == "on_hold"
    response = _post(client, f"/merchant/returns/{rma}/approve", reviewer, note="Clearly cracked.")
    assert response.status_code == 303
    assert response.headers["location"] == f"/merchant/returns/{rma}"
    page = client.get(response.headers["location"]).text
    assert f"Approved {rma}" in page
    assert "pickup scheduled" in page

    state = _state(rma)
    user = f"user:{shops['acme_reviewer']}"
    assert state["status"] == "pickup_scheduled"
    assert state["pickups"][0][0] == "scheduled"
    assert state["decisions"][-1] == ("approve", user, "Clearly cracked.")
    events = [e for e, _, _ in state["emails"]]
    assert events == ["return_under_review", "return_approved", "pickup_scheduled"]
    approved_mail = state["emails"][1]
    assert approved_mail[1] == "li@example.com"
    assert "approved" in approved_mail[2]
    assert state["pickups"][0][1] in state["emails"][2][2]  # pickup reference in the pickup email
    actions = [a for a, actor in state["audit"] if actor == user]
    assert actions == ["status:approved", "status:pickup_scheduled", "review:approved"]
    assert [n.event for n in chat_notices] == ["review_approved"]
    assert chat_notices[0].rma == rma and chat_notices[0].conversation_id.startswith("conv-")

    # Decided: no second decision, and it left the queue.
    again = _post(client, f"/merchant/returns/{rma}/approve", reviewer)
    assert "only returns under review can be decided" in client.get(again.headers["location"]).text
    assert rma not in client.get("/merchant/queue").text
    assert len(_state(rma)["decisions"]) == 2


def test_approve_without_pickup_keeps_it_approved(client: Any, shops: dict[str, Any], reviewer: str) -> None:
    from api.db import session_scope
    from api.models import Pickup, ReturnRequest

    ret = helpers.create_return(client)
    with session_scope() as db:  # e.g. a keep-it refund: nothing to collect
        row = db.scalar(select(ReturnRequest).where(ReturnRequest.rma == ret["rma"]))
        assert row is not None
        for pickup in db.scalars(select(Pickup).where(Pickup.return_id == row.id)):
            pickup.status = "cancelled"
    _post(client, f"/merchant/returns/{ret['rma']}/approve", reviewer)
    state = _state(ret["rma"])
    assert state["status"] == "approved"
    assert [e for e, _, _ in state["emails"]] == ["return_under_review", "return_approved"]


def test_reject_needs_a_note_and_tells_the_shopper(
    client: Any, flagged: dict[str, Any], reviewer: str, shops: dict[str, Any], chat_notices: list[Any]
) -> None:
    rma = flagged["rma"]
    refused = _post(client, f"/merchant/returns/{rma}/reject", reviewer, note="  ")
    assert "Write a note for the shopper" in client.get(refused.headers["location"]).text
    assert _state(rma)["status"] == "under_review"

    _post(client, f"/merchant/returns/{rma}/reject", reviewer, note="The photos show no damage.")
    state = _state(rma)
    assert state["status"] == "rejected"
    assert state["pickups"][0][0] == "cancelled"
    assert state["decisions"][-1] == (
        "reject",
        f"user:{shops['acme_reviewer']}",
        "The photos show no damage.",
    )
    event, to, body = state["emails"][-1]
    assert (event, to) == ("return_rejected", "li@example.com")
    assert "The photos show no damage." in body
    assert ("review:rejected", f"user:{shops['acme_reviewer']}") in state["audit"]
    assert ("status:rejected", f"user:{shops['acme_reviewer']}") in state["audit"]
    assert [n.event for n in chat_notices] == ["review_rejected"]


def test_ask_for_more_photos_keeps_it_in_review(
    client: Any, flagged: dict[str, Any], reviewer: str, shops: dict[str, Any], chat_notices: list[Any]
) -> None:
    rma = flagged["rma"]
    for note in ("A close-up of the crack, please.", "And one of the box."):
        _post(client, f"/merchant/returns/{rma}/request-photos", reviewer, note=note)
    state = _state(rma)
    assert state["status"] == "under_review"
    assert state["pickups"][0][0] == "on_hold"
    assert [d[0] for d in state["decisions"]] == ["review", "need_photos", "need_photos"]
    mails = [m for m in state["emails"] if m[0] == "more_photos_requested"]
    assert len(mails) == 2  # each request is its own email
    assert "A close-up of the crack, please." in mails[0][2]
    assert [a for a, _ in state["audit"]].count("review:more_photos_requested") == 2
    assert rma in client.get("/merchant/queue").text
    assert [n.event for n in chat_notices] == ["more_photos_requested"] * 2


def test_bulk_approve(client: Any, shops: dict[str, Any], reviewer: str, chat_notices: list[Any]) -> None:
    one = helpers.create_return(client)
    two = helpers.create_return(client, order_number="100232", email="raj@example.com", photos=1)
    theirs = helpers.create_return(client, order_number="900001", email="zoe@example.com", photos=1)
    response = _post(
        client,
        "/merchant/queue/approve",
        reviewer,
        rma=[one["rma"], two["rma"], theirs["rma"], "RMA-NOPE"],
        note="Thanks!",
    )
    page = client.get(response.headers["location"]).text
    assert "Approved 2 return(s)" in page
    assert f"{theirs['rma']}" in page and "Skipped" in page  # named as skipped, nothing shown of it
    for rma in (one["rma"], two["rma"]):
        state = _state(rma)
        assert state["status"] == "pickup_scheduled"
        assert "return_approved" in [e for e, _, _ in state["emails"]]
        assert state["decisions"][-1][1] == f"user:{shops['acme_reviewer']}"
    assert _state(theirs["rma"])["status"] == "under_review"  # another shop's return is untouched
    assert len(chat_notices) == 2
    assert "Nothing to review" in page


def test_bulk_approve_needs_a_selection(client: Any, flagged: dict[str, Any], reviewer: str) -> None:
    response = _post(client, "/merchant/queue/approve", reviewer)
    assert "Tick the returns to approve first." in client.get(response.headers["location"]).text
    assert _state(flagged["rma"])["status"] == "under_review"


def test_photo_verdicts_are_stored_and_the_newest_counts(
    client: Any, flagged: dict[str, Any], reviewer: str, shops: dict[str, Any]
) -> None:
    from api.db import session_scope
    from api.models import AuditLog, PhotoVerdict

    photo_id = flagged["items"][0]["photo_ids"][0]
    _post(client, f"/merchant/photos/{photo_id}/verdict", reviewer, label="intact", severity="severe")
    response = _post(
        client,
        f"/merchant/photos/{photo_id}/verdict",
        reviewer,
        label="damaged",
        severity="severe",
        damage_type="broken",
    )
    assert response.headers["location"] == f"/merchant/returns/{flagged['rma']}#photo-{photo_id}"
    bad = _post(client, f"/merchant/photos/{photo_id}/verdict", reviewer, label="ugly")
    assert bad.status_code == 303
    with session_scope() as db:
        verdicts = list(
            db.scalars(
                select(PhotoVerdict).where(PhotoVerdict.photo_id == photo_id).order_by(PhotoVerdict.id)
            )
        )
        assert [(v.label, v.severity, v.damage_type) for v in verdicts] == [
            ("intact", "none", None),
            ("damaged", "severe", "broken"),
        ]
        assert verdicts[-1].user_id == shops["acme_reviewer"]
        assert db.scalar(
            select(AuditLog).where(AuditLog.entity_type == "photo", AuditLog.entity_id == photo_id)
        )
    page = client.get(f"/merchant/returns/{flagged['rma']}").text
    assert "Choose damaged, intact or unusable." in page  # the refused "ugly"
    assert 'now <span class="badge damaged">damaged</span> by Rev' in page


def test_transcript_is_read_from_rasas_tracker(
    client: Any, flagged: dict[str, Any], reviewer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    from api.services import review

    seen: list[str] = []

    def tracker(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(
            200,
            json={
                "events": [
                    {"event": "action", "name": "action_listen"},
                    {"event": "user", "text": "my headphones arrived broken", "timestamp": 1764140000.0},
                    {
                        "event": "bot",
                        "text": "Sorry to hear that! Please send 2 photos.",
                        "timestamp": 1764140001.0,
                        "data": {"buttons": [{"title": "Upload photos", "payload": "/upload"}]},
                    },
                    {
                        "event": "user",
                        "text": '/photo_uploaded{"photo_ids": ["ph_1", "ph_2"]}',
                        "parse_data": {"entities": [{"entity": "photo_ids", "value": ["ph_1", "ph_2"]}]},
                    },
                    {"event": "bot", "text": "<script>alert(1)</script>"},
                ]
            },
        )

    transport = httpx.MockTransport(tracker)
    real = review.chat_transcript
    monkeypatch.setattr(
        review, "chat_transcript", lambda cid: real(cid, client=httpx.Client(transport=transport))
    )
    text = client.get(f"/merchant/returns/{flagged['rma']}").text
    assert "my headphones arrived broken" in text
    assert "Sorry to hear that! Please send 2 photos." in text
    assert "Upload photos" in text
    assert "sent 2 photos" in text
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;" in text
    assert "/conversations/conv-" in seen[0] and seen[0].split("?")[0].endswith("/tracker")


def test_transcript_problems_are_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    from api.services.review import chat_transcript

    def failing(status: int) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(status, text="x")))

    assert "answered 401" in chat_transcript("c1", client=failing(401)).problem
    assert "not a transcript" in chat_transcript("c1", client=failing(200)).problem
    assert "not started in a chat" in chat_transcript(None).problem

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    down = chat_transcript("c1", client=httpx.Client(transport=httpx.MockTransport(refuse)))
    assert not down.available and "did not answer" in down.problem


def test_rasa_token_is_sent_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    from api.services.review import chat_transcript
    from api.settings import get_settings

    monkeypatch.setenv("RASA_TOKEN", "rasa-secret")
    get_settings.cache_clear()
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200, json={"events": []}))
    result = chat_transcript("c1", client=httpx.Client(transport=transport))
    assert seen[0].url.params["token"] == "rasa-secret"
    assert result.available and result.problem == "No messages in this conversation."
    get_settings.cache_clear()


def test_vocabulary_matches_the_damage_model() -> None:
    pytest.importorskip("torch")
    from api.services import review
    from vision.heads import DAMAGE_TYPES, SEVERITIES, VERDICTS

    assert set(review.VERDICT_LABELS) == set(VERDICTS)
    assert review.SEVERITIES == SEVERITIES
    assert review.DAMAGE_TYPES == DAMAGE_TYPES


def test_approve_rebooks_a_held_pickup_whose_day_has_passed(
    client: Any, flagged: dict[str, Any], reviewer: str
) -> None:
    from datetime import UTC, datetime, timedelta

    from api.db import session_scope
    from api.models import Pickup, ReturnRequest

    with session_scope() as db:
        ret = db.scalar(select(ReturnRequest).where(ReturnRequest.rma == flagged["rma"]))
        assert ret is not None
        pickup = db.scalar(select(Pickup).where(Pickup.return_id == ret.id))
        assert pickup is not None
        pickup.date = datetime.now(UTC).date() - timedelta(days=3)  # the review took too long
        old_reference = pickup.reference
    _post(client, f"/merchant/returns/{flagged['rma']}/approve", reviewer)
    with session_scope() as db:
        ret = db.scalar(select(ReturnRequest).where(ReturnRequest.rma == flagged["rma"]))
        assert ret is not None and ret.status == "pickup_scheduled"
        pickup = db.scalar(select(Pickup).where(Pickup.return_id == ret.id))
        assert pickup is not None
        assert pickup.status == "scheduled"
        assert pickup.date > datetime.now(UTC).date()
        assert pickup.reference != old_reference
    mail = _state(flagged["rma"])["emails"][-1]
    assert mail[0] == "pickup_scheduled" and pickup.reference in mail[2]
