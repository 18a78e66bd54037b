"""Rendering configurable texts: the one place where a template with ``{placeholders}`` becomes text.

E-mail texts, PDF ticket layouts and invoice texts all go through :class:`TextRenderer`::

    from boxoffice.kernel.placeholders import render_template, text_renderer

    render_template(kernel, event, "Hello {attendee_name}, your order {code}", {"position": position})

    renderer = text_renderer(kernel, event)          # collect once, render many (bulk PDFs, mail batches)
    renderer.render("{event} on {event_date_from}", {"order": order})
    renderer.sample("{attendee_name}")               # preview with every placeholder's sample value

Placeholders come from the ``register_text_placeholders`` hook of the plugins active on the event. The context is
completed before rendering: ``event`` is always there, a ``position`` brings its ``order``, an ``order`` brings its
``invoice_address`` (when it has one), so callers pass the most specific object they have.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from boxoffice.hookspecs.providers import (
    PLACEHOLDER_ERROR,
    PLACEHOLDER_PATTERN,
    TextPlaceholder,
    render_placeholders,
)
from boxoffice.kernel.i18n import get_locale

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel
    from boxoffice.kernel.models import Event

logger = logging.getLogger(__name__)


def complete_context(event: Event, context: Mapping[str, Any], site_url: str | None = None) -> dict[str, Any]:
    """``context`` plus what follows from it: the event, a position's order, an order's invoice address, and the
    public ``site_url`` that links are built on."""
    completed: dict[str, Any] = {"event": event, **{key: value for key, value in context.items() if value is not None}}
    if site_url and "site_url" not in completed:
        completed["site_url"] = site_url
    position = completed.get("position")
    if position is not None and "order" not in completed:
        completed["order"] = position.order
    order = completed.get("order")
    if order is not None and "invoice_address" not in completed:
        address = getattr(order, "invoice_address", None)
        if address is not None:
            completed["invoice_address"] = address
    return completed


EVENT_ONLY = frozenset({"event", "site_url"})


class _PerLocale(TextPlaceholder):
    """A placeholder that depends on the event alone, rendered once per language by a renderer (which serves one
    event): bulk tickets and mail batches would otherwise format the same event date thousands of times."""

    def __init__(self, inner: TextPlaceholder) -> None:
        self.inner = inner
        self.identifier = inner.identifier
        self.required_context = tuple(inner.required_context)
        self.values: dict[str, str] = {}

    def render(self, context: Mapping[str, Any]) -> str:
        locale = get_locale()
        value = self.values.get(locale)
        if value is None:
            rendered = self.inner.render(context)
            value = self.values[locale] = "" if rendered is None else str(rendered)
        return value

    def render_sample(self, event: Any) -> str:
        return self.inner.render_sample(event)


class TextRenderer:
    """The placeholders of one event, collected once; renders any number of templates for any context."""

    def __init__(
        self,
        event: Event,
        placeholders: Iterable[TextPlaceholder] | Callable[[], Iterable[TextPlaceholder]],
        site_url: str | None = None,
    ) -> None:
        self.event = event
        self.site_url = site_url
        self._source = placeholders
        self._placeholders: list[TextPlaceholder] | None = None

    @property
    def placeholders(self) -> list[TextPlaceholder]:
        """Collected on first use: a renderer handed to code that may never render anything costs nothing."""
        if self._placeholders is None:
            source = self._source() if callable(self._source) else self._source
            collected: list[TextPlaceholder] = []
            seen: set[str] = set()
            for placeholder in source:
                # The first plugin to claim an identifier keeps it, as render_placeholders does.
                if isinstance(placeholder, TextPlaceholder) and placeholder.identifier not in seen:
                    seen.add(placeholder.identifier)
                    if set(placeholder.required_context) <= EVENT_ONLY:
                        placeholder = _PerLocale(placeholder)
                    collected.append(placeholder)
            self._placeholders = collected
        return self._placeholders

    def available(self, context_keys: Iterable[str]) -> list[TextPlaceholder]:
        """The placeholders a text rendered with these context keys may use (for editors and validation)."""
        keys = set(context_keys) | {"event"} | ({"site_url"} if self.site_url else set())
        return [p for p in self.placeholders if set(p.required_context) <= keys]

    def render(self, template: str, context: Mapping[str, Any] | None = None) -> str:
        """``template`` with every usable ``{identifier}`` replaced; unknown names and names whose context is
        missing stay as written, a failing placeholder shows ``(error)``."""
        if "{" not in template:
            return template
        completed = complete_context(self.event, context or {}, self.site_url)
        return render_placeholders(template, self.placeholders, completed)

    def sample(self, template: str) -> str:
        """``template`` with every known placeholder replaced by its sample value (previews without orders)."""
        by_identifier = {p.identifier: p for p in self.placeholders}

        def substitute(match: Any) -> str:
            placeholder = by_identifier.get(match.group(1))
            if placeholder is None:
                return match.group(0)
            try:
                return placeholder.render_sample(self.event)
            except Exception:
                logger.exception("sample of text placeholder %r failed", placeholder.identifier)
                return PLACEHOLDER_ERROR

        return PLACEHOLDER_PATTERN.sub(substitute, template)


def text_renderer(kernel: Kernel, event: Event) -> TextRenderer:
    """A :class:`TextRenderer` with the placeholders of the plugins active on ``event``."""

    def collect() -> list[TextPlaceholder]:
        collected = kernel.plugins.for_event(event).collect("register_text_placeholders", event=event)
        return [placeholder for _owner, placeholder in collected]

    return TextRenderer(event, collect, kernel.config.site_url)


def render_template(kernel: Kernel, event: Event, template: str, context: Mapping[str, Any] | None = None) -> str:
    """Render one template for one context (see the module documentation); for many, reuse a
    :func:`text_renderer`."""
    return text_renderer(kernel, event).render(template, context)
