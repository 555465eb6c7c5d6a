"""allocation decisions: the figures their reason is written from, to write it in the
reader's language

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 19:40:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    # Null on the rows of earlier runs: their reason stays the Italian text they kept.
    with op.batch_alter_table("allocation_decision") as batch_op:
        batch_op.add_column(sa.Column("requested_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("full_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("pass_name", sa.String(10), nullable=True))
        batch_op.add_column(sa.Column("min_partial_share_bp", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("allocation_decision") as batch_op:
        batch_op.drop_column("min_partial_share_bp")
        batch_op.drop_column("pass_name")
        batch_op.drop_column("full_cents")
        batch_op.drop_column("requested_cents")
