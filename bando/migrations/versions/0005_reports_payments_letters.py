"""reports, payments, letters: the expenses' receipts and review, recoveries, idempotent
payments, the letters' protocols; the cap's guard now counts recoveries and final
contributions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 11:34:18.831654

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


KINDS_OLD = "kind IN ('advance', 'balance')"
KINDS = "kind IN ('advance', 'balance', 'recovery')"

# The guard of 0004, now counting what a beneficiary gave back (a recovery) and, for an
# award whose report is approved, its final contribution instead of the award.
PAID = """(SELECT COALESCE(SUM(CASE WHEN p.kind = 'recovery' THEN -p.amount_cents
                              ELSE p.amount_cents END), 0)
     FROM payment p WHERE p.award_id = a.id)"""
COMMITTED = f"""
    SELECT COALESCE(SUM(CASE WHEN a.state = 'active'
                             THEN COALESCE(a.final_amount_cents, a.amount_cents)
                             ELSE {PAID} END), 0)
    FROM award a WHERE a.edition_id = {{edition}}
"""
# 0004's, for the way back.
COMMITTED_0004 = """
    SELECT COALESCE(SUM(CASE WHEN a.state = 'active' THEN a.amount_cents ELSE
        (SELECT COALESCE(SUM(p.amount_cents), 0) FROM payment p WHERE p.award_id = a.id)
    END), 0) FROM award a WHERE a.edition_id = {edition}
"""


def postgresql(committed):
    return [
        f"""
    CREATE FUNCTION award_within_cap() RETURNS trigger AS $$
    DECLARE
        edition_of integer;
        cap bigint;
        committed bigint;
    BEGIN
        IF TG_TABLE_NAME = 'payment' THEN
            SELECT edition_id INTO edition_of FROM award WHERE id = NEW.award_id;
        ELSE
            edition_of := NEW.edition_id;
            IF NEW.amount_cents > (SELECT requested_cents FROM application
                                   WHERE id = NEW.application_id)
               OR NEW.amount_cents > (SELECT max_grant_cents FROM edition WHERE id = edition_of)
            THEN
                RAISE EXCEPTION 'award above its request or the maximum per project'
                    USING ERRCODE = 'check_violation';
            END IF;
        END IF;
        SELECT budget_cap_cents INTO cap FROM edition WHERE id = edition_of FOR UPDATE;
        {committed.format(edition="edition_of")}
        INTO committed;
        IF committed > cap THEN
            RAISE EXCEPTION 'budget cap exceeded for edition %: % > %', edition_of, committed, cap
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
        "CREATE TRIGGER award_within_cap AFTER INSERT OR UPDATE ON award "
        "FOR EACH ROW EXECUTE FUNCTION award_within_cap()",
        "CREATE TRIGGER payment_within_cap AFTER INSERT OR UPDATE ON payment "
        "FOR EACH ROW EXECUTE FUNCTION award_within_cap()",
    ]


def _sqlite_trigger(name, event, table, edition, committed):
    return f"""
    CREATE TRIGGER {name} AFTER {event} ON {table}
    BEGIN
        SELECT RAISE(ABORT, 'budget cap exceeded')
        WHERE ({committed.format(edition=edition)})
              > (SELECT budget_cap_cents FROM edition WHERE id = {edition});
    END
    """


AWARD_LIMITS = """
    CREATE TRIGGER award_within_request_{event} AFTER {event} ON award
    BEGIN
        SELECT RAISE(ABORT, 'award above its request or the maximum per project')
        WHERE NEW.amount_cents > (SELECT requested_cents FROM application
                                  WHERE id = NEW.application_id)
           OR NEW.amount_cents > (SELECT max_grant_cents FROM edition WHERE id = NEW.edition_id);
    END
"""

PAYMENT_EDITION = "(SELECT edition_id FROM award WHERE id = NEW.award_id)"


