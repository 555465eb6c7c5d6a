"""faults: the answers kept for a retried request (Idempotency-Key), and the outbox's
claim before sending (a crash between sending and marking never sends twice)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 12:55:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "idempotent_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_idempotent_request_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotent_request")),
        sa.UniqueConstraint("user_id", "key", name=op.f("uq_idempotent_request_user_id_key")),
    )
    with op.batch_alter_table("notification") as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("message_id", sa.String(length=255), nullable=True))


def downgrade():
    with op.batch_alter_table("notification") as batch_op:
        batch_op.drop_column("message_id")
        batch_op.drop_column("claimed_at")
    op.drop_table("idempotent_request")
