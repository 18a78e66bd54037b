"""Layout documents: the built-in default, checking what organizers send, and choosing a layout for a ticket.

A layout is a list of elements, positioned in millimetres from the lower left corner of the page (pretix's PDF
layout format):

* ``textarea``: ``content`` names a placeholder (``attendee_name``, ``event_name`` …) or is ``other`` with a
  ``text`` (or multilingual ``text_i18n``) containing ``{placeholders}``; ``left``, ``bottom``, ``width``,
  ``fontsize`` (points), ``fontfamily``, ``bold``, ``italic``, ``color`` (``[r, g, b, a]``, 0-255), ``align``
  (``left``/``center``/``right``), ``rotation`` (degrees), ``downward`` (text hangs from ``bottom``), ``lineheight``;
* ``barcodearea``: a QR code of ``content`` (``secret`` by default, ``pseudonymization_id`` or ``other`` with a
  ``text``) of ``size`` millimetres including its quiet zone (``nowhitespace`` drops it); ``"barcode": "code128"``
  draws a Code 128 barcode ``size`` wide and ``height`` high instead;
* ``imagearea``: ``content`` ``item_picture`` (the product's picture) fitted into ``width`` x ``height``;
* ``poweredby``: accepted and not drawn.

Every element may name its ``page`` (from 1); a layout has as many pages as its highest page number or its
background PDF, whichever is more.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ELEMENT_TYPES = ("textarea", "barcodearea", "imagearea", "poweredby")
NUMBERS = ("left", "bottom", "width", "height", "size", "fontsize", "rotation", "lineheight", "page")
ALIGNMENTS = ("left", "center", "right")
MAX_ELEMENTS = 500
MAX_PAGE = 100

DEFAULT_LAYOUT: list[dict[str, Any]] = [
    {"type": "textarea", "content": "event_name", "left": 15, "bottom": 272, "width": 180, "fontsize": 20,
     "bold": True},
    {"type": "textarea", "content": "event_begin", "left": 15, "bottom": 263, "width": 115, "fontsize": 12},
    {"type": "textarea", "content": "event_location", "left": 15, "bottom": 257, "width": 115, "fontsize": 10},
    {"type": "textarea", "content": "itemvar", "left": 15, "bottom": 240, "width": 115, "fontsize": 14,
     "bold": True},
    {"type": "textarea", "content": "price", "left": 15, "bottom": 233, "width": 115, "fontsize": 12},
    {"type": "textarea", "content": "attendee_name", "left": 15, "bottom": 220, "width": 115, "fontsize": 16},
    {"type": "textarea", "content": "other", "text": "{order}-{positionid}", "left": 15, "bottom": 210,
     "width": 115, "fontsize": 10},
    {"type": "textarea", "content": "organizer", "left": 15, "bottom": 203, "width": 115, "fontsize": 9},
    {"type": "barcodearea", "content": "secret", "left": 140, "bottom": 200, "size": 55},
]  # fmt: skip
"""What tickets look like while an event has no layout of its own (A4, the upper part of the page)."""


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return value == value and abs(value) < 1e6
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return False
        return number == number and abs(number) < 1e6
    return False


def layout_problems(layout: Any) -> list[str]:
    """Messages for the organizer about what is wrong with a layout (empty when it can be drawn)."""
    if not isinstance(layout, list):
        return ["Expected a list of layout elements."]
    if len(layout) > MAX_ELEMENTS:
        return [f"A layout may have at most {MAX_ELEMENTS} elements."]
    problems: list[str] = []
    for index, element in enumerate(layout, start=1):
        where = f"Element {index}"
        if not isinstance(element, Mapping):
            problems.append(f"{where}: expected an object.")
            continue
        if element.get("type") not in ELEMENT_TYPES:
            problems.append(f"{where}: type must be one of {', '.join(ELEMENT_TYPES)}.")
        for name in NUMBERS:
            if name in element and element[name] is not None and not _is_number(element[name]):
                problems.append(f"{where}: {name} must be a number.")
        page = element.get("page")
        if _is_number(page) and not 1 <= float(page) <= MAX_PAGE:
            problems.append(f"{where}: page must be between 1 and {MAX_PAGE}.")
        if "align" in element and element["align"] not in ALIGNMENTS:
            problems.append(f"{where}: align must be one of {', '.join(ALIGNMENTS)}.")
        color = element.get("color")
        if color is not None and not (
            isinstance(color, list) and 3 <= len(color) <= 4 and all(_is_number(part) for part in color)
        ):
            problems.append(f"{where}: color must be a list of three or four numbers (0-255).")
        for name in ("content", "text", "fontfamily"):
            if name in element and element[name] is not None and not isinstance(element[name], str):
                problems.append(f"{where}: {name} must be a text.")
        text_i18n = element.get("text_i18n")
        if text_i18n is not None and not (
            isinstance(text_i18n, Mapping) and all(isinstance(value, str) for value in text_i18n.values())
        ):
            problems.append(f"{where}: text_i18n must map languages to texts.")
        if element.get("barcode") not in (None, "qr", "code128"):
            problems.append(f"{where}: barcode must be qr or code128.")
    return problems
