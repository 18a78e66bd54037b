"""The kernel's mail service: texts rendered with the placeholders family in the recipient's language, stored in a
durable outbox, delivered over SMTP by a job and retried with back-off when the server cannot be reached.

::

    from boxoffice.kernel import mail

    mail.queue_mail(kernel, session, event=event, to=[order.email], kind="order.resend_link",
                    subject="Your order {code}", body="…", context={"order": order}, locale=order.locale)

The transport is the server's (``BOXOFFICE_MAIL_*``, :class:`~boxoffice.kernel.config.Config`) unless the organizer
or event turns on ``smtp_use_custom`` with its own ``smtp_*`` settings. Without either, :class:`MailUnavailable`
is raised at queueing time, so callers can tell the user that nothing will be sent.
"""

from __future__ import annotations

import base64
import logging
import smtplib
import ssl
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from boxoffice.hookspecs.providers import (
    GeneratedFile,
    SettingDefault,
    SimpleTextPlaceholder,
    TextPlaceholder,
)
from boxoffice.kernel import clock
from boxoffice.kernel.i18n import localize, use_locale
from boxoffice.kernel.models import Event, Organizer
from boxoffice.kernel.models.mail import MAIL_FAILED, MAIL_QUEUED, MAIL_SENT, OutboxMail
from boxoffice.kernel.placeholders import TextRenderer, text_renderer

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel
    from boxoffice.kernel.models.orders import Order
    from boxoffice.kernel.settings import Settings

logger = logging.getLogger(__name__)

SEND_JOB = "core.send_mail"
RETRY_JOB = "core.retry_mail"
SMTP_TIMEOUT_SECONDS = 20
RETRY_BATCH = 100
MAIL_PERMISSION = "event.settings.general:write"


class MailUnavailable(Exception):
    """No SMTP transport is configured for this event, so no mail can be sent (the API answers 503)."""


class DeliveryFailed(Exception):
    """The SMTP server refused the mail or could not be reached; ``temporary`` when a later try may succeed."""

    def __init__(self, message: str, *, temporary: bool = True) -> None:
        super().__init__(message)
        self.temporary = temporary


@dataclass(frozen=True)
class Transport:
    host: str
    port: int
    username: str = ""
    password: str = ""
    use_tls: bool = False
    use_ssl: bool = False


def settings_defaults() -> list[SettingDefault]:
    """The mail settings (declared by the kernel's default plugin)."""

    def setting(key: str, default: Any, kind: type, description: str, public: bool = True) -> SettingDefault:
        return SettingDefault(key, default, kind, public=public, description=description, permission=MAIL_PERMISSION)

    return [
        setting("mail_from", "", str, "Sender address of e-mails (empty: the server's address)"),
        setting("mail_from_name", "", str, "Sender name of e-mails (empty: the organizer's name)"),
        setting("mail_reply_to", "", str, "Reply-To address of e-mails (empty: the contact address)"),
        setting("mail_bcc", "", str, "Send a blind copy of every e-mail to this address"),
        setting("smtp_use_custom", False, bool, "Send e-mails through the SMTP server below"),
        setting("smtp_host", "", str, "Host name of the own SMTP server"),
        setting("smtp_port", 587, int, "Port of the own SMTP server"),
        setting("smtp_username", "", str, "User name at the own SMTP server"),
        setting("smtp_password", "", str, "Password at the own SMTP server", public=False),
        setting("smtp_use_tls", False, bool, "Use STARTTLS with the own SMTP server"),
        setting("smtp_use_ssl", False, bool, "Use implicit TLS with the own SMTP server"),
        setting(
            "mail_subject_resend_link",
            {"en": "Your order: {code}", "de": "Ihre Bestellung: {code}"},
            dict,
            "Subject of the e-mail with the link to an order",
        ),
        setting(
            "mail_text_resend_link",
            {
                "en": "Hello,\n\nyou can view the details and status of your order {code} for {event} here:\n"
                "{url}\n\nBest regards,\n{organizer}",
                "de": "Hallo,\n\nDetails und Status Ihrer Bestellung {code} für {event} finden Sie hier:\n"
                "{url}\n\nViele Grüße\n{organizer}",
            },
            dict,
            "Text of the e-mail with the link to an order",
        ),
    ]


