"""Placeholders: ``{name}`` values available in e-mail texts, PDF layouts and invoice texts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from boxoffice.hookspecs import hookspec, scope

if TYPE_CHECKING:
    from boxoffice.hookspecs.providers import TextPlaceholder
    from boxoffice.kernel.models import Event


@hookspec
@scope("event")
def register_text_placeholders(event: Event) -> list[TextPlaceholder] | TextPlaceholder | None:
    """Return :class:`~boxoffice.hookspecs.providers.TextPlaceholder` instances for one event.

    A placeholder names the context it needs in ``required_context`` (``event``, ``order``, ``position``,
    ``invoice_address``, ``payment``, ``invoice`` …); a text is offered only the placeholders whose context is
    complete. ``render(context)`` returns the text, ``render_sample(event)`` a preview value.
    """
