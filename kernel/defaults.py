"""The kernel's own default plugin (entry point ``core``): its settings, transmission types and jobs.

Registered through the same entry-point group as every other plugin; always active, not togglable.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.hookspecs.providers import JobDefinition, SettingDefault, TransmissionType
from boxoffice.kernel import clock, exports, invoicing, mail, shredding
from boxoffice.kernel.checkin.redeem import exit_all_job
from boxoffice.kernel.models import JobRecord
from boxoffice.kernel.models.api_state import UPLOAD_LIFETIME, UploadedFile
from boxoffice.kernel.orders.carts import delete_expired_carts
from boxoffice.kernel.orders.lifecycle import expire_orders_job
from boxoffice.kernel.tickets import ticket_job_definitions, ticket_settings_defaults

plugin_meta = PluginMeta(
    name="boxoffice core",
    description="Settings, invoice transmission types and housekeeping jobs of the kernel.",
    category="CORE",
    level="global",
    togglable=False,
)

FINISHED_JOBS_KEPT = timedelta(days=2)


@hookimpl
def register_settings_defaults() -> list[SettingDefault]:
    return [
        SettingDefault("locale", "en", str, public=True, description="Default language of the shop"),
        SettingDefault("locales", ["en"], list, public=True, description="Languages offered to buyers"),
        SettingDefault("timezone", "UTC", str, public=True, description="Time zone of the event"),
        SettingDefault("contact_mail", "", str, public=True, description="Organizer's contact address"),
        SettingDefault("imprint_url", "", str, public=True, description="Link to the legal imprint"),
        SettingDefault("max_items_per_order", 10, int, public=True, description="Positions one order may hold"),
        SettingDefault("reservation_time", 30, int, public=True, description="Minutes a cart reserves quota"),
        SettingDefault(
            "payment_term_days",
            14,
            int,
            public=True,
            description="Days a buyer has to pay",
            permission="event.settings.payment:write",
        ),
        SettingDefault(
            "payment_term_expire_automatically",
            True,
            bool,
            public=True,
            description="Expire unpaid orders",
            permission="event.settings.payment:write",
        ),
        SettingDefault("show_quota_left", False, bool, public=True, description="Show remaining tickets"),
        SettingDefault(
            "invoice_address_asked",
            True,
            bool,
            public=True,
            description="Ask for an invoice address",
            permission="event.settings.invoicing:write",
        ),
        SettingDefault("ticket_download", False, bool, public=True, description="Buyers may download tickets"),
        *ticket_settings_defaults(),
        SettingDefault(
            "event_list_type", "list", str, public=True, description="Organizer page shows events as list/calendar"
        ),
        *invoicing.settings_defaults(),
        *mail.settings_defaults(),
    ]


class EmailTransmission(TransmissionType):
    identifier = "email"
    verbose_name = "E-mail"
    priority = 1000
    address_fields = {"transmission_email_address": "Send invoices to this address instead of the order's e-mail"}


@hookimpl
def register_transmission_types() -> list[TransmissionType]:
    return [EmailTransmission()]


def delete_finished_jobs(context: Any) -> int:
    """Forget job rows (and their results) some time after they finished."""
    with context.session() as session:
        result = session.execute(delete(JobRecord).where(JobRecord.finished < clock.now() - FINISHED_JOBS_KEPT))
        return result.rowcount or 0


def delete_expired_uploads(context: Any) -> int:
    """Delete files sent to the upload endpoint once they can no longer be referenced."""
    with context.session() as session:
        result = session.execute(delete(UploadedFile).where(UploadedFile.created < clock.now() - UPLOAD_LIFETIME))
        return result.rowcount or 0


@hookimpl
def register_jobs() -> list[JobDefinition]:
    return [
        JobDefinition("core.delete_finished_jobs", delete_finished_jobs, queue="background", every_seconds=3600),
        JobDefinition("core.delete_expired_uploads", delete_expired_uploads, queue="background", every_seconds=3600),
        # Unpaid orders give their quota back within a minute of their deadline.
        JobDefinition("core.expire_orders", expire_orders_job, every_seconds=60),
        # Expired carts already count for nothing; this only keeps the table small.
        JobDefinition("core.delete_expired_carts", delete_expired_carts, queue="background", every_seconds=900),
        # Check-in lists with ``exit_all_at`` let everyone out within a minute of that moment.
        JobDefinition("core.checkin_exit_all", exit_all_job, every_seconds=60),
        *ticket_job_definitions(),
        *invoicing.job_definitions(),
        *exports.job_definitions(),
        *shredding.job_definitions(),
        JobDefinition(mail.SEND_JOB, mail.send_mail_job),
        # Queued mails whose server could not be reached come back after their back-off.
        JobDefinition(mail.RETRY_JOB, mail.retry_mail_job, every_seconds=60),
    ]
