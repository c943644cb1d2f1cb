"""Analytics numbers on known data, the date-range filter, and charts a person can see."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.dashboard import helpers


def _acme_id() -> int:
    from api.db import session_scope
    from api.models import Merchant

    with session_scope() as db:
        merchant = db.scalar(select(Merchant).where(Merchant.slug == "acme"))
        assert merchant is not None
        return merchant.id


def _compute(start: date | None = None, end: date | None = None) -> Any:
    from api.db import session_scope
    from api.services import analytics

    period = analytics.DateRange.parse(start.isoformat() if start else None, end.isoformat() if end else None)
    with session_scope() as db:
        return analytics.compute(db, _acme_id(), period)


@pytest.fixture
def history(client: Any, shops: dict[str, Any], reviewer: str) -> dict[str, Any]:
    """Acme: headphones (flagged, approved by a reviewer 5 h later), vase (flagged, waiting),
    shoes (approved by the policy). Photo verdicts: the reviewer agrees on one photo, overrules
    one. Globex: one flagged return that must not be counted."""
    from api.db import session_scope
    from api.models import Decision, ReturnRequest

    headphones = helpers.create_return(client, probability=0.9)  # model: damaged (>= 0.7)
    vase = helpers.create_return(
        client, order_number="100232", email="raj@example.com", photos=1, probability=0.1
    )  # model: intact (<= 0.3)
    shoes = helpers.create_return(
        client, order_number="100231", email="jane@example.com", reason="doesnt_fit", photos=0, expect=None
    )
    helpers.create_return(client, order_number="900001", email="zoe@example.com", photos=1)
    p1, p2 = headphones["items"][0]["photo_ids"]
    vase_photo = vase["items"][0]["photo_ids"][0]
    for photo, label in ((p1, "damaged"), (vase_photo, "damaged"), (p2, "unusable")):
        client.post(f"/merchant/photos/{photo}/verdict", data={"csrf_token": reviewer, "label": label})
    client.post(f"/merchant/returns/{headphones['rma']}/approve", data={"csrf_token": reviewer})
    with session_scope() as db:
        ret = db.scalar(select(ReturnRequest).where(ReturnRequest.rma == headphones["rma"]))
        assert ret is not None
        ret.created_at = datetime.now(UTC) - timedelta(hours=5)
        for decision in db.scalars(select(Decision).where(Decision.return_id == ret.id)):
            if decision.decided_by == "policy":
                decision.created_at = ret.created_at
    return {"headphones": headphones, "vase": vase, "shoes": shoes}


def test_numbers(history: dict[str, Any]) -> None:
    a = _compute()
    # Delivered in the last 30 days: 100231, 100232, 100234, 100235, 100237; three have a return.
    assert (a.return_rate.part, a.return_rate.whole) == (3, 5)
    assert a.returns == 3  # Globex's return is not Acme's
    assert dict((code, n) for code, _, n in a.reasons) == {"damaged_on_arrival": 2, "doesnt_fit": 1}
    assert (a.damage_claims.part, a.damage_claims.whole) == (2, 3)
    assert a.damage_outcomes == {"approved": 1, "waiting": 1}
    assert a.decided == {"automatic": 1, "person": 1, "waiting": 1, "cancelled": 0}
    assert a.automatic_share.value == pytest.approx(0.5)
    assert a.median_hours == pytest.approx(5, abs=0.1)
    assert dict(a.time_to_decision)["4-24 h"] == 1
    # p1: model damaged, reviewer damaged (agree); vase photo: model intact, reviewer damaged
    # (overruled); p2: model damaged, reviewer unusable (overruled).
    assert a.matrix["damaged"]["damaged"] == 1
    assert a.matrix["intact"]["damaged"] == 1
    assert a.matrix["damaged"]["unusable"] == 1
    assert (a.agreement.part, a.agreement.whole) == (1, 3)


def test_date_range_filters(history: dict[str, Any]) -> None:
    long_ago = datetime.now(UTC).date() - timedelta(days=200)
    a = _compute(long_ago, long_ago + timedelta(days=10))
    assert a.returns == 0 and a.return_rate.value is None and a.agreement.value is None
    assert a.median_hours is None


def test_date_range_parsing() -> None:
    from api.services.analytics import DateRange

    today = date(2026, 11, 26)
    default = DateRange.parse(None, None, today=today)
    assert (default.start, default.end, default.days) == (date(2026, 10, 28), today, 30)
    swapped = DateRange.parse("2026-11-20", "2026-11-01", today=today)
    assert (swapped.start, swapped.end) == (date(2026, 11, 1), date(2026, 11, 20))
    assert DateRange.parse("garbage", "2026-11-26", today=today).days == 30
    capped = DateRange.parse("2000-01-01", "2026-11-26", today=today)
    assert capped.days == 366 and capped.weekly
    assert len(DateRange.parse("2026-11-01", "2026-11-07", today=today).buckets()) == 7


def test_page_draws_charts(client: Any, history: dict[str, Any], reviewer: str) -> None:
    page = client.get("/merchant/analytics")
    assert page.status_code == 200
    text = page.text
    assert text.count("<svg") >= 6
    for title in (
        "Return rate by delivery date",
        "Returned items by reason",
        "How returns were decided",
        "Damage claims by outcome",
        "Time from request to a reviewer",
        "Reviewers agree",
    ):
        assert f'aria-label="{title}' in text, title
    assert 'data-testid="return-rate">60%' in text
    assert "Doesn&#39;t fit" in text or "Doesn't fit" in text  # reason labels from the policy
    ranged = client.get("/merchant/analytics", params={"start": "2020-01-01", "end": "2020-01-31"})
    assert ranged.status_code == 200 and 'data-testid="return-rate">n/a' in ranged.text


def test_charts_escape_labels() -> None:
    from api.dashboard import charts

    svg = charts.bars([("<b>x</b>", 2.0)], title='a "title"')
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "&#34;title&#34;" in svg
    assert "No data" in charts.bars([], title="t")
    assert "<rect" in charts.columns([("a", 1.0), ("b", None)], title="t")
