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
        "user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=190), nullable=False),
        sa.Column("fullname", sa.String(length=255), nullable=True),
        sa.Column("locale", sa.String(length=50), nullable=False),
        sa.Column("timezone", sa.String(length=100), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("is_staff", sa.Boolean(), nullable=False),
        sa.Column("require_2fa", sa.Boolean(), nullable=False),
        sa.Column("password", sa.String(length=255), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user")),
        sa.UniqueConstraint("email", name=op.f("uq_user_email")),
    )
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
        sa.Column("rsa_pubkey", sa.Text(), nullable=True),
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
        "sales_channel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=190), nullable=False),
        sa.Column("label", sa.JSON(), nullable=False),
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organizer_id"], ["organizer.id"], name=op.f("fk_sales_channel_organizer_id_organizer"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_channel")),
        sa.UniqueConstraint("organizer_id", "identifier", name=op.f("uq_sales_channel_organizer_id_identifier")),
    )
    with op.batch_alter_table("sales_channel", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sales_channel_organizer_id"), ["organizer_id"], unique=False)

    op.create_table(
        "team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=190), nullable=False),
        sa.Column("all_events", sa.Boolean(), nullable=False),
        sa.Column("require_2fa", sa.Boolean(), nullable=False),
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
        "item_category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.JSON(), nullable=False),
        sa.Column("internal_name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.JSON(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_addon", sa.Boolean(), nullable=False),
        sa.Column("cross_selling_mode", sa.String(length=10), nullable=True),
        sa.Column("cross_selling_condition", sa.String(length=10), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_item_category_event_id_event"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_category")),
    )
    with op.batch_alter_table("item_category", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_category_event_id"), ["event_id"], unique=False)

    op.create_table(
        "item_meta_property",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("default", sa.Text(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("allowed_values", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_item_meta_property_event_id_event"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_meta_property")),
        sa.UniqueConstraint("event_id", "name", name=op.f("uq_item_meta_property_event_id_name")),
    )
    with op.batch_alter_table("item_meta_property", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_meta_property_event_id"), ["event_id"], unique=False)

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
        "question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.JSON(), nullable=False),
        sa.Column("help_text", sa.JSON(), nullable=False),
        sa.Column("type", sa.String(length=5), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=190), nullable=False),
        sa.Column("ask_during_checkin", sa.Boolean(), nullable=False),
        sa.Column("show_during_checkin", sa.Boolean(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("print_on_invoice", sa.Boolean(), nullable=False),
        sa.Column("valid_number_min", sa.Numeric(precision=16, scale=6), nullable=True),
        sa.Column("valid_number_max", sa.Numeric(precision=16, scale=6), nullable=True),
        sa.Column("valid_date_min", sa.Date(), nullable=True),
        sa.Column("valid_date_max", sa.Date(), nullable=True),
        sa.Column("valid_datetime_min", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_datetime_max", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_file_portrait", sa.Boolean(), nullable=False),
        sa.Column("valid_string_length_max", sa.Integer(), nullable=True),
        sa.Column("dependency_question_id", sa.Integer(), nullable=True),
        sa.Column("dependency_values", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dependency_question_id"],
            ["question.id"],
            name=op.f("fk_question_dependency_question_id_question"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_question_event_id_event"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question")),
        sa.UniqueConstraint("event_id", "identifier", name=op.f("uq_question_event_id_identifier")),
    )
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_question_dependency_question_id"), ["dependency_question_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_question_event_id"), ["event_id"], unique=False)

    op.create_table(
        "subevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("date_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("date_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("date_admission", sa.DateTime(timezone=True), nullable=True),
        sa.Column("presale_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("presale_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("frontpage_text", sa.JSON(), nullable=True),
        sa.Column("location", sa.JSON(), nullable=True),
        sa.Column("geo_lat", sa.Float(), nullable=True),
        sa.Column("geo_lon", sa.Float(), nullable=True),
        sa.Column("meta_data", sa.JSON(), nullable=False),
        sa.Column("seating_plan", sa.Integer(), nullable=True),
        sa.Column("seat_category_mapping", sa.JSON(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_subevent_event_id_event"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subevent")),
    )
    with op.batch_alter_table("subevent", schema=None) as batch_op:
        batch_op.create_index("ix_subevent_event_id_date_from", ["event_id", "date_from"], unique=False)
        batch_op.create_index(batch_op.f("ix_subevent_last_modified"), ["last_modified"], unique=False)

    op.create_table(
        "tax_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.JSON(), nullable=False),
        sa.Column("internal_name", sa.String(length=190), nullable=True),
        sa.Column("rate", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("code", sa.String(length=190), nullable=True),
        sa.Column("price_includes_tax", sa.Boolean(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("eu_reverse_charge", sa.Boolean(), nullable=False),
        sa.Column("home_country", sa.String(length=2), nullable=True),
        sa.Column("keep_gross_if_rate_changes", sa.Boolean(), nullable=False),
        sa.Column("custom_rules", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_tax_rule_event_id_event"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_rule")),
    )
    with op.batch_alter_table("tax_rule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tax_rule_event_id"), ["event_id"], unique=False)

    op.create_table(
        "team_api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=190), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_team_api_token_team_id_team"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_api_token")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_team_api_token_token_digest")),
    )
    with op.batch_alter_table("team_api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_api_token_team_id"), ["team_id"], unique=False)

    op.create_table(
        "team_invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=190), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], name=op.f("fk_team_invite_team_id_team"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_invite")),
        sa.UniqueConstraint("team_id", "email", name=op.f("uq_team_invite_team_id_email")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_team_invite_token_digest")),
    )
    with op.batch_alter_table("team_invite", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_invite_team_id"), ["team_id"], unique=False)

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
        "team_members",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_team_members_team_id_team"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_team_members_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_team_members")),
    )
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "question_option",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=190), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"], ["question.id"], name=op.f("fk_question_option_question_id_question"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_option")),
        sa.UniqueConstraint("question_id", "identifier", name=op.f("uq_question_option_question_id_identifier")),
    )
    with op.batch_alter_table("question_option", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_question_option_question_id"), ["question_id"], unique=False)

    op.create_table(
        "quota",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("subevent_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("close_when_sold_out", sa.Boolean(), nullable=False),
        sa.Column("release_after_exit", sa.Boolean(), nullable=False),
        sa.Column("ignore_for_event_availability", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], name=op.f("fk_quota_event_id_event"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["subevent_id"], ["subevent.id"], name=op.f("fk_quota_subevent_id_subevent"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota")),
    )
    with op.batch_alter_table("quota", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quota_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_quota_subevent_id"), ["subevent_id"], unique=False)

    op.create_table(
        "item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.JSON(), nullable=False),
        sa.Column("internal_name", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("all_sales_channels", sa.Boolean(), nullable=False),
        sa.Column("limit_sales_channels", sa.JSON(), nullable=False),
        sa.Column("description", sa.JSON(), nullable=True),
        sa.Column("default_price", sa.Numeric(precision=13, scale=2), nullable=False),
        sa.Column("free_price", sa.Boolean(), nullable=False),
        sa.Column("free_price_suggestion", sa.Numeric(precision=13, scale=2), nullable=True),
        sa.Column("tax_rule_id", sa.Integer(), nullable=True),
        sa.Column("admission", sa.Boolean(), nullable=False),
        sa.Column("personalized", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("picture_file", sa.String(length=64), nullable=True),
        sa.Column("available_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("available_from_mode", sa.String(length=10), nullable=False),
        sa.Column("available_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("available_until_mode", sa.String(length=10), nullable=False),
        sa.Column("hidden_if_available_id", sa.Integer(), nullable=True),
        sa.Column("hidden_if_item_available_id", sa.Integer(), nullable=True),
        sa.Column("hidden_if_item_available_mode", sa.String(length=10), nullable=False),
        sa.Column("require_voucher", sa.Boolean(), nullable=False),
        sa.Column("hide_without_voucher", sa.Boolean(), nullable=False),
        sa.Column("allow_cancel", sa.Boolean(), nullable=False),
        sa.Column("min_per_order", sa.Integer(), nullable=True),
        sa.Column("max_per_order", sa.Integer(), nullable=True),
        sa.Column("checkin_attention", sa.Boolean(), nullable=False),
        sa.Column("checkin_text", sa.Text(), nullable=True),
        sa.Column("original_price", sa.Numeric(precision=13, scale=2), nullable=True),
        sa.Column("require_approval", sa.Boolean(), nullable=False),
        sa.Column("require_bundling", sa.Boolean(), nullable=False),
        sa.Column("require_membership", sa.Boolean(), nullable=False),
        sa.Column("require_membership_hidden", sa.Boolean(), nullable=False),
        sa.Column("require_membership_types", sa.JSON(), nullable=False),
        sa.Column("grant_membership_type", sa.Integer(), nullable=True),
        sa.Column("grant_membership_duration_like_event", sa.Boolean(), nullable=False),
        sa.Column("grant_membership_duration_days", sa.Integer(), nullable=False),
        sa.Column("grant_membership_duration_months", sa.Integer(), nullable=False),
        sa.Column("validity_mode", sa.String(length=16), nullable=True),
        sa.Column("validity_fixed_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("validity_fixed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("validity_dynamic_duration_minutes", sa.Integer(), nullable=True),
        sa.Column("validity_dynamic_duration_hours", sa.Integer(), nullable=True),
        sa.Column("validity_dynamic_duration_days", sa.Integer(), nullable=True),
        sa.Column("validity_dynamic_duration_months", sa.Integer(), nullable=True),
        sa.Column("validity_dynamic_start_choice", sa.Boolean(), nullable=False),
        sa.Column("validity_dynamic_start_choice_day_limit", sa.Integer(), nullable=True),
        sa.Column("generate_tickets", sa.Boolean(), nullable=True),
        sa.Column("allow_waitinglist", sa.Boolean(), nullable=False),
        sa.Column("issue_giftcard", sa.Boolean(), nullable=False),
        sa.Column("media_policy", sa.String(length=16), nullable=True),
        sa.Column("media_type", sa.String(length=100), nullable=True),
        sa.Column("show_quota_left", sa.Boolean(), nullable=True),
        sa.Column("has_variations", sa.Boolean(), nullable=False),
        sa.Column("meta_data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"], ["item_category.id"], name=op.f("fk_item_category_id_item_category"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], name=op.f("fk_item_event_id_event"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["hidden_if_available_id"],
            ["quota.id"],
            name=op.f("fk_item_hidden_if_available_id_quota"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["hidden_if_item_available_id"],
            ["item.id"],
            name=op.f("fk_item_hidden_if_item_available_id_item"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tax_rule_id"], ["tax_rule.id"], name=op.f("fk_item_tax_rule_id_tax_rule"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item")),
    )
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_category_id"), ["category_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_item_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_item_tax_rule_id"), ["tax_rule_id"], unique=False)

    op.create_table(
        "item_addon",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("base_item_id", sa.Integer(), nullable=False),
        sa.Column("addon_category_id", sa.Integer(), nullable=False),
        sa.Column("min_count", sa.Integer(), nullable=False),
        sa.Column("max_count", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("multi_allowed", sa.Boolean(), nullable=False),
        sa.Column("price_included", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["addon_category_id"],
            ["item_category.id"],
            name=op.f("fk_item_addon_addon_category_id_item_category"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["base_item_id"], ["item.id"], name=op.f("fk_item_addon_base_item_id_item"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_addon")),
        sa.UniqueConstraint(
            "base_item_id", "addon_category_id", name=op.f("uq_item_addon_base_item_id_addon_category_id")
        ),
    )
    with op.batch_alter_table("item_addon", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_addon_addon_category_id"), ["addon_category_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_item_addon_base_item_id"), ["base_item_id"], unique=False)

    op.create_table(
        "item_category_cross_selling",
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["item_category.id"],
            name=op.f("fk_item_category_cross_selling_category_id_item_category"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_item_category_cross_selling_item_id_item"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("category_id", "item_id", name=op.f("pk_item_category_cross_selling")),
    )
    with op.batch_alter_table("item_category_cross_selling", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_category_cross_selling_item_id"), ["item_id"], unique=False)

    op.create_table(
        "item_picture",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("file", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_item_picture_item_id_item"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_item_picture")),
    )
    op.create_table(
        "item_program_time",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_item_program_time_item_id_item"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_program_time")),
    )
    with op.batch_alter_table("item_program_time", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_program_time_item_id"), ["item_id"], unique=False)

    op.create_table(
        "item_variation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("default_price", sa.Numeric(precision=13, scale=2), nullable=True),
        sa.Column("free_price_suggestion", sa.Numeric(precision=13, scale=2), nullable=True),
        sa.Column("original_price", sa.Numeric(precision=13, scale=2), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("description", sa.JSON(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("checkin_attention", sa.Boolean(), nullable=False),
        sa.Column("checkin_text", sa.Text(), nullable=True),
        sa.Column("require_approval", sa.Boolean(), nullable=False),
        sa.Column("require_membership", sa.Boolean(), nullable=False),
        sa.Column("require_membership_hidden", sa.Boolean(), nullable=False),
        sa.Column("require_membership_types", sa.JSON(), nullable=False),
        sa.Column("all_sales_channels", sa.Boolean(), nullable=False),
        sa.Column("limit_sales_channels", sa.JSON(), nullable=False),
        sa.Column("available_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("available_from_mode", sa.String(length=10), nullable=False),
        sa.Column("available_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("available_until_mode", sa.String(length=10), nullable=False),
        sa.Column("hide_without_voucher", sa.Boolean(), nullable=False),
        sa.Column("meta_data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_item_variation_item_id_item"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_variation")),
    )
    with op.batch_alter_table("item_variation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_variation_item_id"), ["item_id"], unique=False)

    op.create_table(
        "question_items",
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_question_items_item_id_item"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["question_id"], ["question.id"], name=op.f("fk_question_items_question_id_question"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("question_id", "item_id", name=op.f("pk_question_items")),
    )
    with op.batch_alter_table("question_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_question_items_item_id"), ["item_id"], unique=False)

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
    op.create_table(
        "subevent_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subevent_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("price", sa.Numeric(precision=13, scale=2), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("available_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("available_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_subevent_item_item_id_item"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["subevent_id"], ["subevent.id"], name=op.f("fk_subevent_item_subevent_id_subevent"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subevent_item")),
        sa.UniqueConstraint("subevent_id", "item_id", name=op.f("uq_subevent_item_subevent_id_item_id")),
    )
    with op.batch_alter_table("subevent_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subevent_item_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_subevent_item_subevent_id"), ["subevent_id"], unique=False)

    op.create_table(
        "item_bundle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("base_item_id", sa.Integer(), nullable=False),
        sa.Column("bundled_item_id", sa.Integer(), nullable=False),
        sa.Column("bundled_variation_id", sa.Integer(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("designated_price", sa.Numeric(precision=13, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["base_item_id"], ["item.id"], name=op.f("fk_item_bundle_base_item_id_item"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["bundled_item_id"], ["item.id"], name=op.f("fk_item_bundle_bundled_item_id_item"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["bundled_variation_id"],
            ["item_variation.id"],
            name=op.f("fk_item_bundle_bundled_variation_id_item_variation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_bundle")),
    )
    with op.batch_alter_table("item_bundle", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_bundle_base_item_id"), ["base_item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_item_bundle_bundled_item_id"), ["bundled_item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_item_bundle_bundled_variation_id"), ["bundled_variation_id"], unique=False)

    op.create_table(
        "quota_variations",
        sa.Column("quota_id", sa.Integer(), nullable=False),
        sa.Column("variation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["quota_id"], ["quota.id"], name=op.f("fk_quota_variations_quota_id_quota"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["variation_id"],
            ["item_variation.id"],
            name=op.f("fk_quota_variations_variation_id_item_variation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("quota_id", "variation_id", name=op.f("pk_quota_variations")),
    )
    with op.batch_alter_table("quota_variations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quota_variations_variation_id"), ["variation_id"], unique=False)

    op.create_table(
        "subevent_item_variation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subevent_id", sa.Integer(), nullable=False),
        sa.Column("variation_id", sa.Integer(), nullable=False),
        sa.Column("price", sa.Numeric(precision=13, scale=2), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("available_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("available_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subevent_id"],
            ["subevent.id"],
            name=op.f("fk_subevent_item_variation_subevent_id_subevent"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["variation_id"],
            ["item_variation.id"],
            name=op.f("fk_subevent_item_variation_variation_id_item_variation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subevent_item_variation")),
        sa.UniqueConstraint(
            "subevent_id", "variation_id", name=op.f("uq_subevent_item_variation_subevent_id_variation_id")
        ),
    )
    with op.batch_alter_table("subevent_item_variation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subevent_item_variation_subevent_id"), ["subevent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_subevent_item_variation_variation_id"), ["variation_id"], unique=False)

    op.create_table(
        "voucher",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(length=255), nullable=False),
        sa.Column("max_usages", sa.Integer(), nullable=False),
        sa.Column("min_usages", sa.Integer(), nullable=False),
        sa.Column("redeemed", sa.Integer(), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("block_quota", sa.Boolean(), nullable=False),
        sa.Column("allow_ignore_quota", sa.Boolean(), nullable=False),
        sa.Column("price_mode", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Numeric(precision=13, scale=2), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("variation_id", sa.Integer(), nullable=True),
        sa.Column("quota_id", sa.Integer(), nullable=True),
        sa.Column("subevent_id", sa.Integer(), nullable=True),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("show_hidden_items", sa.Boolean(), nullable=False),
        sa.Column("all_addons_included", sa.Boolean(), nullable=False),
        sa.Column("all_bundles_included", sa.Boolean(), nullable=False),
        sa.Column("budget", sa.Numeric(precision=13, scale=2), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], name=op.f("fk_voucher_event_id_event"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], name=op.f("fk_voucher_item_id_item"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["quota_id"], ["quota.id"], name=op.f("fk_voucher_quota_id_quota"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["subevent_id"], ["subevent.id"], name=op.f("fk_voucher_subevent_id_subevent"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["variation_id"],
            ["item_variation.id"],
            name=op.f("fk_voucher_variation_id_item_variation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher")),
        sa.UniqueConstraint("event_id", "code", name=op.f("uq_voucher_event_id_code")),
    )
    with op.batch_alter_table("voucher", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_voucher_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_voucher_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_voucher_quota_id"), ["quota_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_voucher_subevent_id"), ["subevent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_voucher_tag"), ["tag"], unique=False)
        batch_op.create_index(batch_op.f("ix_voucher_variation_id"), ["variation_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("voucher", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voucher_variation_id"))
        batch_op.drop_index(batch_op.f("ix_voucher_tag"))
        batch_op.drop_index(batch_op.f("ix_voucher_subevent_id"))
        batch_op.drop_index(batch_op.f("ix_voucher_quota_id"))
        batch_op.drop_index(batch_op.f("ix_voucher_item_id"))
        batch_op.drop_index(batch_op.f("ix_voucher_event_id"))

    op.drop_table("voucher")
    with op.batch_alter_table("subevent_item_variation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subevent_item_variation_variation_id"))
        batch_op.drop_index(batch_op.f("ix_subevent_item_variation_subevent_id"))

    op.drop_table("subevent_item_variation")
    with op.batch_alter_table("quota_variations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quota_variations_variation_id"))

    op.drop_table("quota_variations")
    with op.batch_alter_table("item_bundle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_bundle_bundled_variation_id"))
        batch_op.drop_index(batch_op.f("ix_item_bundle_bundled_item_id"))
        batch_op.drop_index(batch_op.f("ix_item_bundle_base_item_id"))

    op.drop_table("item_bundle")
    with op.batch_alter_table("subevent_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subevent_item_subevent_id"))
        batch_op.drop_index(batch_op.f("ix_subevent_item_item_id"))

    op.drop_table("subevent_item")
    op.drop_table("quota_items")
    with op.batch_alter_table("question_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_question_items_item_id"))

    op.drop_table("question_items")
    with op.batch_alter_table("item_variation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_variation_item_id"))

    op.drop_table("item_variation")
    with op.batch_alter_table("item_program_time", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_program_time_item_id"))

    op.drop_table("item_program_time")
    op.drop_table("item_picture")
    with op.batch_alter_table("item_category_cross_selling", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_category_cross_selling_item_id"))

    op.drop_table("item_category_cross_selling")
    with op.batch_alter_table("item_addon", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_addon_base_item_id"))
        batch_op.drop_index(batch_op.f("ix_item_addon_addon_category_id"))

    op.drop_table("item_addon")
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_tax_rule_id"))
        batch_op.drop_index(batch_op.f("ix_item_event_id"))
        batch_op.drop_index(batch_op.f("ix_item_category_id"))

    op.drop_table("item")
    with op.batch_alter_table("quota", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quota_subevent_id"))
        batch_op.drop_index(batch_op.f("ix_quota_event_id"))

    op.drop_table("quota")
    with op.batch_alter_table("question_option", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_question_option_question_id"))

    op.drop_table("question_option")
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_members_user_id"))

    op.drop_table("team_members")
    op.drop_table("team_limit_events")
    with op.batch_alter_table("team_invite", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_invite_team_id"))

    op.drop_table("team_invite")
    with op.batch_alter_table("team_api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_api_token_team_id"))

    op.drop_table("team_api_token")
    with op.batch_alter_table("tax_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tax_rule_event_id"))

    op.drop_table("tax_rule")
    with op.batch_alter_table("subevent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subevent_last_modified"))
        batch_op.drop_index("ix_subevent_event_id_date_from")

    op.drop_table("subevent")
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_question_event_id"))
        batch_op.drop_index(batch_op.f("ix_question_dependency_question_id"))

    op.drop_table("question")
    with op.batch_alter_table("log_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_log_entry_datetime"))
        batch_op.drop_index(batch_op.f("ix_log_entry_action_type"))

    op.drop_table("log_entry")
    with op.batch_alter_table("item_meta_property", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_meta_property_event_id"))

    op.drop_table("item_meta_property")
    with op.batch_alter_table("item_category", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_category_event_id"))

    op.drop_table("item_category")
    op.drop_table("device_limit_events")
    op.drop_table("change_marker")
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_organizer_id"))

    op.drop_table("team")
    with op.batch_alter_table("sales_channel", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_channel_organizer_id"))

    op.drop_table("sales_channel")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_organizer_id"))

    op.drop_table("event")
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_organizer_id"))

    op.drop_table("device")
    op.drop_table("user")
    with op.batch_alter_table("uploaded_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_uploaded_file_created"))

    op.drop_table("uploaded_file")
    op.drop_table("setting")
    op.drop_table("organizer")
    op.drop_table("job")
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_key_created"))

    op.drop_table("idempotency_key")