# --- configuration ------------------------------------------------------------------------------------------------


def transport(kernel: Kernel, settings: Settings) -> Transport | None:
    """The SMTP server mail of this scope goes through, or ``None`` when none is configured."""
    if settings.get("smtp_use_custom"):
        host = str(settings.get("smtp_host") or "").strip()
        if not host:
            return None
        return Transport(
            host=host,
            port=int(settings.get("smtp_port") or 25),
            username=str(settings.get("smtp_username") or ""),
            password=str(settings.get("smtp_password") or ""),
            use_tls=bool(settings.get("smtp_use_tls")),
            use_ssl=bool(settings.get("smtp_use_ssl")),
        )
    config = kernel.config
    if not config.mail_host:
        return None
    return Transport(
        host=config.mail_host,
        port=config.mail_port,
        username=config.mail_user,
        password=config.mail_password,
        use_tls=config.mail_tls,
        use_ssl=config.mail_ssl,
    )


def sender(kernel: Kernel, settings: Settings, event: Event | None) -> str:
    """``Name <address>``: the configured sender, named after the organizer unless a name is set."""
    address = str(settings.get("mail_from") or "").strip() or kernel.config.mail_from
    name = str(settings.get("mail_from_name") or "").strip()
    if not name and event is not None:
        name = event.organizer.name
    return formataddr((name, address)) if name else address


def valid_address(value: str) -> bool:
    _name, address = parseaddr(value)
    local, _, domain = address.partition("@")
    return bool(local and domain and "\n" not in value and "\r" not in value)


# --- rendering ----------------------------------------------------------------------------------------------------


def render_text(
    kernel: Kernel,
    event: Event,
    text: str | Mapping[str, str],
    context: Mapping[str, Any],
    locale: str,
    extra: Sequence[TextPlaceholder] = (),
) -> str:
    """A multilingual (or plain) text in ``locale`` with its ``{placeholders}`` filled by the kernel's text renderer
    (the placeholders of the plugins active on the event).

    Plugin placeholders come first, so ``extra`` (values only the caller knows, such as a link) never shadows one.
    Dates and amounts inside placeholders are formatted in ``locale`` too.
    """
    renderer = text_renderer(kernel, event)
    if extra:
        renderer = TextRenderer(event, [*renderer.placeholders, *extra], kernel.config.site_url)
    with use_locale(locale):
        return renderer.render(localize(text, locale), context)


def event_locale(kernel: Kernel, session: Session, event: Event, preferred: str | None = None) -> str:
    """``preferred`` (an order's language) when the event offers it, else the event's default language."""
    settings = kernel.settings_for(session, event=event)
    offered = settings.get("locales") or [event.locale]
    if preferred and preferred in offered:
        return preferred
    return str(settings.get("locale") or event.locale or kernel.config.default_locale)


def order_link(kernel: Kernel, order: Order) -> str:
    """The buyer's page of an order (the same address the API shows as the order's ``url``)."""
    event = order.event
    base = kernel.config.site_url.rstrip("/")
    return f"{base}/{event.organizer.slug}/{event.slug}/order/{order.code}/{order.secret}/"


# --- queueing -----------------------------------------------------------------------------------------------------


