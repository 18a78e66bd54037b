"""Base classes and value types that plugins subclass or return from their hooks.

This is the one public module plugin authors build on: every hook family in :mod:`boxoffice.hookspecs` that
hands objects to the kernel names its type here. The module deliberately imports nothing of the kernel at run
time, so a plugin can be imported (and unit-tested) without a database or a configured application; the kernel's
models appear only in type hints.

Event-scoped providers are instantiated by the kernel as ``Provider(event, settings)``. ``settings`` is any
object with ``get(key, default=None)`` and ``set(key, value)`` (see :class:`SettingsStore`); for payment
providers and ticket outputs it is a sandbox that already carries the provider's prefix, so a provider reads
``settings.get("_enabled")`` and never spells its own prefix.
"""

from __future__ import annotations

import abc
import builtins
import csv
import io
import json
import logging
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, Literal, NamedTuple, Protocol
from xml.sax.saxutils import escape as xml_escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pypdf import PdfWriter
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

    from boxoffice.kernel.models import Event, Organizer

logger = logging.getLogger(__name__)

GeneratedFile = tuple[str, str, bytes]
"""``(filename, content_type, content)``: what every output, exporter, renderer and shredder hands back."""

IDENTIFIER_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
"""Identifiers become settings prefixes, URL segments and registry keys, so they are restricted to
lowercase ASCII letters, digits and underscores (starting with a letter)."""


def _check_identifier(owner: object) -> None:
    """Refuse to build a provider whose identifier cannot serve as a key, prefix and URL segment.

    Done at instantiation rather than class creation so that intermediate abstract bases may leave
    ``identifier`` empty.
    """
    identifier = getattr(owner, "identifier", "")
    if not isinstance(identifier, str) or not IDENTIFIER_PATTERN.match(identifier):
        raise TypeError(
            f"{type(owner).__qualname__}.identifier must be lowercase letters, digits and underscores "
            f"starting with a letter, got {identifier!r}"
        )


# ---------------------------------------------------------------------------------------------------------------
# Shared value types
# ---------------------------------------------------------------------------------------------------------------


class ValidationFailure(Exception):
    """Refuse what a buyer, scanner or API client asked for, with a message meant for that person.

    The API turns it into a 400 response carrying ``message`` (under ``field`` when given), so the text must
    make sense to the end user and must not leak internals. ``field`` names the input the message is about,
    letting clients show it next to the right form field.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class SettingDefault:
    """Declare one setting a plugin relies on, so that it resolves and round-trips with the right type.

    ``key`` is global across plugins (prefix it with the plugin name) except inside a provider's
    ``settings_schema``, where it is relative to the provider's sandbox prefix. ``type`` is one of ``str``,
    ``int``, ``float``, ``bool``, ``Decimal``, ``dict``, ``list``, ``date``, ``datetime`` or ``time``: the kernel
    enforces it on write and restores it on read, because the store itself only holds text. ``public`` exposes
    the value through the event settings REST API; leave it off for secrets such as API keys. ``permission`` is
    the event permission a caller needs to change it through the API (payment keys need
    ``event.settings.payment:write``, invoicing keys ``event.settings.invoicing:write`` …).
    """

    key: str
    default: Any
    type: builtins.type = str
    public: bool = False
    description: str = ""
    permission: str = "event.settings.general:write"


class JobFailed(RuntimeError):
    """Raise inside a job to fail it with a message meant for the user (the async API shows it as-is)."""


@dataclass(frozen=True)
class JobDefinition:
    """Register a background job under a name, so it can be enqueued by name from any process.

    ``function`` is called as ``function(context, **kwargs)`` with a :class:`JobContext` and the JSON keyword
    arguments given to ``enqueue`` — keep them JSON (primary keys, not objects) because they cross a broker.
    ``queue`` lets operators route slow jobs to dedicated workers. With ``every_seconds`` set the scheduler also
    runs the job periodically without arguments.
    """

    name: str
    function: Callable[..., Any]
    queue: str = "default"
    every_seconds: int | None = None


class JobContext(Protocol):
    """What a running job receives from the kernel instead of importing application state itself.

    Jobs run in a worker that has no request, so everything environmental arrives through this object.
    """

    job_id: str
    """Identifies the job record, e.g. to build a result URL or correlate log lines."""

    def session(self) -> AbstractContextManager[Session]:
        """Open a unit of work that commits on a clean exit and rolls back on an exception.

        Jobs should keep units short: a long transaction holds locks that the web process may need.
        """
        ...

    def progress(self, percent: int) -> None:
        """Record how far the job is (0 to 100), which API clients polling the job can show."""
        ...

    def settings_for(self, event: Any) -> Any:
        """Return the resolved settings of an event, since jobs get primary keys rather than live objects."""
        ...

    @property
    def kernel(self) -> Any:
        """The kernel of the process running the job, for the helpers plugins may use on it (``jobs``,
        ``settings_for``, ``log_action``, ``provider_step``)."""
        ...


FeeType = Literal["payment", "service", "shipping", "cancellation", "insurance", "late", "other", "giftcard"]
FEE_TYPES: tuple[str, ...] = (
    "payment",
    "service",
    "shipping",
    "cancellation",
    "insurance",
    "late",
    "other",
    "giftcard",
)


@dataclass(frozen=True)
class FeeLine:
    """One extra fee a plugin wants added to an order (returned from ``order_fee_calculation``).

    ``fee_type`` is one of :data:`FEE_TYPES`; it becomes the fee's ``fee_type`` in the REST API, which
    accounting exports group by. ``internal_type`` is a free-form sub-type for the plugin to find its own fees
    again. ``tax_rule_id`` selects the tax rule; ``None`` lets the kernel apply the event's default fee tax.
    """

    fee_type: str
    value: Decimal
    description: str = ""
    internal_type: str = ""
    tax_rule_id: int | None = None

    def __post_init__(self) -> None:
        # An unknown fee type would silently vanish from grouped reports, so it is refused at creation.
        if self.fee_type not in FEE_TYPES:
            raise ValueError(f"fee_type must be one of {', '.join(FEE_TYPES)}, got {self.fee_type!r}")


class SettingsStore(Protocol):
    """The minimal settings interface providers depend on (the kernel passes a prefixed sandbox).

    Kept this small so tests can pass a dict-backed stand-in.
    """

    def get(self, key: str, default: Any = None) -> Any:
        """Return the stored value for ``key`` or ``default`` when nothing is stored."""
        ...

    def set(self, key: str, value: Any) -> None:
        """Store ``value`` for ``key``."""
        ...


# ---------------------------------------------------------------------------------------------------------------
# Value coercion: settings may come back as text when a key was never declared with a type.
# ---------------------------------------------------------------------------------------------------------------

_TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
_FALSE_WORDS = frozenset({"false", "0", "no", "off", ""})


def _to_bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return value != 0
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise ValueError(f"not a boolean: {value!r}")


def _to_decimal(value: Any) -> Decimal | None:
    """Return ``None`` for "not configured" (``None`` or empty text) so callers can skip a check."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def _to_date(value: Any) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            return datetime.fromisoformat(text).date()
    raise ValueError(f"not a date: {value!r}")


def _to_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return list(value)


# ---------------------------------------------------------------------------------------------------------------
# Payments
# ---------------------------------------------------------------------------------------------------------------


