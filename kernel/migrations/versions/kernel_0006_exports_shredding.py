"""exports and shredding (issue 9): scheduled exports

Export results and shredder runs are job rows with files under the data directory; only schedules need a table.

Revision ID: kernel_0006
Revises: kernel_0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "kernel_0006"
down_revision = "kernel_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduled_export",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("owner_team_id", sa.Integer(), nullable=True),
        sa.Column("export_identifier", sa.String(length=190), nullable=False),
        sa.Column("export_form_data", sa.JSON(), nullable=False),
        sa.Column("locale", sa.String(length=50), nullable=False),
        sa.Column("mail_additional_recipients", sa.Text(), nullable=False),
        sa.Column("mail_additional_recipients_cc", sa.Text(), nullable=False),
        sa.Column("mail_additional_recipients_bcc", sa.Text(), nullable=False),
        sa.Column("mail_subject", sa.String(length=255), nullable=False),
        sa.Column("mail_template", sa.Text(), nullable=False),
        sa.Column("schedule_rrule", sa.Text(), nullable=False),
        sa.Column("schedule_rrule_time", sa.Time(), nullable=False),
        sa.Column("timezone", sa.String(length=100), nullable=True),
        sa.Column("schedule_next_run", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_counter", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_scheduled_export_event_id_event"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["organizer_id"],
            ["organizer.id"],
            name=op.f("fk_scheduled_export_organizer_id_organizer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_team_id"], ["team.id"], name=op.f("fk_scheduled_export_owner_team_id_team"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["user.id"], name=op.f("fk_scheduled_export_owner_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_export")),
    )
    op.create_index(op.f("ix_scheduled_export_event_id"), "scheduled_export", ["event_id"], unique=False)
    op.create_index(op.f("ix_scheduled_export_organizer_id"), "scheduled_export", ["organizer_id"], unique=False)
    op.create_index(
        op.f("ix_scheduled_export_schedule_next_run"), "scheduled_export", ["schedule_next_run"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_scheduled_export_schedule_next_run"), table_name="scheduled_export")
    op.drop_index(op.f("ix_scheduled_export_organizer_id"), table_name="scheduled_export")
    op.drop_index(op.f("ix_scheduled_export_event_id"), table_name="scheduled_export")
    op.drop_table("scheduled_export")
