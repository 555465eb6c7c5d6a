"""tokens and sessions: the account's credentials version they were opened under, so that
one opened while the password changed or the account was deactivated is not accepted

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 23:50:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = ("api_token", "user_session")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(
                sa.Column("credentials_version", sa.Integer(), nullable=False, server_default="0")
            )
        # What is open now stays open: it was opened under the account's current version.
        op.execute(
            f"UPDATE {table} SET credentials_version = (SELECT user_account.credentials_version "
            f"FROM user_account WHERE user_account.id = {table}.user_id)"
        )


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("credentials_version")
