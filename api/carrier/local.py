"""The built-in local courier: pickup slots by postcode area with a capacity per window."""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.carrier.base import WINDOWS, Booking, Slot, SlotUnavailable
from api.models import Pickup

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def next_business_days(today: date, count: int) -> list[date]:
    days: list[date] = []
    day = today
    while len(days) < count:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days


def area(postcode: str) -> str:
    return postcode.replace(" ", "").upper()[:3]


class LocalCourier:
    name = "Acme Local Courier"
    capacity_per_window = 8

    def _booked(self, session: Session, *, postcode: str, day: date, window: str) -> int:
        return int(
            session.scalar(
                select(func.count(Pickup.id)).where(
                    Pickup.date == day,
                    Pickup.window == window,
                    Pickup.status != "cancelled",
                    func.substr(Pickup.postcode, 1, 3) == area(postcode),
                )
            )
            or 0
        )

    def slots(self, session: Session, *, postcode: str, today: date, days: int = 5) -> list[Slot]:
        return [
            Slot(
                day,
                window,
                self._booked(session, postcode=postcode, day=day, window=window) < self.capacity_per_window,
            )
            for day in next_business_days(today, days)
            for window in WINDOWS
        ]

    def book(self, session: Session, *, postcode: str, day: date, window: str, today: date) -> Booking:
        if window not in WINDOWS:
            raise SlotUnavailable(f"unknown window {window!r}: choose morning or afternoon")
        if day not in next_business_days(today, 10):
            raise SlotUnavailable("pickups can be booked on the next business days only")
        if self._booked(session, postcode=postcode, day=day, window=window) >= self.capacity_per_window:
            raise SlotUnavailable("that pickup window is full, please choose another")
        reference = "LC" + "".join(secrets.choice(_ALPHABET) for _ in range(8))
        return Booking(carrier=self.name, reference=reference, date=day, window=window)
