"""after the chat: payment ledger, chat notices, delivery attempts

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("provider_reference", sa.String(length=64), nullable=False),
        sa.Column("payment_reference", sa.String(length=64), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"],
                                name=op.f("fk_payment_ledger_merchant_id_merchants")),
        sa.ForeignKeyConstraint(["return_id"], ["return_requests.id"],
                                name=op.f("fk_payment_ledger_return_id_return_requests")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_ledger")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payment_ledger_idempotency_key")),
        sa.UniqueConstraint("provider_reference", name=op.f("uq_payment_ledger_provider_reference")),
    )
    with op.batch_alter_table("payment_ledger", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_ledger_merchant_id"), ["merchant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_ledger_return_id"), ["return_id"], unique=False)

    op.create_table(
        "chat_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=128), nullable=False),
        sa.Column("rma", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=False),
        sa.Column("entities", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"],
                                name=op.f("fk_chat_notices_merchant_id_merchants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_notices")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_chat_notices_dedupe_key")),
    )
    with op.batch_alter_table("chat_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_notices_merchant_id"), ["merchant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_chat_notices_rma"), ["rma"], unique=False)

    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("transport", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
    )
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_attempts_message_id"), ["message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_attempts_message_id"))
    op.drop_table("delivery_attempts")
    with op.batch_alter_table("chat_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_notices_rma"))
        batch_op.drop_index(batch_op.f("ix_chat_notices_merchant_id"))
    op.drop_table("chat_notices")
    with op.batch_alter_table("payment_ledger", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_ledger_return_id"))
        batch_op.drop_index(batch_op.f("ix_payment_ledger_merchant_id"))
    op.drop_table("payment_ledger")
