"""Dashboard analytics for one merchant over a date range (UTC days, both ends included).

- return rate: orders delivered in the range that have a return, over orders delivered in it
- reasons: returned items by reason
- damage-claim rate: returns claiming "arrived damaged", over all returns created in the range
- decided automatically: returns the policy decided alone, against those a person decided
- time to decision: from the request to a reviewer's approve/reject
- reviewer agreement: the newest reviewer verdict on a photo against the model's verdict at the
  policy's damage thresholds (model "unclear" is counted apart, not as a disagreement)

Queries fetch the range's rows and aggregate in Python: clear, and fast enough for the volumes
of one shop's dashboard (thousands of returns a month).
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.models import (
    Decision,
    Order,
    Photo,
    PhotoVerdict,
    ReturnRequest,
    ReturnStatus,
)
from api.services.decisions import active_policy
from api.services.review import model_verdict

MAX_DAYS = 366
DEFAULT_DAYS = 30
DAMAGE_REASONS = ("damaged_on_arrival",)
MODEL_CALLS = ("damaged", "intact", "unusable", "unclear")
REVIEWER_LABELS = ("damaged", "intact", "unusable")
TIME_BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("< 1 h", timedelta(hours=1)),
    ("1-4 h", timedelta(hours=4)),
    ("4-24 h", timedelta(hours=24)),
    ("1-2 d", timedelta(hours=48)),
    ("> 2 d", timedelta.max),
)


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date

    @classmethod
    def parse(cls, start: str | None, end: str | None, today: date | None = None) -> DateRange:
        """From query strings; anything missing or malformed falls back to the last 30 days."""
        today = today or datetime.now(UTC).date()
        try:
            end_day = date.fromisoformat(end) if end else today
        except ValueError:
            end_day = today
        try:
            start_day = date.fromisoformat(start) if start else end_day - timedelta(days=DEFAULT_DAYS - 1)
        except ValueError:
            start_day = end_day - timedelta(days=DEFAULT_DAYS - 1)
        if start_day > end_day:
            start_day, end_day = end_day, start_day
        if (end_day - start_day).days >= MAX_DAYS:
            start_day = end_day - timedelta(days=MAX_DAYS - 1)
        return cls(start_day, end_day)

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def weekly(self) -> bool:
        return self.days > 45

    def bucket(self, moment: datetime) -> date:
        day = moment.astimezone(UTC).date()
        return day - timedelta(days=day.weekday()) if self.weekly else day

    def buckets(self) -> list[date]:
        first = self.bucket(self.since)
        step = timedelta(days=7 if self.weekly else 1)
        out = []
        while first <= self.end:
            out.append(first)
            first += step
        return out


@dataclass
class Rate:
    part: int
    whole: int

    @property
    def value(self) -> float | None:
        return self.part / self.whole if self.whole else None


@dataclass
class Analytics:
    range: DateRange
    returns: int
    return_rate: Rate
    return_rate_series: list[tuple[date, Rate]]
    returns_series: list[tuple[date, int]]
    reasons: list[tuple[str, str, int]]  # code, label, items
    damage_claims: Rate
    damage_outcomes: dict[str, int]
    decided: dict[str, int]  # automatic, person, waiting, cancelled
    automatic_share: Rate
    time_to_decision: list[tuple[str, int]]
    median_hours: float | None
    p90_hours: float | None
    agreement: Rate
    matrix: dict[str, dict[str, int]]  # model call -> reviewer label -> photos
    unclear: int
    thresholds: Any = None
    notes: list[str] = field(default_factory=list)


def _delivered_orders(db: Session, merchant_id: int, period: DateRange) -> list[Order]:
    return list(
        db.scalars(
            select(Order).where(
                Order.merchant_id == merchant_id,
                Order.delivered_at.is_not(None),
                Order.delivered_at >= period.since,
                Order.delivered_at < period.until,
            )
        )
    )


def _orders_with_returns(db: Session, merchant_id: int, order_ids: list[int]) -> set[int]:
    if not order_ids:
        return set()
    return set(
        db.scalars(
            select(ReturnRequest.order_id).where(
                ReturnRequest.merchant_id == merchant_id, ReturnRequest.order_id.in_(order_ids)
            )
        )
    )


def _returns(db: Session, merchant_id: int, period: DateRange) -> list[ReturnRequest]:
    return list(
        db.scalars(
            select(ReturnRequest)
            .where(
                ReturnRequest.merchant_id == merchant_id,
                ReturnRequest.created_at >= period.since,
                ReturnRequest.created_at < period.until,
            )
            .options(selectinload(ReturnRequest.items), selectinload(ReturnRequest.decisions))
        )
    )


def _final_decision(ret: ReturnRequest) -> Decision | None:
    return next((d for d in reversed(ret.decisions) if d.outcome in ("approve", "reject")), None)


def _first_person_decision(ret: ReturnRequest) -> Decision | None:
    return next(
        (d for d in ret.decisions if d.outcome in ("approve", "reject") and d.decided_by.startswith("user:")),
        None,
    )


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def agreement_matrix(
    db: Session, merchant_id: int, period: DateRange, damage: Any
) -> tuple[dict[str, dict[str, int]], int]:
    """Reviewer verdicts given in the range (the newest per photo) against the model's call."""
    rows = db.execute(
        select(PhotoVerdict, Photo)
        .join(Photo, PhotoVerdict.photo_id == Photo.id)
        .where(
            Photo.merchant_id == merchant_id,
            PhotoVerdict.created_at >= period.since,
            PhotoVerdict.created_at < period.until,
        )
        .options(selectinload(Photo.assessments))
        .order_by(PhotoVerdict.id)
    ).all()
    newest: dict[str, tuple[PhotoVerdict, Photo]] = {}
    for verdict, photo in rows:
        newest[photo.id] = (verdict, photo)
    matrix = {call: dict.fromkeys(REVIEWER_LABELS, 0) for call in MODEL_CALLS}
    unassessed = 0
    for verdict, photo in newest.values():
        call = model_verdict(photo.assessment, damage)
        if call == "none":
            unassessed += 1
            continue
        matrix[call][verdict.label] = matrix[call].get(verdict.label, 0) + 1
    return matrix, unassessed


