"""{{ cookiecutter.plugin_name }}: initial schema ({{ cookiecutter.entry_point_name }}_note).

This plugin's revisions form their own Alembic branch, labelled with the plugin's entry-point name; the first one
depends on the kernel's first revision so the ``event`` table exists. ``boxoffice migrate`` upgrades all heads.
Constraint names follow the kernel's naming convention (``boxoffice.kernel.db.NAMING_CONVENTION``).

Revision ID: {{ cookiecutter.entry_point_name }}_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "{{ cookiecutter.entry_point_name }}_0001"
down_revision = None
branch_labels = ("{{ cookiecutter.entry_point_name }}",)
depends_on = "kernel_0001"

TABLE = "{{ cookiecutter.entry_point_name }}_note"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], name=f"fk_{TABLE}_event_id_event", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{TABLE}"),
    )
    op.create_index(f"ix_{TABLE}_event_id", TABLE, ["event_id"])


def downgrade() -> None:
    op.drop_index(f"ix_{TABLE}_event_id", table_name=TABLE)
    op.drop_table(TABLE)