class PaymentException(Exception):
    """A payment or refund step failed in a way the buyer or organizer should be told about.

    The kernel shows ``message`` to the person who triggered the step and keeps the payment or refund in a
    failed state instead of crashing the request, so the text should say what happened and what to try next.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PaymentProvider(abc.ABC):
    """Base for payment methods (bank transfer, card processors, …).

    One instance serves one event; the kernel builds it with the event and a settings sandbox prefixed
    ``payment_<identifier>_``. A provider works on payment and refund *attempts* (one row per attempt with its
    own amount and state), never on whole orders, so partial payments and refunds stay possible.
    """

    identifier: ClassVar[str] = ""
    """Unique across all plugins; becomes the settings prefix and the ``provider`` value in the REST API."""

    priority: ClassVar[int] = 100
    """Ordering among methods offered at checkout; higher comes first (so a preferred method can lead)."""

    is_implicit: ClassVar[bool] = False
    """True for methods used without the buyer choosing them (e.g. free orders), so checkout skips the choice."""

    abort_pending_allowed: ClassVar[bool] = False
    """Whether a buyer may give up a *pending* payment and retry or switch method.

    Off by default because a pending attempt may still succeed at the processor; allowing an abort then risks
    the buyer paying twice.
    """

    def __init__(self, event: Event, settings: SettingsStore) -> None:
        _check_identifier(self)
        self.event = event
        self.settings = settings

    @property
    @abc.abstractmethod
    def verbose_name(self) -> str:
        """Name shown to organizers in the backend, where several configurations of one processor may need to
        be told apart."""
        raise NotImplementedError

    @property
    def public_name(self) -> str:
        """Name shown to buyers; defaults to :attr:`verbose_name` because most methods need no separate one."""
        return self.verbose_name

    @property
    def is_enabled(self) -> bool:
        """Whether the organizer switched this method on (setting ``_enabled``, off by default so that merely
        installing a plugin never exposes an unconfigured method to buyers)."""
        return _to_bool(self.settings.get("_enabled", False), False)

    @property
    def settings_schema(self) -> dict[str, SettingDefault]:
        """The settings this provider understands, keyed by their name *relative to the sandbox prefix*.

        The kernel uses it to validate, type and document provider settings. Subclasses extend it with
        ``{**super().settings_schema, "_api_key": SettingDefault(...)}`` so the common keys stay available.
        """
        entries = (
            SettingDefault("_enabled", False, bool, description="Offer this payment method."),
            SettingDefault("_fee_abs", Decimal("0.00"), Decimal, description="Fixed fee added per payment."),
            SettingDefault("_fee_percent", Decimal("0"), Decimal, description="Fee in percent of the amount."),
            SettingDefault(
                "_fee_reverse_calc",
                True,
                bool,
                description="Raise the fee so that the organizer still receives the full amount after the "
                "processor deducted its percentage.",
            ),
            SettingDefault("_total_min", None, Decimal, description="Smallest order total this method accepts."),
            SettingDefault("_total_max", None, Decimal, description="Largest order total this method accepts."),
            SettingDefault("_availability_date", None, date, description="Last day this method is offered."),
            SettingDefault(
                "_restricted_countries",
                [],
                list,
                description="ISO country codes of invoice addresses allowed to use this method; empty for all.",
            ),
        )
        return {entry.key: entry for entry in entries}

    def is_allowed(self, total: Decimal, country: str | None = None, now: datetime | None = None) -> bool:
        """Decide whether the method may be offered for an order of ``total`` with an address in ``country``.

        Applies the organizer's restrictions: minimum and maximum total (both inclusive), the last day of
        availability (compared in the event's time zone, because organizers think in local dates), and the
        country allow-list. With a country allow-list but no known country the method is refused, since the
        restriction usually exists for legal or processor reasons that cannot be verified without an address.
        Override to add processor-specific limits, calling ``super()`` to keep these.
        """
        total_min = _to_decimal(self.settings.get("_total_min"))
        if total_min is not None and total < total_min:
            return False
        total_max = _to_decimal(self.settings.get("_total_max"))
        if total_max is not None and total > total_max:
            return False

        last_day = _to_date(self.settings.get("_availability_date"))
        if last_day is not None and self._local_today(now) > last_day:
            return False

        countries = {str(code).strip().upper() for code in _to_list(self.settings.get("_restricted_countries"))}
        return not countries or (country is not None and country.strip().upper() in countries)

    def _local_today(self, now: datetime | None) -> date:
        """Today's date where the event takes place; naive ``now`` values are taken as already local."""
        moment = now if now is not None else datetime.now(UTC)
        tz_name = getattr(self.event, "timezone", None)
        if moment.tzinfo is not None and isinstance(tz_name, str) and tz_name:
            try:
                moment = moment.astimezone(ZoneInfo(tz_name))
            except ZoneInfoNotFoundError:
                logger.warning("event time zone %r unknown, comparing availability in UTC", tz_name)
        return moment.date()

    def calculate_fee(self, price: Decimal, currency_places: int = 2) -> Decimal:
        """Return the payment fee for paying ``price`` with this method, rounded to the currency.

        The fee is ``_fee_abs`` plus ``_fee_percent`` percent. With ``_fee_reverse_calc`` (the default) the
        buyer carries the processor's cut fully: the percentage is applied to the amount *including* the fee,
        i.e. ``fee = (price + fee_abs) / (1 - percent/100) - price``, so that once the processor keeps its
        percentage of what the buyer paid, ``price + fee_abs`` is left — the organizer ends up with ``price``
        after the fixed part too. Without it the percentage is simply taken of ``price``. Rounding is half-up
        once at the end (commercial rounding, what buyers and accountants expect), to ``currency_places``
        decimals (0 for currencies such as JPY).
        """
        fee_abs = _to_decimal(self.settings.get("_fee_abs")) or Decimal(0)
        fee_percent = _to_decimal(self.settings.get("_fee_percent")) or Decimal(0)
        reverse = _to_bool(self.settings.get("_fee_reverse_calc", True), True)
        quantum = Decimal(1).scaleb(-currency_places)
        if not fee_percent:
            fee = fee_abs
        elif reverse:
            if fee_percent >= 100:
                raise ValueError("a reverse-calculated fee needs a percentage below 100")
            fee = (price + fee_abs) / (1 - fee_percent / 100) - price
        else:
            fee = price * fee_percent / 100 + fee_abs
        return fee.quantize(quantum, rounding=ROUND_HALF_UP)

    def checkout_prepare(self, order_data: Mapping[str, Any]) -> bool | str:
        """Run this method's step of checkout before the order is placed; it must not move money yet.

        Return ``True`` to continue, ``False`` to keep the buyer on the payment step (e.g. missing input), or a
        URL to redirect the buyer to (e.g. a processor's tokenisation page that returns to a plugin view).
        The default needs nothing from the buyer.
        """
        return True

    @abc.abstractmethod
    def execute_payment(self, payment: Any) -> str | None:
        """Try to collect ``payment`` (a pending attempt) once the order exists.

        Return a URL to send the buyer to (e.g. 3-D Secure or a hosted page) or ``None`` when done for now.
        Confirm the payment when money is certain; raise :class:`PaymentException` on failure so the buyer
        sees why and can retry.
        """
        raise NotImplementedError

    def payment_pending_instructions(self, payment: Any) -> str:
        """Text telling the buyer how to finish a pending payment (e.g. bank details and reference).

        Shown on the order page and in the pending-payment e-mail; empty means there is nothing to do but wait.
        """
        return ""

    def payment_refund_supported(self, payment: Any) -> bool:
        """Whether the processor can send the full amount of ``payment`` back *automatically*.

        Off by default: only claim it when :meth:`execute_refund` really moves money, otherwise organizers
        believe a refund happened that did not.
        """
        return False

    def payment_partial_refund_supported(self, payment: Any) -> bool:
        """Like :meth:`payment_refund_supported` for a part of the amount; many processors differ here."""
        return False

    def execute_refund(self, refund: Any) -> None:
        """Send the money of ``refund`` (an attempt in state ``created``) back and mark it done.

        Only called when one of the ``*_refund_supported`` predicates said yes; the default therefore refuses
        with a :class:`PaymentException` so a misconfigured call never looks like a successful refund.
        """
        raise PaymentException(f"{self.verbose_name} cannot send refunds automatically; refund manually instead.")

    def confirm(self, payment: Any, amount: Decimal | None = None) -> None:
        """Report from inside :meth:`execute_payment` (or a ``kernel.provider_step``) that the money of ``payment``
        is certain: the kernel confirms it in the unit of work running the step, and the order becomes paid when it
        is now covered. ``amount`` is what actually arrived when it differs from what the attempt asked for (a bank
        transfer of another sum); the payment then records that amount."""
        # The orders engine is loaded only when a provider step runs, never when a plugin is imported.
        from boxoffice.kernel.orders.payments import mark_confirmed

        mark_confirmed(payment, amount=amount)

    def record_received(
        self, order: Any, amount: Decimal, *, payment_date: datetime | None = None, info: dict[str, Any] | None = None
    ) -> Any:
        """Report from inside a ``kernel.provider_step`` that ``amount`` arrived for ``order`` through this method
        without an open attempt to confirm (a second partial transfer, a buyer who chose another method but paid
        this way). The kernel adds a confirmed payment of this provider (the order becomes paid when now covered)
        and returns it. Raises the kernel's order error when the order cannot take it (e.g. an expired order whose
        quota is gone)."""
        from boxoffice.kernel.orders.payments import mark_received

        return mark_received(order, self.identifier, Decimal(amount), payment_date=payment_date, info=info)

    def refund_sent(self, refund: Any) -> None:
        """Report from inside :meth:`execute_refund` that the money of ``refund`` was sent back."""
        from boxoffice.kernel.orders.payments import mark_refund_done

        mark_refund_done(refund)

    def api_payment_details(self, payment: Any) -> dict[str, Any]:
        """Provider-specific facts exposed as the payment's ``details`` in the REST API (e.g. card brand).

        Must be JSON and must not contain secrets: API clients with read access see it.
        """
        return {}

    def matching_id(self, payment: Any) -> str | None:
        """The processor's transaction id, used to reconcile statements and webhooks with payments."""
        return None

    def shred_payment_info(self, obj: Any) -> None:
        """Remove personal data kept in a payment's or refund's ``info`` when an event's data is shredded.

        The default empties ``info`` (keeping its JSON text or dict form), which is correct for providers that
        store nothing needed for accounting; override to keep non-personal facts such as amounts or ids.
        """
        if not hasattr(obj, "info"):
            return
        obj.info = "{}" if isinstance(obj.info, str) else {}

    def cancel_payment(self, payment: Any) -> None:
        """Void ``payment`` at the processor before the kernel marks it canceled.

        The default has nothing to void (no authorisation was reserved). Raise :class:`PaymentException` when
        the processor refuses, so the kernel keeps the payment's state instead of hiding a live charge.
        """
        return None


# ---------------------------------------------------------------------------------------------------------------
# Ticket outputs
# ---------------------------------------------------------------------------------------------------------------


def _unique_name(name: str, taken: set[str]) -> str:
    """Avoid silently overwriting a file in an archive when two positions produce the same filename."""
    if name not in taken:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    counter = 2
    while True:
        candidate = f"{stem}-{counter}.{ext}" if dot else f"{stem}-{counter}"
        if candidate not in taken:
            return candidate
        counter += 1


def _is_pdf(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/pdf"


class TemplateRenderer(Protocol):
    """Renders texts with ``{placeholders}`` for one event (the kernel passes its renderer to ticket outputs)."""

    def render(self, template: str, context: Mapping[str, Any] | None = None) -> str:
        """``template`` with the placeholders usable in ``context`` (``position``, ``order`` …) filled in."""
        ...

    def sample(self, template: str) -> str:
        """``template`` with every placeholder's sample value, for previews."""
        ...


class _LiteralTexts:
    """Used when no renderer is given (a provider built outside the kernel): texts stay as written."""

    def render(self, template: str, context: Mapping[str, Any] | None = None) -> str:
        return template

    def sample(self, template: str) -> str:
        return template


BatchEntry = tuple[Any, Mapping[str, Any]]
"""One ticket of a batch: the order position and per-ticket options (e.g. ``override_layout``)."""


class TicketOutput(abc.ABC):
    """Base for downloadable ticket formats (PDF, wallet passes, …).

    Built with the event, a settings sandbox prefixed ``ticketoutput_<identifier>_`` and ``texts``, the kernel's
    :class:`TemplateRenderer` for the event (placeholders in layouts). ``identifier`` becomes the ``output`` of the
    REST ``downloads`` lists and the last segment of ``…/download/<output>/``.
    """

    identifier: ClassVar[str] = ""
    """Unique output name; part of download URLs, so it must never change once tickets were sent out."""

    multi_download_enabled: ClassVar[bool] = True
    """Whether :meth:`generate_order` may be offered (one file for all tickets of an order)."""

    preview_allowed: ClassVar[bool] = True
    """Whether organizers may render a sample ticket; turn off for outputs that need real order data."""

    def __init__(self, event: Event, settings: SettingsStore, texts: TemplateRenderer | None = None) -> None:
        _check_identifier(self)
        self.event = event
        self.settings = settings
        self.texts: TemplateRenderer = texts if texts is not None else _LiteralTexts()

    @property
    @abc.abstractmethod
    def verbose_name(self) -> str:
        """Name of the format shown to organizers and in the buyer's download button."""
        raise NotImplementedError

    @property
    def download_button_text(self) -> str:
        """Label of the buyer's download button; override when the format name alone would be unclear."""
        return f"Download ({self.verbose_name})"

    @property
    def is_enabled(self) -> bool:
        """Whether buyers get this format (setting ``_enabled``; on by default, because an output plugin is
        usually installed precisely to be used)."""
        return _to_bool(self.settings.get("_enabled", True), True)

    @abc.abstractmethod
    def generate(self, position: Any) -> GeneratedFile:
        """Render the ticket of one order position as ``(filename, content_type, bytes)``."""
        raise NotImplementedError

    def generate_order(self, order: Any) -> GeneratedFile:
        """Render all tickets of ``order`` (read from ``order.positions``) as one download.

        When every position renders to a PDF, the files are joined into ``<order code>.pdf`` so buyers can
        print once; any other mix is packed into ``<order code>.zip``, because unrelated formats cannot be
        merged. Override when the format can bundle natively (e.g. a wallet pass bundle).
        """
        if not self.multi_download_enabled:
            raise NotImplementedError(f"{type(self).__qualname__} renders tickets per position only")
        files = [self.generate(position) for position in order.positions]
        if not files:
            raise ValueError(f"order {order.code} has no positions to render")

        if all(_is_pdf(content_type) for _, content_type, _ in files):
            writer = PdfWriter()
            for _, _, content in files:
                writer.append(io.BytesIO(content))
            buffer = io.BytesIO()
            writer.write(buffer)
            writer.close()
            return f"{order.code}.pdf", "application/pdf", buffer.getvalue()

        buffer = io.BytesIO()
        taken: set[str] = set()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for filename, _, content in files:
                name = _unique_name(filename, taken)
                taken.add(name)
                archive.writestr(name, content)
        return f"{order.code}.zip", "application/zip", buffer.getvalue()

    def cache_marker(self) -> str:
        """Anything besides the order that a generated file depends on (e.g. the layouts' last change).

        The kernel keeps generated files until the order or this marker changes; the default says nothing else
        matters.
        """
        return ""

    def generate_batch(
        self, entries: Iterable[BatchEntry], target: BinaryIO, progress: Callable[[int], None] | None = None
    ) -> None:
        """Write the tickets of many positions as one PDF to ``target`` (bulk printing); ``progress(done)`` after
        each ticket.

        The default renders each ticket with :meth:`generate` (options are ignored) and joins the files with the
        kernel's streaming PDF concatenation, so memory stays flat; override to render a batch natively faster.
        Outputs that do not produce PDFs cannot be batched.
        """
        # Loaded only when a batch runs, never when a plugin is imported.
        from boxoffice.kernel.pdfs import PdfConcatenator

        with PdfConcatenator(target) as joined:
            for done, (position, _options) in enumerate(entries, start=1):
                _, content_type, content = self.generate(position)
                if not _is_pdf(content_type):
                    raise ValueError(f"{type(self).__qualname__} does not produce PDFs and cannot render batches")
                joined.append(io.BytesIO(content))
                if progress is not None:
                    progress(done)


# ---------------------------------------------------------------------------------------------------------------
# Exporters
# ---------------------------------------------------------------------------------------------------------------

PARAMETER_TYPES: tuple[str, ...] = ("string", "integer", "number", "boolean", "date", "datetime", "list")
"""Types an exporter input may declare; all are JSON-representable because exports run as background jobs."""


def _choice_values(choices: Iterable[Any]) -> list[Any]:
    """Accept plain values or ``(value, label)`` pairs, so a choices list can double as UI labels."""
    return [choice[0] if isinstance(choice, list | tuple) and len(choice) == 2 else choice for choice in choices]


def _coerce_parameter(name: str, kind: str, value: Any) -> Any:
    """Convert one JSON input to its declared type; accepts already-converted values so validation is
    idempotent (the job re-validates what the API accepted)."""
    try:
        if kind == "string":
            if not isinstance(value, str):
                raise ValueError("Enter a text value.")
            return value
        if kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise ValueError("Enter a whole number.")
            return int(value)
        if kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
                raise ValueError("Enter a number.")
            number = _to_decimal(value)
            if number is None:
                raise ValueError("Enter a number.")
            return number
        if kind == "boolean":
            return _to_bool(value, False)
        if kind == "date":
            if isinstance(value, datetime) or not isinstance(value, date | str):
                raise ValueError("Enter a date (YYYY-MM-DD).")
            return value if isinstance(value, date) else date.fromisoformat(value.strip())
        if kind == "datetime":
            if not isinstance(value, datetime | str):
                raise ValueError("Enter a date and time (ISO 8601).")
            return value if isinstance(value, datetime) else datetime.fromisoformat(value.strip())
        if kind == "list":
            if not isinstance(value, list | tuple):
                raise ValueError("Enter a list of values.")
            return list(value)
    except ValueError as exc:
        message = str(exc) if str(exc).startswith("Enter") else f"Not a valid {kind} value."
        raise ValidationFailure(message, field=name) from exc
    raise TypeError(f"input parameter {name!r} declares unknown type {kind!r}; use one of {PARAMETER_TYPES}")


class Exporter(abc.ABC):
    """Base for exports of one event: reports and data files produced as a background job.

    Instantiated with the event (and, when the kernel has one, a settings object). Inputs arrive as JSON
    because the export runs later in a worker; declare them in :attr:`input_parameters` so the REST API can
    list and check them before a job is queued.
    """

    identifier: ClassVar[str] = ""
    """Unique name in the exporters API (``…/exporters/<identifier>/run/``) and in scheduled exports."""

    category: ClassVar[str] = ""
    """Heading the export is grouped under in listings (e.g. "Order data"); empty for "other"."""

    description: ClassVar[str] = ""
    """One or two sentences telling organizers what the file contains."""

    input_parameters: ClassVar[dict[str, dict[str, Any]]] = {}
    """Inputs by name, each ``{"type", "required", "default", "choices"}`` (all optional).

    ``type`` is one of :data:`PARAMETER_TYPES` (``"string"`` when omitted); ``required`` defaults to False;
    ``default`` fills an omitted optional input; ``choices`` restricts values (each element for ``list``).
    """

    def __init__(self, event: Event, settings: SettingsStore | None = None) -> None:
        _check_identifier(self)
        self.event: Event | None = event
        self.settings = settings

    @property
    @abc.abstractmethod
    def verbose_name(self) -> str:
        """Title of the export in listings and the REST API."""
        raise NotImplementedError

    def validate_parameters(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Check JSON inputs against :attr:`input_parameters` and return them converted and completed.

        Raises :class:`ValidationFailure` naming the offending input, so the API can answer 400 before a job
        is queued rather than failing later in a worker. Unknown inputs are refused too: a misspelt option
        would otherwise be silently ignored and produce a subtly wrong file. Converted values are accepted
        again unchanged, so the job may safely validate a second time.
        """
        declared = self.input_parameters
        unknown = sorted(set(params) - set(declared))
        if unknown:
            raise ValidationFailure("Unknown input parameter.", field=unknown[0])
        cleaned: dict[str, Any] = {}
        for name, spec in declared.items():
            kind = spec.get("type", "string")
            required = bool(spec.get("required", False))
            value = params.get(name)
            # An empty text counts as "not given" unless it is a legitimate value of an optional string input.
            if value is None or (value == "" and (kind != "string" or required)):
                if required:
                    raise ValidationFailure("This input is required.", field=name)
                cleaned[name] = spec.get("default")
                continue
            value = _coerce_parameter(name, kind, value)
            choices = spec.get("choices")
            if choices is not None:
                allowed = _choice_values(choices)
                items = value if kind == "list" else [value]
                for item in items:
                    if item not in allowed:
                        raise ValidationFailure(f"{item!r} is not one of the available choices.", field=name)
            cleaned[name] = value
        return cleaned

    @abc.abstractmethod
    def render(self, params: Mapping[str, Any], progress: Callable[[int], None]) -> GeneratedFile:
        """Produce the export as ``(filename, content_type, bytes)``.

        ``params`` are the inputs as stored for the job (JSON again, even though the API already accepted
        them), so call :meth:`validate_parameters` to get typed values. Call ``progress(percent)`` now and then
        so clients polling the job see it advance.
        """
        raise NotImplementedError

    def write(self, params: Mapping[str, Any], target: BinaryIO, progress: Callable[[int], None]) -> tuple[str, str]:
        """Write the export into the binary file ``target`` and return ``(filename, content_type)``.

        The kernel's export job calls this, not :meth:`render`, so an exporter that overrides it streams its file
        to disk with constant memory however many orders it covers. The default writes what :meth:`render`
        returns, which is fine for small files.
        """
        filename, content_type, content = self.render(params, progress)
        target.write(content)
        return filename, content_type


class OrganizerExporter(Exporter):
    """Base for exports across several events of one organizer.

    Built with the organizer and the events the requesting user may see; ``event`` is ``None`` so shared
    helpers can tell the two kinds apart. Combine with :class:`ListExporter` as
    ``class MyExport(ListExporter, OrganizerExporter)``.
    """

    def __init__(self, organizer: Organizer, events: Iterable[Event], settings: SettingsStore | None = None) -> None:
        _check_identifier(self)
        self.organizer = organizer
        self.events: list[Event] = list(events)
        self.event = None
        self.settings = settings


class ProgressTotal(NamedTuple):
    """Yield this from :meth:`ListExporter.iterate_rows` (before the rows) to announce how many rows follow.

    It lets the exporter report real percentages; without it only start and end are reported.
    """

    total: int


LIST_FORMATS: dict[str, str] = {
    "default": "CSV, comma-separated, UTF-8",
    "semicolon": "CSV, semicolon-separated, UTF-8 (for spreadsheets in locales that use a decimal comma)",
    "csv-excel": "CSV for Microsoft Excel: comma-separated, UTF-8 with byte-order mark, formula-safe cells",
    "xlsx": "Excel workbook (one sheet, header row frozen, formula-safe cells), written row by row",
    "json": "JSON array with one object per row, keyed by the header cells",
    "pdf": "PDF table, landscape A4, header repeated on every page (for printing)",
}
"""The ``_format`` choices of :class:`ListExporter` with what each produces."""

_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


class ListExporter(Exporter):
    """Helper base for exports that are one table: subclasses only yield rows, this class writes the file.

    :meth:`iterate_rows` yields the header row first, then data rows (optionally preceded by a
    :class:`ProgressTotal`). The ``_format`` input picks the CSV flavour (see :data:`LIST_FORMATS`):

    * ``default`` — comma-separated UTF-8 without byte-order mark, for programs and scripts;
    * ``semicolon`` — the same with semicolons, because spreadsheet programs in decimal-comma locales split on
      semicolons;
    * ``csv-excel`` — comma-separated (Excel's own ``excel`` dialect) with a UTF-8 byte-order mark, without which
      Excel guesses a legacy encoding and garbles non-ASCII names; cells starting with ``= + - @`` get a leading
      apostrophe so buyer-supplied text cannot run as a spreadsheet formula.

    ``_format`` is merged into every subclass's :attr:`input_parameters` automatically, so subclasses declare only
    their own inputs.
    """

    format_parameter: ClassVar[dict[str, Any]] = {
        "type": "string",
        "required": False,
        "default": "default",
        "choices": list(LIST_FORMATS),
    }
    input_parameters: ClassVar[dict[str, dict[str, Any]]] = {"_format": format_parameter}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = cls.__dict__.get("input_parameters")
        if isinstance(declared, dict) and "_format" not in declared:
            cls.input_parameters = {"_format": cls.format_parameter, **declared}

    @abc.abstractmethod
    def iterate_rows(self, params: dict[str, Any]) -> Iterable[Sequence[Any] | ProgressTotal]:
        """Yield the header row, then each data row; ``params`` are already validated.

        Use a generator so large exports stream instead of being built in memory first.
        """
        raise NotImplementedError

    def filename_stem(self, params: dict[str, Any]) -> str:
        """Base name of the file; prefixed with the event or organizer slug so downloads stay distinguishable."""
        owner = self.event if self.event is not None else getattr(self, "organizer", None)
        slug = getattr(owner, "slug", None)
        return f"{slug}_{self.identifier}" if slug else self.identifier

    @staticmethod
    def _cell(value: Any, formula_safe: bool) -> Any:
        if value is None:
            return ""
        if isinstance(value, datetime | date | time):
            return value.isoformat()
        if formula_safe and isinstance(value, str) and value.startswith(_FORMULA_TRIGGERS):
            return "'" + value
        return value

    def _stream(self, cleaned: dict[str, Any], progress: Callable[[int], None]) -> Iterator[Sequence[Any]]:
        """The rows (header first) as they are produced, reporting progress per percent gained."""
        progress(0)
        last_percent = 0
        count = 0
        total: int | None = None
        for row in self.iterate_rows(cleaned):
            if isinstance(row, ProgressTotal):
                total = row.total
                continue
            count += 1
            yield row
            if total:
                # The header counts as a row here; clamp so an underestimated total never reports past 99.
                percent = min(99, count * 100 // (total + 1))
                if percent > last_percent:
                    last_percent = percent
                    progress(percent)

    def render(self, params: Mapping[str, Any], progress: Callable[[int], None]) -> GeneratedFile:
        """The whole file in memory; see :meth:`write` for the formats."""
        buffer = io.BytesIO()
        filename, content_type = self.write(params, buffer, progress)
        return filename, content_type, buffer.getvalue()

    def write(self, params: Mapping[str, Any], target: BinaryIO, progress: Callable[[int], None]) -> tuple[str, str]:
        """Stream the rows into ``target`` in the requested ``_format`` (see :data:`LIST_FORMATS`).

        Every format but ``pdf`` (whose page layout needs the whole table) keeps only one row in memory.
        """
        cleaned = self.validate_parameters(params)
        fmt = cleaned.get("_format") or "default"
        if fmt not in LIST_FORMATS:
            raise ValidationFailure(f"{fmt!r} is not one of the available choices.", field="_format")
        stem = self.filename_stem(cleaned)
        rows = self._stream(cleaned, progress)
        if fmt == "pdf":
            target.write(_pdf_table(str(self.verbose_name), [[self._cell(v, False) for v in row] for row in rows]))
            result = f"{stem}.pdf", "application/pdf"
        elif fmt == "xlsx":
            _xlsx_table(str(self.verbose_name), rows, target)
            result = f"{stem}.xlsx", XLSX_CONTENT_TYPE
        elif fmt == "json":
            _json_table(rows, target)
            result = f"{stem}.json", "application/json"
        else:
            text = io.TextIOWrapper(target, encoding="utf-8-sig" if fmt == "csv-excel" else "utf-8", newline="")
            writer = csv.writer(
                text, delimiter=";" if fmt == "semicolon" else ",", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL
            )
            formula_safe = fmt == "csv-excel"
            for row in rows:
                writer.writerow([self._cell(value, formula_safe) for value in row])
            text.flush()
            text.detach()
            result = f"{stem}.csv", "text/csv; charset=utf-8"
        progress(100)
        return result


XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        # Excel has no time zones: show the moment as UTC wall time.
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, bool | int | float | Decimal | date | time):
        return value
    text = str(value)
    # openpyxl stores any text starting with "=" as a formula; buyer-supplied text must stay text.
    return "'" + text if text.startswith(_FORMULA_TRIGGERS) else text


def _xlsx_table(title: str, rows: Iterable[Sequence[Any]], target: BinaryIO) -> None:
    """One sheet written in openpyxl's write-only mode, which spools rows to disk instead of keeping them."""
    from openpyxl import Workbook  # imported here: only exports need it, and it takes a while to import

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=re.sub(r"[\\/?*\[\]:]", " ", title)[:31] or "Export")
    sheet.freeze_panes = "A2"
    for row in rows:
        sheet.append([_xlsx_value(value) for value in row])
    workbook.save(target)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _json_table(rows: Iterable[Sequence[Any]], target: BinaryIO) -> None:
    """A JSON array of objects keyed by the header row, written one object at a time."""
    iterator = iter(rows)
    header = [str(cell) for cell in next(iterator, ())]
    target.write(b"[")
    for index, row in enumerate(iterator):
        item = {name: _json_value(value) for name, value in zip(header, row, strict=False)}
        target.write((b",\n" if index else b"\n") + json.dumps(item, ensure_ascii=False, default=str).encode())
    target.write(b"\n]\n")


def _pdf_table(title: str, rows: list[list[Any]]) -> bytes:
    """A printable table: landscape A4, cells wrap, the header row repeats on every page."""
    styles = getSampleStyleSheet()
    cell_style = ParagraphStyle("cell", parent=styles["BodyText"], fontSize=7, leading=8.5)
    header_style = ParagraphStyle("header", parent=cell_style, fontName="Helvetica-Bold")
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=landscape(A4), leftMargin=28, rightMargin=28, topMargin=28, bottomMargin=28, title=title
    )
    columns = max((len(row) for row in rows), default=1)
    width = document.width / columns
    data = [
        [Paragraph(xml_escape(str(value)), header_style if index == 0 else cell_style) for value in row]
        + [""] * (columns - len(row))
        for index, row in enumerate(rows)
    ]
    table = Table(data or [[""]], colWidths=[width] * columns, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    document.build([Paragraph(xml_escape(title), styles["Heading2"]), table])
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------------------------
# Text placeholders
# ---------------------------------------------------------------------------------------------------------------

PLACEHOLDER_PATTERN = re.compile(r"\{([A-Za-z0-9_][A-Za-z0-9_.\-]*)\}")
"""What counts as ``{placeholder}`` in texts: a brace-wrapped name without spaces.

A regex instead of ``str.format`` because organizer texts contain arbitrary braces (CSS, JSON snippets) that
must survive untouched.
"""

PLACEHOLDER_ERROR = "(error)"
"""Rendered in place of a placeholder that raised, so one broken plugin cannot block an e-mail."""


class TextPlaceholder(abc.ABC):
    """Base for ``{name}`` values in e-mail texts, PDF layouts and other configurable texts.

    A text is rendered in a context (an order e-mail has ``order``, a waiting-list mail has
    ``waiting_list_entry``, …); a placeholder lists the context keys it needs in :attr:`required_context` and is
    offered only where all of them exist, which keeps organizers from using values that cannot be filled.
    """

    identifier: str = ""
    """The name used in texts as ``{identifier}``; letters, digits, ``_``, ``.`` and ``-``."""

    required_context: tuple[str, ...] = ("event",)
    """Context keys :meth:`render` needs (``event``, ``order``, ``position``, ``invoice_address``, ``payment`` …)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        identifier = cls.__dict__.get("identifier")
        if isinstance(identifier, str) and not PLACEHOLDER_PATTERN.fullmatch("{" + identifier + "}"):
            raise TypeError(f"{cls.__qualname__}.identifier {identifier!r} cannot be written as a placeholder")

    @abc.abstractmethod
    def render(self, context: Mapping[str, Any]) -> str:
        """Return the plain-text value; ``context`` holds at least the keys of :attr:`required_context`."""
        raise NotImplementedError

    @abc.abstractmethod
    def render_sample(self, event: Any) -> str:
        """Return an example value for previews, where no order or position exists — only the event."""
        raise NotImplementedError


class SimpleTextPlaceholder(TextPlaceholder):
    """A placeholder from a function, for the common case that needs no class of its own.

    ``function`` receives the context values of ``required_context`` positionally, in that order (e.g.
    ``SimpleTextPlaceholder("code", ("order",), lambda order: order.code, "F8VVL")``). ``sample`` is a fixed
    preview text or a callable taking the event, for samples that depend on event data.
    """

    def __init__(
        self,
        identifier: str,
        required_context: Sequence[str],
        function: Callable[..., Any],
        sample: str | Callable[[Any], Any],
    ) -> None:
        if not PLACEHOLDER_PATTERN.fullmatch("{" + identifier + "}"):
            raise ValueError(f"{identifier!r} cannot be written as a placeholder")
        self.identifier = identifier
        self.required_context = tuple(required_context)
        self.function = function
        self.sample = sample

    def render(self, context: Mapping[str, Any]) -> str:
        """Call the function with the required context values; ``None`` renders as empty text."""
        value = self.function(*(context[key] for key in self.required_context))
        return "" if value is None else str(value)

    def render_sample(self, event: Any) -> str:
        """Return the fixed sample, or call it with the event when it is callable."""
        value = self.sample(event) if callable(self.sample) else self.sample
        return "" if value is None else str(value)


def render_placeholders(text: str, placeholders: Iterable[TextPlaceholder], context: Mapping[str, Any]) -> str:
    """Replace ``{identifier}`` in ``text`` with the values of the placeholders usable in ``context``.

    * Only placeholders whose :attr:`~TextPlaceholder.required_context` keys are all in ``context`` are used;
      others stay literal, exactly like unknown ``{names}``, so a text never shows half-filled data.
    * Each placeholder renders at most once per call (values may cost a query and repeat in a text); when two
      share an identifier, the first one passed wins.
    * A placeholder that raises is logged and shows :data:`PLACEHOLDER_ERROR`, because losing one value is better
      than failing the whole e-mail.
    * Braces are otherwise left alone: ``{{`` and ``}}`` are not escapes, and a brace-wrapped name inside them
      is still replaced.
    """
    available: dict[str, TextPlaceholder] = {}
    for placeholder in placeholders:
        if placeholder.identifier not in available and all(key in context for key in placeholder.required_context):
            available[placeholder.identifier] = placeholder
    cache: dict[str, str] = {}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        placeholder = available.get(name)
        if placeholder is None:
            return match.group(0)
        if name not in cache:
            try:
                value = placeholder.render(context)
                cache[name] = "" if value is None else str(value)
            except Exception:
                logger.exception("text placeholder %r failed to render", name)
                cache[name] = PLACEHOLDER_ERROR
        return cache[name]

    return PLACEHOLDER_PATTERN.sub(substitute, text)


# ---------------------------------------------------------------------------------------------------------------
# Data shredders
# ---------------------------------------------------------------------------------------------------------------

SHRED_MASK = "█"
"""The character personal data is overwritten with, so shredded records stay visibly shredded."""


def mask(value: str | None) -> str | None:
    """Overwrite every character of ``value`` with :data:`SHRED_MASK`, keeping its length.

    Keeping the length preserves the shape of logs and exports (and that *something* was there) while the
    content is gone. ``None`` stays ``None`` because "no value" is not personal data.
    """
    if value is None:
        return None
    return SHRED_MASK * len(value)


class DataShredder(abc.ABC):
    """Base for removing one kind of personal data from an event once it is over.

    The kernel first offers :meth:`generate_files` (what is about to be destroyed) to the organizer together with
    a confirmation code, and runs :meth:`shred_data` only when that code comes back. Shredders overwrite data;
    they never delete audit-log rows, which must keep existing for accountability (mark them ``shredded``).
    """

    identifier: ClassVar[str] = ""
    """Unique name used by the shredder API to select this shredder."""

    tax_relevant: ClassVar[bool] = False
    """Whether the data may be needed for tax records, so the UI insists on downloading it before shredding."""

    require_download_confirmation: ClassVar[bool] = False
    """Whether shredding requires the confirmation code from the export, proving the export was fetched."""

    def __init__(self, event: Event, settings: SettingsStore | None = None) -> None:
        _check_identifier(self)
        self.event = event
        self.settings = settings

    @property
    @abc.abstractmethod
    def verbose_name(self) -> str:
        """Short name of the data kind (e.g. "E-mail addresses") shown in the shredder list."""
        raise NotImplementedError

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """What exactly will be removed, so organizers can decide without reading code."""
        raise NotImplementedError

    @abc.abstractmethod
    def generate_files(self) -> Iterable[GeneratedFile]:
        """Yield ``(filename, content_type, bytes)`` of the data that will be destroyed (may be a generator)."""
        raise NotImplementedError

    @abc.abstractmethod
    def shred_data(self, progress: Callable[[int], None] | None = None) -> None:
        """Overwrite the personal data (see :func:`mask`); report ``progress(percent)`` when given."""
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------------------------
# Invoicing
# ---------------------------------------------------------------------------------------------------------------


class InvoiceRenderer(abc.ABC):
    """Base for invoice layouts; the event setting ``invoice_renderer`` picks one by identifier."""

    identifier: ClassVar[str] = ""
    """Value stored in the ``invoice_renderer`` setting; must stay stable so saved choices keep working."""

    def __init__(self, event: Event, settings: SettingsStore | None = None) -> None:
        _check_identifier(self)
        self.event = event
        self.settings = settings

    @property
    @abc.abstractmethod
    def verbose_name(self) -> str:
        """Name of the layout in the organizer's choice."""
        raise NotImplementedError

    @abc.abstractmethod
    def generate(self, invoice: Any) -> GeneratedFile:
        """Render ``invoice`` as ``(filename, content_type, bytes)``; issued invoices are stored, not re-rendered.

        ``invoice`` carries everything the document shows, copied when it was issued: ``number``, ``date``,
        ``locale``, ``currency``, the ``invoice_from_*`` and ``invoice_to_*`` fields, the texts, ``refers`` (the
        invoice a cancellation document cancels) and ``lines`` (``description``, ``gross_value``, ``tax_value``,
        ``net_value``, ``tax_rate``, ``tax_name``, ``tax_code``, ``period_start``/``period_end`` …). Read those rather
        than the order, which may have changed since. The kernel calls this with the invoice's locale active.
        """
        raise NotImplementedError


TRANSMISSION_UNKNOWN = "unknown"
TRANSMISSION_PENDING = "pending"
TRANSMISSION_INFLIGHT = "inflight"
TRANSMISSION_COMPLETED = "completed"
TRANSMISSION_FAILED = "failed"
TRANSMISSION_STATUSES: tuple[str, ...] = (
    TRANSMISSION_UNKNOWN,
    TRANSMISSION_PENDING,
    TRANSMISSION_INFLIGHT,
    TRANSMISSION_COMPLETED,
    TRANSMISSION_FAILED,
)
"""Values of an invoice's ``transmission_status`` (as in pretix's API): ``unknown`` for invoices from before
transmission tracking, ``pending`` → ``inflight`` (a provider is sending) → ``completed`` or ``failed``."""


class TransmissionType:
    """A delivery channel for invoices (``email``, ``peppol`` …) and the invoice-address fields it needs.

    Only the kernel defines types; plugins add :class:`TransmissionProvider` implementations of them. Address
    field names must start with ``transmission_<identifier>_`` so fields of different channels can live side by
    side in one invoice address without clashing; this is checked when a subclass is defined.
    """

    identifier: ClassVar[str] = ""
    """Channel name, referenced by providers' ``type`` and by invoices' ``transmission_type``."""

    verbose_name: ClassVar[str] = ""
    """Name shown to organizers."""

    priority: ClassVar[int] = 100
    """Order in which channels are offered to buyers; higher first."""

    enforce_transmission: ClassVar[bool] = False
    """Whether every invoice of this type must actually be transmitted (e.g. legally mandated e-invoicing)."""

    address_fields: ClassVar[dict[str, str]] = {}
    """Extra invoice-address fields, by name (prefixed ``transmission_<identifier>_``) → description for buyers."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.check_address_fields()

    @classmethod
    def check_address_fields(cls) -> None:
        """Raise ``TypeError`` when an address field lacks the ``transmission_<identifier>_`` prefix.

        Runs at class definition so a clash is found when the plugin loads, not when a buyer's data is
        overwritten by another channel's field.
        """
        if not cls.address_fields:
            return
        if not cls.identifier:
            raise TypeError(f"{cls.__qualname__} declares address_fields but no identifier")
        prefix = f"transmission_{cls.identifier}_"
        wrong = sorted(name for name in cls.address_fields if not name.startswith(prefix) or name == prefix)
        if wrong:
            raise TypeError(f"{cls.__qualname__}.address_fields must be prefixed {prefix!r}: {', '.join(wrong)}")

    @property
    def public_name(self) -> str:
        """Name shown to buyers; defaults to :attr:`verbose_name`."""
        return self.verbose_name

    def is_exclusive(self, event: Any, country: str | None, is_business: bool) -> bool:
        """Whether this channel is legally mandatory for such a recipient, which hides all other channels."""
        return False

    def validate_address(self, data: Mapping[str, Any]) -> dict[str, list[str]]:
        """Check this channel's address fields; return ``{field: [messages]}`` for the buyer (empty when fine)."""
        return {}


class TransmissionFailed(Exception):
    """Raised by :meth:`TransmissionProvider.transmit` when the invoice could not be delivered.

    ``message`` is shown to organizers with the invoice; ``retry`` says whether trying again later may help (an
    unreachable server) or not (the recipient's system refused the document).
    """

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.retry = retry


class TransmissionContext(Protocol):
    """What the kernel hands a transmission provider along with the invoice."""

    settings: SettingsStore
    """The settings of the invoice's event (read provider configuration here)."""

    def invoice_file(self) -> GeneratedFile:
        """The rendered invoice ``(filename, content_type, bytes)``, rendered now if it was not yet."""
        ...

    def send_mail(
        self,
        to: Sequence[str],
        subject: str | Mapping[str, str],
        body: str | Mapping[str, str],
        *,
        attachments: Sequence[GeneratedFile] = (),
        context: Mapping[str, Any] | None = None,
    ) -> str:
        """Send an e-mail now through the kernel's mail service and return its message id.

        ``subject`` and ``body`` may be multilingual; they are rendered in the invoice's language with the text
        placeholders (the context holds ``event``, ``order``, ``invoice`` and what ``context`` adds). The mail is
        recorded in the outbox. Raises :class:`TransmissionFailed` when it could not be sent.
        """
        ...


class TransmissionProvider(abc.ABC):
    """Base for services that deliver invoices over one :class:`TransmissionType`.

    Providers are stateless and shared across events, hence the event is passed to each call instead of the
    constructor. Among ready and available providers of the invoice's type the highest ``priority`` transmits.
    """

    identifier: ClassVar[str] = ""
    """Unique provider name, stored on the invoice as ``transmission_provider``."""

    type: ClassVar[str] = ""
    """Identifier of the :class:`TransmissionType` this provider serves."""

    priority: ClassVar[int] = 100
    """Preference when several providers could transmit; higher wins."""

    testmode_supported: ClassVar[bool] = False
    """Whether test-mode invoices may be handed over; off so test data never reaches real tax systems."""

    def __init__(self) -> None:
        _check_identifier(self)
        if not self.type:
            raise TypeError(f"{type(self).__qualname__}.type must name a transmission type")

    @property
    @abc.abstractmethod
    def verbose_name(self) -> str:
        """Name shown to organizers when picking or reviewing transmissions."""
        raise NotImplementedError

    @abc.abstractmethod
    def is_ready(self, event: Any) -> bool:
        """Whether the provider is fully configured for ``event`` (credentials present, account verified…)."""
        raise NotImplementedError

    @abc.abstractmethod
    def is_available(self, event: Any, country: str | None, is_business: bool) -> bool:
        """Whether the provider can reach a recipient in ``country`` of that kind (business or consumer)."""
        raise NotImplementedError

    @abc.abstractmethod
    def transmit(self, invoice: Any, context: TransmissionContext) -> Mapping[str, Any] | None:
        """Deliver ``invoice`` (status ``inflight``); return what to keep in its ``transmission_info``.

        Raise :class:`TransmissionFailed` when delivery did not work; the kernel then records ``failed`` and, when
        the failure says a retry may help, tries again later with back-off. Returning records ``completed``. The
        kernel sets ``transmission_date`` and the status itself. Invoices left ``inflight`` by a crashed worker are
        retried, so transmitting the same invoice twice must be harmless. ``context`` gives the rendered file,
        the event's settings and the kernel's mail service.
        """
        raise NotImplementedError

    def settings_url(self, event: Any) -> str | None:
        """Where organizers configure this provider, or ``None`` when it needs no configuration."""
        return None


# ---------------------------------------------------------------------------------------------------------------
# Data sync
# ---------------------------------------------------------------------------------------------------------------

SyncMode = Literal["overwrite", "if_new", "if_empty", "append"]
SYNC_MODES: tuple[str, ...] = ("overwrite", "if_new", "if_empty", "append")
SOURCE_MODELS: tuple[str, ...] = ("Order", "OrderPosition")


class SyncError(Exception):
    """Base of the errors a sync provider raises to tell the kernel how to treat a failed sync.

    ``messages`` are short texts for the organizer's sync log; ``full_message`` may carry the raw response for
    debugging. ``failure_mode`` tells the kernel whether retrying can help. A bare :class:`SyncError` counts as
    ``permanent``: nothing suggests a retry would succeed. (Any exception that is not a :class:`SyncError` is
    recorded as an internal failure.)
    """

    failure_mode: ClassVar[str] = "permanent"

    def __init__(self, messages: str | Sequence[str], full_message: str | None = None) -> None:
        self.messages: list[str] = [messages] if isinstance(messages, str) else list(messages)
        self.full_message = full_message
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return self.full_message or "; ".join(self.messages)


class RecoverableSyncError(SyncError):
    """A temporary problem (timeout, rate limit, 5xx): the order is retried with back-off."""

    failure_mode: ClassVar[str] = "retry"


class UnrecoverableSyncError(SyncError):
    """A problem a retry cannot fix (e.g. the remote refused the data): waits for a manual retry."""

    failure_mode: ClassVar[str] = "permanent"


class SyncConfigError(UnrecoverableSyncError):
    """The mapping configuration is wrong (unknown field, unmapped value): the organizer must fix it first."""

    failure_mode: ClassVar[str] = "config"


class DiscardedSyncError(SyncError):
    """The receiver says this delivery must never be repeated (e.g. HTTP ``410 Gone``): the entry is given up."""

    failure_mode: ClassVar[str] = "discarded"


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | tuple) and not value)


@dataclass(frozen=True)
class PropertyMapping:
    """How one source field is written to one field of the external object.

    ``value_map`` translates enumerated values (e.g. order status ``p`` → ``paid``) because external systems use
    their own vocabularies; empty means values pass through. ``mode`` says when the field is written — see
    :func:`assign_properties`.
    """

    source_field: str
    external_field: str
    value_map: dict[str, str] = field(default_factory=dict)
    mode: SyncMode = "overwrite"

    def __post_init__(self) -> None:
        if self.mode not in SYNC_MODES:
            raise ValueError(f"mode must be one of {', '.join(SYNC_MODES)}, got {self.mode!r}")

    def map_value(self, value: Any) -> Any:
        """Translate ``value`` (or each element of a list) through :attr:`value_map`.

        Raises :class:`SyncConfigError` for a value missing from a non-empty map: sending the raw code instead
        would corrupt the remote data quietly.
        """
        if not self.value_map or _is_empty(value):
            return value
        if isinstance(value, list | tuple):
            return [self.map_value(item) for item in value]
        key = str(value)
        if key not in self.value_map:
            raise SyncConfigError([f"No mapping for value {key!r} of field {self.source_field!r}."])
        return self.value_map[key]


@dataclass(frozen=True)
class StaticMapping:
    """One kind of external object built from orders or order positions (fixed in code rather than stored).

    ``id`` identifies the mapping (results of earlier mappings are passed on keyed by it, so later mappings
    can link to them). ``source_id_field`` is the source field whose value identifies the external object in
    its ``external_id_field``, which makes syncing an upsert instead of creating duplicates.
    """

    id: int | str
    source_model: Literal["Order", "OrderPosition"]
    external_object_type: str
    source_id_field: str
    external_id_field: str
    property_mappings: list[PropertyMapping] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.source_model not in SOURCE_MODELS:
            raise ValueError(f"source_model must be one of {', '.join(SOURCE_MODELS)}, got {self.source_model!r}")


def assign_properties(
    new_values: list[tuple[str, Any, str]], old_values: Mapping[str, Any], is_new: bool, list_sep: str | None
) -> dict[str, Any]:
    """Apply the update modes to ``(external_field, value, mode)`` triples; return only the fields to write.

    ``old_values`` are the external object's current values (empty for a new object). Modes:

    * ``overwrite`` — always take the new value;
    * ``if_new`` — only when the object is being created, so later edits made remotely are kept;
    * ``if_empty`` — only when the remote field is empty (``None``, ``""``, empty list);
    * ``append`` — add the new item(s) to a list field, skipping ones already present.

    List values are written as one string joined with ``list_sep`` (existing strings are split on it), or as
    native lists when ``list_sep`` is ``None``. Triples are applied in order, so two ``append`` mappings to one
    field accumulate. Fields whose result equals the current remote value are left out, letting providers skip
    a write (and report "nothing to do") when the remote object is already up to date.
    """

    def as_list(value: Any) -> list[Any]:
        if _is_empty(value):
            return []
        if isinstance(value, list | tuple):
            return list(value)
        if isinstance(value, str) and list_sep:
            return [part.strip() for part in value.split(list_sep) if part.strip()]
        return [value]

    def encode(value: Any) -> Any:
        if isinstance(value, list | tuple):
            return list_sep.join(str(item) for item in value) if list_sep is not None else list(value)
        return value

    current: dict[str, Any] = dict(old_values)
    touched: list[str] = []
    for external_field, value, mode in new_values:
        if mode == "overwrite":
            result = encode(value)
        elif mode == "if_new":
            if not is_new:
                continue
            result = encode(value)
        elif mode == "if_empty":
            if not _is_empty(current.get(external_field)):
                continue
            result = encode(value)
        elif mode == "append":
            merged = as_list(current.get(external_field))
            for item in as_list(value):
                if item not in merged:
                    merged.append(item)
            result = encode(merged)
        else:
            raise SyncConfigError([f"Unknown update mode {mode!r} for field {external_field!r}."])
        current[external_field] = result
        if external_field not in touched:
            touched.append(external_field)

    return {name: current[name] for name in touched if name not in old_values or old_values[name] != current[name]}


class OutboundSyncProvider(abc.ABC):
    """Base for one-way pushes of orders and tickets into an external system (CRM, mailing list…).

    The kernel owns the queue and calls :meth:`sync_object_with_properties` once per ``Order`` mapping and once per
    position for each ``OrderPosition`` mapping, then :meth:`finalize_sync_order`. A provider instance handles one
    queued order inside a ``with`` block, so :meth:`close` runs even when the sync fails; no database transaction
    is open while it runs (source values are read beforehand). See docs/datasync.md.
    """

    identifier: ClassVar[str] = ""
    """Unique provider name; keys the queue rows and stored results."""

    max_attempts: ClassVar[int] = 5
    """Recoverable failures tolerated before the order waits for a manual retry."""

    list_field_joiner: ClassVar[str | None] = ","
    """How list values are sent: joined with this string, or as native lists when ``None`` (for JSON APIs)."""

    def __init__(self, event: Event) -> None:
        _check_identifier(self)
        self.event = event

    @property
    @abc.abstractmethod
    def display_name(self) -> str:
        """Name of the external system shown in sync logs and results."""
        raise NotImplementedError

    @property
    @abc.abstractmethod
    def mappings(self) -> Sequence[StaticMapping | Any]:
        """The mappings to run, in order: :class:`StaticMapping` instances or stored objects with its attributes.

        Order matters because later mappings may link to objects created by earlier ones.
        """
        raise NotImplementedError

    @classmethod
    def enqueue_order(
        cls, order: Any, triggered_by: str, not_before: datetime | None = None, immediate: bool = True
    ) -> tuple[Any, bool]:
        """Queue ``order`` for this provider inside the caller's transaction; returns ``(queue entry, created)``.

        An order already waiting for this provider keeps one queue entry (its trigger and time are updated); one
        in flight gets a second entry that runs after it. ``not_before`` delays the sync; ``immediate`` starts a
        worker once the transaction commits instead of waiting for the periodic run. ``triggered_by`` names the
        reason (e.g. ``"order_paid"``) and is shown with the entry.
        """
        if not cls.identifier:
            raise TypeError(f"{cls.__qualname__} has no identifier")
        from boxoffice.kernel.outbound.datasync import enqueue_order  # the queue is the kernel's

        return enqueue_order(cls.identifier, order, triggered_by, not_before=not_before, immediate=immediate)

    def should_sync_order(self, order: Any) -> bool:
        """Return ``False`` to drop an order from the queue (e.g. test-mode orders); all are synced by default."""
        return True

    def next_retry_delay(self, failed_attempts: int) -> timedelta:
        """How long to wait before retrying after ``failed_attempts`` recoverable failures.

        Exponential back-off: 1 minute after the first failure, doubling each time (2, 4, 8 … minutes) and capped
        at 1 hour, so brief outages heal quickly while a longer one is not hammered.
        """
        exponent = min(max(failed_attempts, 1) - 1, 6)
        return min(timedelta(minutes=2**exponent), timedelta(hours=1))

    @abc.abstractmethod
    def sync_object_with_properties(
        self,
        external_id_field: str,
        id_value: Any,
        properties: list[tuple[str, Any, str]],
        inputs: dict[str, Any],
        mapping: Any,
        mapped_objects: dict[Any, list[Any]],
    ) -> dict[str, Any] | None:
        """Create or update (upsert) one external object; must be idempotent because failed syncs are retried.

        ``properties`` are ``(external_field, value, mode)`` triples (see :func:`assign_properties`); ``inputs``
        holds the source objects (``order``, ``position``, ``event``); ``mapped_objects`` maps earlier mappings'
        ids to their results in this run. Return a dict with at least ``object_type``, ``external_id_field``,
        ``id_value``, ``external_link_href`` and ``external_link_display_name`` (plus private keys for later
        mappings), ``{"action": "nothing_to_do", …}`` when already up to date, or ``None`` to skip deliberately.
        Raise :class:`RecoverableSyncError`, :class:`UnrecoverableSyncError` or :class:`SyncConfigError` on failure.
        """
        raise NotImplementedError

    def finalize_sync_order(self, order: Any) -> None:
        """Called after all mappings of one order, e.g. to flush a per-order bulk write; nothing by default."""
        return None

    def close(self) -> None:
        """Release resources (HTTP sessions…) after a batch; nothing by default."""
        return None

    def __enter__(self) -> OutboundSyncProvider:
        return self

    def __exit__(self, exc_type: builtins.type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        self.close()


@dataclass(frozen=True)
class OutboundDelivery:
    """One entry of the kernel's outbound queue as a channel sees it (plain values, no database row)."""

    id: int
    channel: str
    target: str
    object_key: str
    payload: dict[str, Any]
    idempotency_key: str
    """Send it along (e.g. as an ``Idempotency-Key`` header): a retried delivery carries the same key."""
    attempt: int
    """1 for the first try; a delivery whose worker died counts that try too."""
    organizer_id: int
    event_id: int | None
    created: datetime


class OutboundChannel(abc.ABC):
    """A kind of delivery carried by the kernel's outbound queue (webhook calls, data sync runs…).

    Entries are written with ``kernel.outbound.enqueue`` in the transaction that caused them; a worker claims them
    with a lease and calls :meth:`deliver` outside of any transaction. Raise :class:`RecoverableSyncError` to be
    retried after :meth:`next_retry_delay`, :class:`UnrecoverableSyncError` or :class:`SyncConfigError` to park
    the entry as failed until someone retries it, :class:`DiscardedSyncError` to give it up for good. Deliveries
    can repeat (a worker killed mid-call is replaced once its lease lapses), so receivers get the entry's
    ``idempotency_key``. The kernel asks ``register_outbound_channels`` for fresh channel objects for each claimed
    batch (up to 100 entries), so an object may cache what it reads for the length of one batch.
    """

    identifier: ClassVar[str] = ""
    max_attempts: ClassVar[int | None] = 5
    """Tries before an entry that keeps failing recoverably waits for a manual retry (``None``: no limit)."""
    give_up_after: ClassVar[timedelta | None] = None
    """Stop retrying once the next try would come later than this after the entry was written."""
    lease: ClassVar[timedelta] = timedelta(minutes=5)
    """How long a worker may hold an entry; after that it counts as crashed and the entry is tried again."""

    def next_retry_delay(self, failed_attempts: int) -> timedelta:
        """Exponential back-off: 1 minute after the first failure, doubling, capped at 1 hour."""
        exponent = min(max(failed_attempts, 1) - 1, 6)
        return min(timedelta(minutes=2**exponent), timedelta(hours=1))

    @abc.abstractmethod
    def deliver(self, delivery: OutboundDelivery, context: JobContext) -> dict[str, Any] | None:
        """Carry out one delivery; the returned JSON value is stored on the entry. Must tolerate repeats."""
        raise NotImplementedError

    def after_attempt(self, session: Session, delivery: OutboundDelivery, error: BaseException | None) -> None:
        """Called in the transaction that records the attempt's outcome (``error`` is ``None`` on success), e.g. to
        write a call log with it instead of committing a transaction of its own; nothing by default."""
        return None


__all__ = [
    "FEE_TYPES",
    "IDENTIFIER_PATTERN",
    "LIST_FORMATS",
    "PARAMETER_TYPES",
    "PLACEHOLDER_ERROR",
    "PLACEHOLDER_PATTERN",
    "SHRED_MASK",
    "SOURCE_MODELS",
    "SYNC_MODES",
    "TRANSMISSION_COMPLETED",
    "TRANSMISSION_FAILED",
    "TRANSMISSION_INFLIGHT",
    "TRANSMISSION_PENDING",
    "TRANSMISSION_STATUSES",
    "TRANSMISSION_UNKNOWN",
    "BatchEntry",
    "DataShredder",
    "DiscardedSyncError",
    "Exporter",
    "FeeLine",
    "FeeType",
    "GeneratedFile",
    "InvoiceRenderer",
    "JobContext",
    "JobDefinition",
    "ListExporter",
    "OrganizerExporter",
    "OutboundChannel",
    "OutboundDelivery",
    "OutboundSyncProvider",
    "PaymentException",
    "PaymentProvider",
    "ProgressTotal",
    "PropertyMapping",
    "RecoverableSyncError",
    "SettingDefault",
    "SettingsStore",
    "SimpleTextPlaceholder",
    "StaticMapping",
    "SyncConfigError",
    "SyncError",
    "SyncMode",
    "TemplateRenderer",
    "TextPlaceholder",
    "TicketOutput",
    "TransmissionContext",
    "TransmissionFailed",
    "TransmissionProvider",
    "TransmissionType",
    "UnrecoverableSyncError",
    "ValidationFailure",
    "assign_properties",
    "mask",
    "render_placeholders",
]
