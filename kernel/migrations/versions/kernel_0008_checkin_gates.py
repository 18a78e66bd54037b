"""check-in gates (issue 7): the organizer's gates, the gate a device is assigned to, the gates of a check-in list

Revision ID: kernel_0008
Revises: kernel_0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "kernel_0008"
down_revision = "kernel_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=190), nullable=False),
        sa.Column("identifier", sa.String(length=190), nullable=False),
        sa.ForeignKeyConstraint(
            ["organizer_id"], ["organizer.id"], name=op.f("fk_gate_organizer_id_organizer"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate")),
        sa.UniqueConstraint("organizer_id", "identifier", name=op.f("uq_gate_organizer_id_identifier")),
    )
    with op.batch_alter_table("gate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gate_organizer_id"), ["organizer_id"], unique=False)

    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gate_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_device_gate_id"), ["gate_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_device_gate_id_gate"), "gate", ["gate_id"], ["id"], ondelete="SET NULL"
        )

    op.create_table(
        "checkin_list_gates",
        sa.Column("checkin_list_id", sa.Integer(), nullable=False),
        sa.Column("gate_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkin_list_id"],
            ["checkin_list.id"],
            name=op.f("fk_checkin_list_gates_checkin_list_id_checkin_list"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["gate_id"], ["gate.id"], name=op.f("fk_checkin_list_gates_gate_id_gate"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("checkin_list_id", "gate_id", name=op.f("pk_checkin_list_gates")),
    )
    with op.batch_alter_table("checkin_list_gates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkin_list_gates_gate_id"), ["gate_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("checkin_list_gates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkin_list_gates_gate_id"))
    op.drop_table("checkin_list_gates")
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_device_gate_id_gate"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_device_gate_id"))
        batch_op.drop_column("gate_id")
    with op.batch_alter_table("gate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gate_organizer_id"))
    op.drop_table("gate")