def sqlite(committed):
    return [
        _sqlite_trigger("award_within_cap_insert", "INSERT", "award", "NEW.edition_id", committed),
        _sqlite_trigger("award_within_cap_update", "UPDATE", "award", "NEW.edition_id", committed),
        _sqlite_trigger(
            "payment_within_cap_insert", "INSERT", "payment", PAYMENT_EDITION, committed
        ),
        _sqlite_trigger(
            "payment_within_cap_update", "UPDATE", "payment", PAYMENT_EDITION, committed
        ),
        AWARD_LIMITS.format(event="INSERT"),
        AWARD_LIMITS.format(event="UPDATE"),
    ]


def _create_guard(committed):
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in postgresql(committed) if postgres else sqlite(committed):
        op.execute(statement)


SQLITE_NAMES = (
    "award_within_cap_insert",
    "award_within_cap_update",
    "payment_within_cap_insert",
    "payment_within_cap_update",
    "award_within_request_INSERT",
    "award_within_request_UPDATE",
)


def _drop_guard():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS payment_within_cap ON payment")
        op.execute("DROP TRIGGER IF EXISTS award_within_cap ON award")
        op.execute("DROP FUNCTION IF EXISTS award_within_cap()")
    else:
        for name in SQLITE_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")


def upgrade():
    # SQLite rebuilds the tables it alters (and drops their triggers): the guard goes
    # first and comes back last.
    _drop_guard()
    op.create_table(
        "letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("protocol", sa.String(length=40), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
            name=op.f("fk_letter_application_id_application"),
        ),
        sa.ForeignKeyConstraint(
            ["edition_id"], ["edition.id"], name=op.f("fk_letter_edition_id_edition")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letter")),
        sa.UniqueConstraint("application_id", "kind", name=op.f("uq_letter_application_id_kind")),
        sa.UniqueConstraint("edition_id", "number", name=op.f("uq_letter_edition_id_number")),
        sa.UniqueConstraint("protocol", name=op.f("uq_letter_protocol")),
    )
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_letter_application_id"), ["application_id"], unique=False
        )
    with op.batch_alter_table("expense", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("receipt_filename", sa.String(length=255), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("receipt_sha256", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("receipt", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column("state", sa.String(length=20), nullable=False, server_default="pending")
        )
        batch_op.add_column(
            sa.Column("review_reason", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("reviewed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_expense_reviewed_by_id_user_account"),
            "user_account",
            ["reviewed_by_id"],
            ["id"],
        )
        batch_op.create_check_constraint(
            op.f("ck_expense_state"), "state IN ('pending', 'accepted', 'rejected')"
        )
        batch_op.create_check_constraint(
            op.f("ck_expense_rejection_has_reason"), "state <> 'rejected' OR review_reason <> ''"
        )
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_payment_idempotency_key"), ["idempotency_key"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_payment_recorded_by_id_user_account"),
            "user_account",
            ["recorded_by_id"],
            ["id"],
        )
        batch_op.drop_constraint(op.f("ck_payment_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_payment_kind"), KINDS)
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("people_reached", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("final_contribution_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("balance_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("recovery_cents", sa.BigInteger(), nullable=True))
    _create_guard(COMMITTED)


def downgrade():
    _drop_guard()
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_column("recovery_cents")
        batch_op.drop_column("balance_cents")
        batch_op.drop_column("final_contribution_cents")
        batch_op.drop_column("people_reached")
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_payment_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_payment_kind"), KINDS_OLD)
        batch_op.drop_constraint(
            batch_op.f("fk_payment_recorded_by_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_payment_idempotency_key"), type_="unique")
        batch_op.drop_column("idempotency_key")
        batch_op.drop_column("recorded_by_id")
    with op.batch_alter_table("expense", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_expense_rejection_has_reason"), type_="check")
        batch_op.drop_constraint(op.f("ck_expense_state"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_expense_reviewed_by_id_user_account"), type_="foreignkey"
        )
        for column in ("reviewed_at", "reviewed_by_id", "review_reason", "state", "receipt"):
            batch_op.drop_column(column)
        batch_op.drop_column("receipt_sha256")
        batch_op.drop_column("receipt_filename")
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_letter_application_id"))
    op.drop_table("letter")
    _create_guard(COMMITTED_0004)
