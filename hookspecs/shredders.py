"""Data shredders: remove personal data from an event once it is over, after offering an export of it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from boxoffice.hookspecs import hookspec, scope

if TYPE_CHECKING:
    from boxoffice.hookspecs.providers import DataShredder
    from boxoffice.kernel.models import Event


@hookspec
@scope("event")
def register_data_shredders(event: Event) -> list[type[DataShredder]] | type[DataShredder] | None:
    """Return :class:`~boxoffice.hookspecs.providers.DataShredder` subclasses for one event.

    The shredder API runs ``generate_files()`` first (the export of what will be destroyed, handed to the
    organizer with a confirmation code) and ``shred_data()`` only when that code comes back. Shredders
    overwrite personal data; they never delete audit-log rows (they set ``shredded`` instead).
    """