def queue_mail(
    kernel: Kernel,
    session: Session,
    *,
    event: Event,
    to: Iterable[str],
    kind: str,
    subject: str | Mapping[str, str],
    body: str | Mapping[str, str],
    context: Mapping[str, Any] | None = None,
    locale: str | None = None,
    order: Order | None = None,
    attachments: Sequence[GeneratedFile] = (),
    extra_placeholders: Sequence[TextPlaceholder] = (),
    max_attempts: int = 6,
    deliver_on_commit: bool = True,
) -> OutboxMail:
    """Render and store one mail in the caller's transaction; a job delivers it once that transaction commits.

    Raises :class:`MailUnavailable` when the event has no SMTP transport and ``ValueError`` for an invalid
    recipient. ``max_attempts`` bounds the deliveries tried (1 for callers that retry by themselves).
    """
    settings = kernel.settings_for(session, event=event)
    if transport(kernel, settings) is None:
        raise MailUnavailable("No mail server is configured, so no e-mail can be sent.")
    recipients = [address.strip() for address in to if address and address.strip()]
    if not recipients or not all(valid_address(address) for address in recipients):
        raise ValueError(f"invalid recipients: {recipients!r}")
    language = event_locale(kernel, session, event, locale)
    values = {"order": order, **(context or {})}
    mail = OutboxMail(
        organizer_id=event.organizer_id,
        event_id=event.id,
        order_id=order.id if order is not None else None,
        kind=kind,
        sender=sender(kernel, settings, event),
        recipients=recipients,
        reply_to=str(settings.get("mail_reply_to") or settings.get("contact_mail") or "") or None,
        subject=render_text(kernel, event, subject, values, language, extra_placeholders).replace("\n", " ").strip(),
        body=render_text(kernel, event, body, values, language, extra_placeholders),
        attachments=[
            {"filename": name, "content_type": content_type, "content": base64.b64encode(content).decode()}
            for name, content_type, content in attachments
        ],
        status=MAIL_QUEUED,
        attempts=0,
        max_attempts=max(1, max_attempts),
        next_attempt=clock.now(),
    )
    bcc = str(settings.get("mail_bcc") or "").strip()
    if bcc and valid_address(bcc):
        mail.recipients = [*recipients, bcc]
    session.add(mail)
    session.flush()
    if deliver_on_commit:
        kernel.jobs.enqueue_on_commit(session, SEND_JOB, mail_id=mail.id)
    return mail


# --- delivery -----------------------------------------------------------------------------------------------------


def build_message(mail: OutboxMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail.sender
    # The last recipient may be the organizer's blind copy; it is an envelope recipient only.
    message["To"] = mail.recipients[0]
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    message["Subject"] = mail.subject
    message["Message-ID"] = mail.message_id or make_msgid(domain=parseaddr(mail.sender)[1].partition("@")[2] or None)
    message.set_content(mail.body)
    for attachment in mail.attachments or []:
        main, _, sub = str(attachment["content_type"]).partition("/")
        message.add_attachment(
            base64.b64decode(attachment["content"]),
            maintype=main,
            subtype=sub or "octet-stream",
            filename=attachment["filename"],
        )
    return message


def _send(settings: Transport, sender_address: str, recipients: list[str], message: EmailMessage) -> None:
    try:
        if settings.use_ssl:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS)
        with client:
            if settings.use_tls:
                client.starttls(context=ssl.create_default_context())
            if settings.username:
                client.login(settings.username, settings.password)
            refused = client.send_message(message, from_addr=sender_address, to_addrs=recipients)
    except smtplib.SMTPRecipientsRefused as error:
        raise DeliveryFailed(f"all recipients were refused: {error.recipients}", temporary=False) from None
    except smtplib.SMTPResponseException as error:
        # 5xx answers are final ("mailbox unknown"); 4xx ask to come back later.
        text = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        raise DeliveryFailed(f"SMTP {error.smtp_code}: {text}", temporary=error.smtp_code < 500) from None
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryFailed(f"{type(error).__name__}: {error}") from None
    if refused:
        logger.warning("mail server refused some recipients: %s", refused)


def retry_delay(attempts: int) -> timedelta:
    """After ``attempts`` failures: 1, 4, 16, 64 minutes … (at most 6 hours), so a short outage heals fast."""
    return min(timedelta(minutes=4 ** max(attempts - 1, 0)), timedelta(hours=6))


