"""letters: what each letter says, kept as issued

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 16:30:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("letter") as batch_op:
        batch_op.add_column(sa.Column("content", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("letter") as batch_op:
        batch_op.drop_column("content")
