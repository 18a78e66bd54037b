"""{{ cookiecutter.plugin_name }}: {{ cookiecutter.description }}

boxoffice imports this module through the ``boxoffice.plugins`` entry point declared in ``pyproject.toml``,
reads :data:`plugin_meta` and registers every function decorated with ``@hookimpl`` whose name matches a hook in
:mod:`boxoffice.hookspecs`. Hooks marked ``@scope("event")`` reach this plugin only in events where it is active
(this plugin's level: ``{{ cookiecutter.level }}``).

A lifecycle hook looks like this (to use it, move the imports to the top of the module and the function below;
implementations may accept any subset of the hook's arguments)::

    from typing import Any

    from sqlalchemy.orm import Session

    from {{ cookiecutter.module_name }}.models import Note


    @hookimpl
    def order_paid(event: Event, order: Any, session: Session) -> None:
        # Runs inside the transaction that marked the order paid: write rows or enqueue a job, no slow network
        # calls. The return value is ignored.
        session.add(Note(event_id=event.id, text=f"Order {order.code} was paid"))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.hookspecs.providers import SimpleTextPlaceholder

if TYPE_CHECKING:
    from boxoffice.kernel.models import Event

plugin_meta = PluginMeta(
    name="{{ cookiecutter.plugin_name }}",
    author="{{ cookiecutter.author }}",
    description="{{ cookiecutter.description }}",
    category="{{ cookiecutter.category }}",
    level="{{ cookiecutter.level }}",
    # version is left empty: boxoffice fills it from the installed distribution (pyproject.toml).
    compatibility=">=0.1",
)

PLACEHOLDER = "{{ cookiecutter.entry_point_name }}_event_slug"


def event_slug_upper(event: Event) -> str:
    """The value of the placeholder: receives the ``required_context`` values positionally, in that order."""
    return event.slug.upper()


@hookimpl
def register_text_placeholders(event: Event) -> SimpleTextPlaceholder:
    """Offer the placeholder named :data:`PLACEHOLDER`: the event's slug in capitals, in every text with an event.

    The kernel asks only in events where this plugin is active. ``function`` runs for each rendered text, called
    with the context values named in ``required_context``; ``sample`` (a text, or a callable taking the event) is
    the preview shown where no order exists yet.
    """
    return SimpleTextPlaceholder(
        identifier=PLACEHOLDER,
        required_context=("event",),
        function=event_slug_upper,
        sample=event_slug_upper,
    )
