"""Lifecycle notifications: fire-and-forget calls after something happened.

They run inside the transaction that made the change (``session`` is that transaction): write what you need
into the database or start a job with ``kernel.jobs.enqueue_on_commit(session, …)``; never do slow network work
inline. Return values are ignored. Implementations
accept any subset of the arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from boxoffice.hookspecs import hookspec, scope

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from boxoffice.kernel.models import Event, Organizer


@hookspec
@scope("event")
def order_placed(event: Event, order: Any, session: Session) -> None:
    """An order was created, pending or (for free orders) already paid; ``order_paid`` follows separately."""


@hookspec
@scope("event")
def order_paid(event: Event, order: Any, session: Session) -> None:
    """The confirmed payments of an order now cover its total and it moved to status paid (``p``)."""


@hookspec
@scope("event")
def order_canceled(event: Event, order: Any, session: Session) -> None:
    """An order was canceled (status ``c``) by the organizer, the buyer or an expiring approval."""


@hookspec
@scope("event")
def order_expired(event: Event, order: Any, session: Session) -> None:
    """A pending order passed its payment deadline and was marked expired (status ``e``)."""


@hookspec
@scope("event")
def order_changed(event: Event, order: Any, session: Session) -> None:
    """Positions, prices, fees or the contact data of an existing order were changed by anyone."""


@hookspec
@scope("event")
def order_approved(event: Event, order: Any, session: Session) -> None:
    """An order that required approval was approved; it is now pending payment or paid if free."""


@hookspec
@scope("event")
def order_denied(event: Event, order: Any, session: Session) -> None:
    """An order that required approval was denied; it is canceled and its quota is released."""


@hookspec
@scope("event")
def checkin_created(event: Event, checkin: Any, session: Session) -> None:
    """A ticket was checked in (or a failed scan was recorded: see ``checkin.successful``)."""


@hookspec
@scope("event")
def checkin_annulled(event: Event, checkin: Any, session: Session) -> None:
    """A successful check-in was annulled by the scanner that made it (the turnstile did not turn): ``checkin`` is
    now unsuccessful with the reason ``annulled``; undo what you did on ``checkin_created`` for it."""


@hookspec
@scope("event")
def invoice_issued(event: Event, invoice: Any, session: Session) -> None:
    """An invoice or cancellation document was issued."""


@hookspec
def plugin_enabled(organizer: Organizer, event: Event | None, session: Session) -> None:
    """This plugin was just switched on for ``event`` (or the whole ``organizer`` when ``event`` is ``None``).

    Called on the plugin being enabled only, never on others: set up default settings or rows here. Not called
    when an event is copied together with its plugin list.
    """


@hookspec
def plugin_disabled(organizer: Organizer, event: Event | None, session: Session) -> None:
    """This plugin was just switched off for ``event`` (or the ``organizer``); called on that plugin only."""


@hookspec
def log_entry_created(entry: Any, session: Session) -> None:
    """An audit-log entry was written (webhooks and notifications are built from these)."""


@hookspec
@scope("event")
def event_copied(event: Event, source: Event, session: Session) -> None:
    """``event`` was just created as a copy of ``source`` (``clone_from``): copy your plugin's data for it.

    Called with the plugins active on the new event, after the kernel copied the catalog and settings.
    ``plugin_enabled`` is not called for plugins taken over this way.
    """
