"""ORM models. Importing this package registers every table on `api.db.Base.metadata`."""

from api.models.catalog import Customer, Order, OrderItem, Product, ProductVariant
from api.models.dashboard import DashboardSession as DashboardSession
from api.models.merchant import Merchant, MerchantUser
from api.models.ops import AuditLog, HandoffTicket, IdempotencyRecord, LookupFailure, OutboxMessage
from api.models.payments import ChatNotice, DeliveryAttempt, LedgerEntry
from api.models.photos import Photo
from api.models.returns import (
    CANCELLABLE,
    TRANSITIONS,
    DamageAssessment,
    Decision,
    PhotoVerdict,
    Pickup,
    ReturnItem,
    ReturnRequest,
    ReturnStatus,
)

__all__ = [
    "CANCELLABLE",
    "TRANSITIONS",
    "AuditLog",
    "ChatNotice",
    "Customer",
    "DamageAssessment",
    "Decision",
    "DeliveryAttempt",
    "HandoffTicket",
    "IdempotencyRecord",
    "LedgerEntry",
    "LookupFailure",
    "Merchant",
    "MerchantUser",
    "Order",
    "OrderItem",
    "OutboxMessage",
    "Photo",
    "PhotoVerdict",
    "Pickup",
    "Product",
    "ProductVariant",
    "ReturnItem",
    "ReturnRequest",
    "ReturnStatus",
]
