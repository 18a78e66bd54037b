"""The buyer's shop, server-rendered at ``/{organizer}/{event}/`` (pretix's addresses): the event page with products
and availability, the cart with its reservation countdown, checkout with questions, attendee data and the payment
method, and the order page with payment instructions and ticket downloads. See ``docs/shop.md``.

The web foundation (``boxoffice.apps.web``) mounts :func:`routes` at ``/`` with sessions, CSRF, templates and the
buyer's language.
"""

from __future__ import annotations

from typing import Any


def routes() -> list[Any]:
    """The shop's route handlers (paths relative to ``/``)."""
    from boxoffice.apps.shop.views import ROUTES

    return list(ROUTES)


__all__ = ["routes"]
