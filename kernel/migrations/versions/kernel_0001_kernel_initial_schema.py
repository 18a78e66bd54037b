"""kernel initial schema

Revision ID: kernel_0001
Revises:
Create Date: (regenerated before the first release)
"""

import sqlalchemy as sa
from alembic import op

revision = "kernel_0001"
down_revision = None
branch_labels = ("kernel",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_key",
        sa.Column("credentials", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=190), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("credentials", "key", name=op.f("pk_idempotency_key")),
    )
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_key_created"), ["created"], unique=False)

    op.create_table(
        "job",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
    )
    op.create_table(
        "organizer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("plugins", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizer")),
        sa.UniqueConstraint("slug", name=op.f("uq_organizer_slug")),
    )
    op.create_table(
        "setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_setting")),
        sa.UniqueConstraint("scope", "scope_id", "key", name=op.f("uq_setting_scope_scope_id_key")),
    )
    op.create_table(
        "uploaded_file",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("credentials", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploaded_file")),
    )
    with op.batch_alter_table("uploaded_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_uploaded_file_created"), ["created"], unique=False)

    op.create_table(
        "device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("unique_serial", sa.String(length=190), nullable=False),
        sa.Column("name", sa.String(length=190), nullable=False),
        sa.Column("all_events", sa.Boolean(), nullable=False),
        sa.Column("hardware_brand", sa.String(length=190), nullable=True),
        sa.Column("hardware_model", sa.String(length=190), nullable=True),
        sa.Column("os_name", sa.String(length=190), nullable=True),
        sa.Column("os_version", sa.String(length=190), nullable=True),
        sa.Column("software_brand", sa.String(length=190), nullable=True),
        sa.Column("software_version", sa.String(length=190), nullable=True),
        sa.Column("rsa_pubkey", sa.String(length=2000), nullable=True),
        sa.Column("info", sa.JSON(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("initialized", sa.DateTime(timezone=True), nullable=True),
        sa.Column("initialization_token", sa.String(length=190), nullable=True),
        sa.Column("api_token_digest", sa.String(length=64), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("security_profile", sa.String(length=190), nullable=False),
        sa.ForeignKeyConstraint(
            ["organizer_id"], ["organizer.id"], name=op.f("fk_device_organizer_id_organizer"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device")),
        sa.UniqueConstraint("api_token_digest", name=op.f("uq_device_api_token_digest")),
        sa.UniqueConstraint("initialization_token", name=op.f("uq_device_initialization_token")),
        sa.UniqueConstraint("organizer_id", "device_id", name=op.f("uq_device_organizer_id_device_id")),
        sa.UniqueConstraint("unique_serial", name=op.f("uq_device_unique_serial")),
    )
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_organizer_id"), ["organizer_id"], unique=False)

    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=50), nullable=False),
        sa.Column("name", sa.JSON(), nullable=False),
        sa.Column("currency", sa.String(length=10), nullable=False),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.Column("testmode", sa.Boolean(), nullable=False),
        sa.Column("date_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("date_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("date_admission", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("presale_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("presale_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("location", sa.JSON(), nullable=True),
        sa.Column("geo_lat", sa.Float(), nullable=True),
        sa.Column("geo_lon", sa.Float(), nullable=True),
        sa.Column("has_subevents", sa.Boolean(), nullable=False),
        sa.Column("meta_data", sa.JSON(), nullable=False),
        sa.Column("seating_plan", sa.Integer(), nullable=True),
        sa.Column("seat_category_mapping", sa.JSON(), nullable=False),
        sa.Column("item_meta_properties", sa.JSON(), nullable=False),
        sa.Column("all_sales_channels", sa.Boolean(), nullable=False),
        sa.Column("limit_sales_channels", sa.JSON(), nullable=False),
        sa.Column("timezone", sa.String(length=100), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("plugins", sa.JSON(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organizer_id"], ["organizer.id"], name=op.f("fk_event_organizer_id_organizer"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
        sa.UniqueConstraint("organizer_id", "slug", name=op.f("uq_event_organizer_id_slug")),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_organizer_id"), ["organizer_id"], unique=False)

    op.create_table(
        "team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=190), nullable=False),
        sa.Column("all_events", sa.Boolean(), nullable=False),
        sa.Column("all_organizer_permissions", sa.Boolean(), nullable=False),
        sa.Column("limit_organizer_permissions", sa.JSON(), nullable=False),
        sa.Column("all_event_permissions", sa.Boolean(), nullable=False),
        sa.Column("limit_event_permissions", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organizer_id"], ["organizer.id"], name=op.f("fk_team_organizer_id_organizer"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team")),
    )
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_organizer_id"), ["organizer_id"], unique=False)

    op.create_table(
        "change_marker",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("resource", sa.String(length=50), nullable=False),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_change_marker_event_id_event"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("event_id", "resource", name=op.f("pk_change_marker")),
    )
    op.create_table(
        "device_limit_events",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["device.id"], name=op.f("fk_device_limit_events_device_id_device"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_device_limit_events_event_id_event"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("device_id", "event_id", name=op.f("pk_device_limit_events")),
    )
    op.create_table(
        "item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.JSON(), nullable=False),
        sa.Column("default_price", sa.Numeric(precision=13, scale=2), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("admission", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], name=op.f("fk_item_event_id_event"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item")),
    )
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_event_id"), ["event_id"], unique=False)

    op.create_table(
        "log_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("object_type", sa.String(length=100), nullable=False),
        sa.Column("object_id", sa.String(length=100), nullable=False),
        sa.Column("action_type", sa.String(length=255), nullable=False),
        sa.Column("actor_type", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.String(length=100), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("shredded", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_log_entry_event_id_event"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["organizer_id"], ["organizer.id"], name=op.f("fk_log_entry_organizer_id_organizer"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_entry")),
    )
    with op.batch_alter_table("log_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_log_entry_action_type"), ["action_type"], unique=False)
        batch_op.create_index(batch_op.f("ix_log_entry_datetime"), ["datetime"], unique=False)

    op.create_table(
        "quota",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], name=op.f("fk_quota_event_id_event"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota")),
    )
    with op.batch_alter_table("quota", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quota_event_id"), ["event_id"], unique=False)

    op.create_table(
        "team_api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=190), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_team_api_token_team_id_team"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_api_token")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_team_api_token_token_digest")),
    )
    with op.batch_alter_table("team_api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_api_token_team_id"), ["team_id"], unique=False)

    op.create_table(
        "team_limit_events",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_team_limit_events_event_id_event"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_team_limit_events_team_id_team"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team_id", "event_id", name=op.f("pk_team_limit_events")),
    )
    op.create_table(
        "quota_items",
        sa.Column("quota_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], name=op.f("fk_quota_items_item_id_item"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["quota_id"], ["quota.id"], name=op.f("fk_quota_items_quota_id_quota"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("quota_id", "item_id", name=op.f("pk_quota_items")),
    )


def downgrade() -> None:
    op.drop_table("quota_items")
    op.drop_table("team_limit_events")
    with op.batch_alter_table("team_api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_api_token_team_id"))

    op.drop_table("team_api_token")
    with op.batch_alter_table("quota", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quota_event_id"))

    op.drop_table("quota")
    with op.batch_alter_table("log_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_log_entry_datetime"))
        batch_op.drop_index(batch_op.f("ix_log_entry_action_type"))

    op.drop_table("log_entry")
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_event_id"))

    op.drop_table("item")
    op.drop_table("device_limit_events")
    op.drop_table("change_marker")
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_organizer_id"))

    op.drop_table("team")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_organizer_id"))

    op.drop_table("event")
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_organizer_id"))

    op.drop_table("device")
    with op.batch_alter_table("uploaded_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_uploaded_file_created"))

    op.drop_table("uploaded_file")
    op.drop_table("setting")
    op.drop_table("organizer")
    op.drop_table("job")
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_key_created"))

    op.drop_table("idempotency_key")
