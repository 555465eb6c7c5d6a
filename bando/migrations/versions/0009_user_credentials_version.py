"""users: a number that ends the mailed password links when an account is deactivated

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 19:45:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.add_column(
            sa.Column("credentials_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade():
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.drop_column("credentials_version")
