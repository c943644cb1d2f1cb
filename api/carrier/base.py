from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sqlalchemy.orm import Session

WINDOWS = {"morning": "09:00-12:00", "afternoon": "13:00-17:00"}


class SlotUnavailable(Exception):
    pass


@dataclass(frozen=True)
class Slot:
    date: date
    window: str  # morning | afternoon
    available: bool

    @property
    def hours(self) -> str:
        return WINDOWS[self.window]

    @property
    def label(self) -> str:
        return f"{self.date.strftime('%a %d %b')}, {self.window} ({self.hours})"

    def to_dict(self) -> dict[str, object]:
        return {
            "date": self.date.isoformat(),
            "window": self.window,
            "hours": self.hours,
            "label": self.label,
            "available": self.available,
        }


@dataclass(frozen=True)
class Booking:
    carrier: str
    reference: str
    date: date
    window: str


class Carrier(Protocol):
    name: str

    def slots(self, session: Session, *, postcode: str, today: date, days: int = 5) -> list[Slot]: ...

    def book(self, session: Session, *, postcode: str, day: date, window: str, today: date) -> Booking: ...