def compute(db: Session, merchant_id: int, period: DateRange) -> Analytics:
    policy = active_policy(db, merchant_id)
    labels = {r["code"]: r["label"] for r in policy.reason_catalogue()}

    delivered = _delivered_orders(db, merchant_id, period)
    returned = _orders_with_returns(db, merchant_id, [o.id for o in delivered])
    by_bucket: dict[date, list[Order]] = {b: [] for b in period.buckets()}
    for order in delivered:
        assert order.delivered_at is not None
        by_bucket.setdefault(period.bucket(order.delivered_at), []).append(order)
    rate_series = [
        (b, Rate(sum(o.id in returned for o in orders), len(orders)))
        for b, orders in sorted(by_bucket.items())
    ]

    rets = _returns(db, merchant_id, period)
    returns_by_bucket = Counter(period.bucket(r.created_at) for r in rets)
    reasons = Counter(i.reason_code for r in rets for i in r.items)

    claims = [r for r in rets if any(i.reason_code in DAMAGE_REASONS for i in r.items)]
    damage_outcomes = Counter(_outcome_group(r) for r in claims)

    decided = {"automatic": 0, "person": 0, "waiting": 0, "cancelled": 0}
    waits: list[float] = []
    for ret in rets:
        final = _final_decision(ret)
        if final is None:
            key = "cancelled" if ret.status == ReturnStatus.cancelled.value else "waiting"
        else:
            key = "person" if final.decided_by.startswith("user:") else "automatic"
        decided[key] += 1
        first = _first_person_decision(ret)
        if first is not None:
            waits.append((first.created_at - ret.created_at).total_seconds() / 3600)
    histogram = []
    lower = 0.0
    for name, upper in TIME_BUCKETS:
        limit = upper.total_seconds() / 3600 if upper != timedelta.max else float("inf")
        histogram.append((name, sum(1 for w in waits if lower <= w < limit)))
        lower = limit

    matrix, _ = agreement_matrix(db, merchant_id, period, policy.damage)
    agree = sum(matrix[label][label] for label in REVIEWER_LABELS)
    decisive = sum(sum(matrix[call].values()) for call in REVIEWER_LABELS)
    unclear = sum(matrix["unclear"].values())

    return Analytics(
        range=period,
        returns=len(rets),
        return_rate=Rate(len(returned), len(delivered)),
        return_rate_series=rate_series,
        returns_series=[(b, returns_by_bucket.get(b, 0)) for b in period.buckets()],
        reasons=[(code, labels.get(code, code.replace("_", " ")), n) for code, n in reasons.most_common()],
        damage_claims=Rate(len(claims), len(rets)),
        damage_outcomes=dict(damage_outcomes),
        decided=decided,
        automatic_share=Rate(decided["automatic"], decided["automatic"] + decided["person"]),
        time_to_decision=histogram,
        median_hours=statistics.median(waits) if waits else None,
        p90_hours=_percentile(waits, 0.9),
        agreement=Rate(agree, decisive),
        matrix=matrix,
        unclear=unclear,
        thresholds=policy.damage,
    )


def _outcome_group(ret: ReturnRequest) -> str:
    if ret.status == ReturnStatus.under_review.value:
        return "waiting"
    if ret.status == ReturnStatus.rejected.value:
        return "rejected"
    if ret.status == ReturnStatus.cancelled.value:
        return "cancelled"
    return "approved"
