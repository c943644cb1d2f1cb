"""Carriers that collect returns. `get_carrier()` picks the configured one."""

from api.carrier.base import Booking, Carrier, Slot, SlotUnavailable
from api.carrier.local import LocalCourier


def get_carrier() -> Carrier:
    return LocalCourier()


__all__ = ["Booking", "Carrier", "LocalCourier", "Slot", "SlotUnavailable", "get_carrier"]