def deliver(kernel: Kernel, session: Session, mail: OutboxMail) -> None:
    """Try to send a queued mail now and record the outcome on its row.

    Raises :class:`DeliveryFailed` when this attempt failed (the row then says whether and when it is retried).
    """
    if mail.status != MAIL_QUEUED:
        return
    event = session.get(Event, mail.event_id) if mail.event_id is not None else None
    # Organizer-level mails (e.g. cross-event scheduled exports) go through the organizer's own server settings.
    organizer = session.get(Organizer, mail.organizer_id) if event is None and mail.organizer_id else None
    settings = kernel.settings_for(session, event=event, organizer=organizer)
    server = transport(kernel, settings)
    mail.attempts += 1
    mail.message_id = mail.message_id or make_msgid(domain=parseaddr(mail.sender)[1].partition("@")[2] or None)
    try:
        if server is None:
            raise DeliveryFailed("no mail server is configured")
        _send(server, parseaddr(mail.sender)[1], list(mail.recipients), build_message(mail))
    except DeliveryFailed as failure:
        mail.last_error = str(failure)[:2000]
        if failure.temporary and mail.attempts < mail.max_attempts:
            mail.next_attempt = clock.now() + retry_delay(mail.attempts)
        else:
            mail.status, mail.next_attempt = MAIL_FAILED, None
        session.flush()
        raise
    mail.status, mail.sent, mail.next_attempt, mail.last_error = MAIL_SENT, clock.now(), None, None
    session.flush()


def _claim(session: Session, mail_id: int) -> OutboxMail | None:
    """The queued mail, locked so the send job and the retry job never deliver it twice (PostgreSQL skips a mail
    another worker holds; SQLite has one writer anyway)."""
    return session.scalar(
        select(OutboxMail)
        .where(OutboxMail.id == mail_id, OutboxMail.status == MAIL_QUEUED)
        .with_for_update(skip_locked=True)
    )


def send_mail_job(context: Any, mail_id: int) -> str:
    """Job ``core.send_mail``: deliver one queued mail; a failure is recorded and left to the retry job."""
    kernel: Kernel = context.kernel
    with context.session() as session:
        mail = _claim(session, mail_id)
        if mail is None:
            return "nothing to send"
        try:
            deliver(kernel, session, mail)
        except DeliveryFailed as failure:
            return f"failed: {failure}"
        return "sent"


def retry_mail_job(context: Any) -> int:
    """Periodic job ``core.retry_mail``: deliver queued mails that are due; returns how many were sent."""
    kernel: Kernel = context.kernel
    with context.session() as session:
        due = list(
            session.scalars(
                select(OutboxMail.id)
                .where(OutboxMail.status == MAIL_QUEUED, OutboxMail.next_attempt <= clock.now())
                .order_by(OutboxMail.next_attempt)
                .limit(RETRY_BATCH)
            )
        )
    sent = 0
    for mail_id in due:
        with context.session() as session:
            mail = _claim(session, mail_id)
            if mail is None:
                continue
            try:
                deliver(kernel, session, mail)
                sent += 1
            except DeliveryFailed:
                continue
    return sent


def resend_order_link(kernel: Kernel, session: Session, order: Order) -> OutboxMail:
    """Queue the e-mail with the link to the order page (raises :class:`MailUnavailable` without a transport)."""
    event = order.event
    settings = kernel.settings_for(session, event=event)
    link = order_link(kernel, order)
    extra = [
        SimpleTextPlaceholder("code", ("order",), lambda found: found.code, "F8VVL"),
        SimpleTextPlaceholder("url", ("order",), lambda _found: link, link),
    ]
    return queue_mail(
        kernel,
        session,
        event=event,
        to=[order.email or ""],
        kind="order.resend_link",
        subject=settings.get("mail_subject_resend_link"),
        body=settings.get("mail_text_resend_link"),
        order=order,
        locale=order.locale,
        extra_placeholders=extra,
    )
