"""Exporters: reports and data files, run as background jobs through the exporters API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from boxoffice.hookspecs import hookspec, scope

if TYPE_CHECKING:
    from boxoffice.hookspecs.providers import Exporter
    from boxoffice.kernel.models import Event, Organizer


@hookspec
@scope("event")
def register_data_exporters(event: Event) -> list[type[Exporter]] | type[Exporter] | None:
    """Return exporter classes available for one event.

    An :class:`~boxoffice.hookspecs.providers.Exporter` declares ``identifier``, ``verbose_name``, ``category``
    and ``input_parameters`` (the JSON inputs the REST API accepts) and implements
    ``render(params, progress)`` → ``(filename, content_type, bytes)``. Rendering always runs as a job: inputs
    must be JSON values (pass primary keys, never objects).
    """


@hookspec
@scope("organizer")
def register_multievent_data_exporters(organizer: Organizer) -> list[type[Exporter]] | type[Exporter] | None:
    """Return exporter classes that work across several events of one organizer.

    Called with only the plugins enabled on the organizer. The exporter is instantiated with the organizer and
    the set of events the caller may see.
    """
