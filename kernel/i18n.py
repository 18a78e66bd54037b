"""Translations and locale-aware formatting for the kernel and every plugin.

Catalogs ship as ``.po`` files only (``<package>/locale/<lang>/LC_MESSAGES/<domain>.po``) and are compiled in
memory when they are added, so neither a build step nor committed ``.mo`` files can drift from the sources.
The kernel's domain is ``boxoffice``; a plugin's domain is its entry-point name.
"""

from __future__ import annotations

import copy
import math
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

__all__ = [
    "KERNEL_DOMAIN",
    "KERNEL_LOCALE_DIR",
    "I18n",
    "I18nError",
    "_",
    "currency_places",
    "dgettext",
    "format_date",
    "format_datetime",
    "format_decimal",
    "format_money",
    "get_default_i18n",
    "get_locale",
    "gettext",
    "localize",
    "ngettext",
    "set_default_i18n",
    "use_locale",
]

KERNEL_DOMAIN = "boxoffice"
KERNEL_LOCALE_DIR = Path(__file__).parent / "locale"
FALLBACK_LOCALE = "en"

# A hostile or broken client must not make negotiation expensive.
_MAX_ACCEPT_LANGUAGE_CHARS = 4096
_MAX_ACCEPT_LANGUAGE_ITEMS = 64
_LANGUAGE_TAG = re.compile(r"^(?:\*|[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*)$")


class I18nError(ValueError):
    """A catalog, currency or timezone cannot be used."""


def _normalize(locale: str) -> str:
    # Accept-Language uses "de-DE", gettext folders use "de_DE"; compare both spellings as one.
    return locale.strip().replace("_", "-").lower()


def _language(locale: str) -> str:
    return _normalize(locale).split("-", 1)[0]


def _catalog_candidates(locale: str) -> list[str]:
    """Normalized catalog keys to try, most specific first (``de-at`` then ``de``)."""
    normalized = _normalize(locale)
    language = _language(locale)
    return [normalized] if normalized == language else [normalized, language]


def _compile(path: Path, domain: str, locale_name: str) -> bytes:
    """Read one ``.po`` file and return the equivalent ``.mo`` bytes."""
    try:
        babel_locale: Locale | None = Locale.parse(locale_name.replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        # Folders such as "de_informal" are fine for us but unknown to CLDR; the header's Plural-Forms suffices.
        babel_locale = None
    try:
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=babel_locale, domain=domain, abort_invalid=True)
    except Exception as exc:  # babel raises PoFileError, UnicodeDecodeError, ValueError …; all mean the same
        raise I18nError(f"cannot read translation catalog {path}: {exc}") from exc
    for message in list(catalog)[1:]:
        # A half-translated plural would render an empty string for the missing form; the msgid reads better.
        if isinstance(message.string, tuple | list) and not all(message.string):
            catalog.delete(message.id, context=message.context)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def _empty_mo(locale: str) -> bytes:
    # An empty compiled catalog (rather than NullTranslations) keeps the return type and plural rules uniform.
    catalog = Catalog(locale=_babel_locale(locale, FALLBACK_LOCALE), domain=KERNEL_DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def _parse_accept_language(header: str) -> list[tuple[str, float]]:
    """``(tag, q)`` pairs from an Accept-Language header, best first; malformed items are skipped."""
    items: list[tuple[str, float]] = []
    for raw in header[:_MAX_ACCEPT_LANGUAGE_CHARS].split(",")[:_MAX_ACCEPT_LANGUAGE_ITEMS]:
        tag, *params = (part.strip() for part in raw.split(";"))
        if not _LANGUAGE_TAG.match(tag):
            continue
        quality = 1.0
        valid = True
        for param in params:
            key, _sep, value = param.partition("=")
            if key.strip().lower() != "q":
                continue
            try:
                quality = float(value.strip())
            except ValueError:
                valid = False
                break
            if not (math.isfinite(quality) and 0.0 <= quality <= 1.0):
                valid = False
                break
        if valid:
            items.append((tag, quality))
    # sort() is stable, so equal q-values keep the client's order as RFC 9110 intends.
    items.sort(key=lambda item: -item[1])
    return items


class I18n:
    """Translation catalogs of the kernel and the plugins, plus locale negotiation."""

    def __init__(self, default_locale: str = "en", locales: Sequence[str] = ("en", "de")) -> None:
        self.locales: tuple[str, ...] = tuple(locales) or (default_locale,)
        if default_locale not in self.locales:
            self.locales = (default_locale, *self.locales)
        self.default_locale = default_locale
        self._by_normalized: dict[str, str] = {}
        for locale in self.locales:
            self._by_normalized.setdefault(_normalize(locale), locale)
        # domain -> normalized catalog folder name -> compiled .mo bytes; insertion order is merge order.
        self._compiled: dict[str, dict[str, bytes]] = {}
        self._cache: dict[str, Translations] = {}
        self._lock = threading.Lock()

    def add_catalog_dir(self, domain: str, directory: Path) -> None:
        """Compile every ``<directory>/<lang>/LC_MESSAGES/<domain>.po``; a missing directory is ignored.

        Compiling here rather than on first use makes a broken plugin catalog fail at startup, naming the file.
        """
        directory = Path(directory)
        if not directory.is_dir():
            return
        compiled: dict[str, bytes] = {}
        for lang_dir in sorted(p for p in directory.iterdir() if p.is_dir()):
            po_file = lang_dir / "LC_MESSAGES" / f"{domain}.po"
            if po_file.is_file():
                compiled[_normalize(lang_dir.name)] = _compile(po_file, domain, lang_dir.name)
        if not compiled:
            return
        with self._lock:
            self._compiled.setdefault(domain, {}).update(compiled)
            self._cache.clear()

    @property
    def domains(self) -> tuple[str, ...]:
        return tuple(self._compiled)

    def resolve(self, locale: str | None) -> str:
        """The supported locale closest to ``locale`` (exact, then its language, then the default)."""
        if not locale or not isinstance(locale, str):
            return self.default_locale
        normalized = _normalize(locale)
        if normalized in self._by_normalized:
            return self._by_normalized[normalized]
        language = _language(locale)
        if language in self._by_normalized:
            return self._by_normalized[language]
        for candidate in self.locales:
            if _language(candidate) == language:
                return candidate
        return self.default_locale

    def translations(self, locale: str | None = None) -> Translations:
        """All catalogs for ``locale`` in one object: the kernel first, then plugins in the order they were added.

        Each plugin domain is also reachable on its own through ``dgettext(domain, …)``.
        """
        resolved = self.resolve(locale or _current_locale.get())
        cached = self._cache.get(resolved)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._cache.get(resolved)
            if cached is None:
                cached = self._build(resolved)
                self._cache[resolved] = cached
        return cached

    def _chain(self, domain: str, locale: str) -> list[Translations]:
        # Fresh objects each time: add_fallback() mutates them, so they must not be shared between chains.
        catalogs = self._compiled.get(domain, {})
        return [
            Translations(BytesIO(catalogs[key]), domain=domain)
            for key in _catalog_candidates(locale)
            if key in catalogs
        ]

    def _build(self, locale: str) -> Translations:
        kernel = self._chain(KERNEL_DOMAIN, locale)
        merged = kernel[0] if kernel else Translations(BytesIO(_empty_mo(locale)), domain=KERNEL_DOMAIN)
        for extra in kernel[1:]:
            merged.add_fallback(extra)
        for domain in self._compiled:
            if domain == KERNEL_DOMAIN:
                continue
            # As fallbacks (not merge()) so a plugin can never override a kernel message with its own wording.
            for fallback in self._chain(domain, locale):
                merged.add_fallback(fallback)
            own = self._chain(domain, locale)
            if own:
                for extra in own[1:]:
                    own[0].add_fallback(extra)
                # merge=False registers it as a separate domain; babel then falls back to the merged catalog.
                merged.add(own[0], merge=False)
        return merged

    def gettext(self, message: str, locale: str | None = None) -> str:
        return self.translations(locale).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int, locale: str | None = None) -> str:
        return self.translations(locale).ngettext(singular, plural, n)

    def dgettext(self, domain: str, message: str, locale: str | None = None) -> str:
        return self.translations(locale).dgettext(domain, message)

    def dngettext(self, domain: str, singular: str, plural: str, n: int, locale: str | None = None) -> str:
        return self.translations(locale).dngettext(domain, singular, plural, n)

    def negotiate(self, accept_language: str | None) -> str:
        """The best supported locale for an HTTP ``Accept-Language`` header; never raises."""
        if not accept_language or not isinstance(accept_language, str):
            return self.default_locale
        ranked = _parse_accept_language(accept_language)
        refused = {self.resolve(tag) for tag, quality in ranked if quality == 0.0 and tag != "*"}
        for tag, quality in ranked:
            if quality == 0.0:
                break
            if tag == "*":
                # "*" accepts anything not listed, so the default is fine unless the client refused it.
                acceptable = (loc for loc in (self.default_locale, *self.locales) if loc not in refused)
                return next(acceptable, self.default_locale)
            normalized = _normalize(tag)
            language = _language(tag)
            if normalized in self._by_normalized:
                return self._by_normalized[normalized]
            if language in self._by_normalized:
                return self._by_normalized[language]
            for candidate in self.locales:
                if _language(candidate) == language:
                    return candidate
        return self.default_locale

    def localize(self, value: str | Mapping[str, str] | None, locale: str | None = None) -> str:
        """Pick one language from a multilingual value such as ``{"en": "Ticket", "de": "Eintrittskarte"}``.

        Empty strings count as missing, since an organizer who left a language blank wants the fallback shown.
        """
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        locale = locale or get_locale()
        exact = value.get(locale)
        if exact:
            return exact
        by_normalized = {_normalize(key): text for key, text in value.items() if isinstance(key, str) and text}
        for key in (_normalize(locale), _language(locale), _normalize(self.default_locale)):
            if by_normalized.get(key):
                return by_normalized[key]
        return next((text for text in value.values() if text), "")


# --- process-wide shortcuts -------------------------------------------------------------------------------------

_current_locale: ContextVar[str | None] = ContextVar("boxoffice_locale", default=None)
# The catalogs of the kernel serving the current request or job; several kernels may live in one process (tests).
_current_i18n: ContextVar[I18n | None] = ContextVar("boxoffice_i18n", default=None)
_default_i18n: I18n | None = None


def set_default_i18n(i18n: I18n | None) -> None:
    """Register the instance the module-level shortcuts use (the app does this at startup)."""
    global _default_i18n
    _default_i18n = i18n


def get_default_i18n() -> I18n:
    """The current request's or job's instance, else the registered one; without either, a kernel-only instance so
    ``_`` works in scripts and tests."""
    global _default_i18n
    current = _current_i18n.get()
    if current is not None:
        return current
    if _default_i18n is None:
        i18n = I18n()
        i18n.add_catalog_dir(KERNEL_DOMAIN, KERNEL_LOCALE_DIR)
        _default_i18n = i18n
    return _default_i18n


def get_locale() -> str:
    """The locale of the current request or job, else the default locale."""
    current = _current_locale.get()
    if current:
        return current
    return _default_i18n.default_locale if _default_i18n is not None else FALLBACK_LOCALE


@contextmanager
def use_locale(locale: str | None, i18n: I18n | None = None) -> Iterator[None]:
    """Translate and format in ``locale`` inside the block (a context variable, so safe across tasks), with the
    catalogs of ``i18n`` when given (the serving kernel's, which may hold catalogs the process default lacks)."""
    token = _current_locale.set(locale)
    i18n_token = _current_i18n.set(i18n) if i18n is not None else None
    try:
        yield
    finally:
        if i18n_token is not None:
            _current_i18n.reset(i18n_token)
        _current_locale.reset(token)


def gettext(message: str, locale: str | None = None) -> str:
    return get_default_i18n().gettext(message, locale or get_locale())


def ngettext(singular: str, plural: str, n: int, locale: str | None = None) -> str:
    return get_default_i18n().ngettext(singular, plural, n, locale or get_locale())


def dgettext(domain: str, message: str, locale: str | None = None) -> str:
    return get_default_i18n().dgettext(domain, message, locale or get_locale())


def localize(value: str | Mapping[str, str] | None, locale: str | None = None) -> str:
    return get_default_i18n().localize(value, locale or get_locale())


_ = gettext


# --- formatting -------------------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _babel_locale(locale: str | None, default: str) -> Locale:
    for candidate in (locale, _language(locale) if locale else None, default, FALLBACK_LOCALE):
        if not candidate:
            continue
        try:
            return Locale.parse(candidate.strip().replace("_", "-"), sep="-")
        except (ValueError, TypeError, UnknownLocaleError):
            continue
    return Locale.parse(FALLBACK_LOCALE)


def _locale_for_formatting(locale: str | None) -> Locale:
    default = _default_i18n.default_locale if _default_i18n is not None else FALLBACK_LOCALE
    return _babel_locale(locale or get_locale(), default)


def _currency_code(currency: str) -> str:
    code = currency.strip().upper() if isinstance(currency, str) else ""
    if not babel_numbers.is_currency(code):
        # get_currency_precision() silently answers 2 for anything, which would hide a typo in event settings.
        raise I18nError(f"unknown currency code: {currency!r}")
    return code


def _to_decimal(value: Decimal | int | float | str) -> Decimal:
    try:
        # str() first so a float like 0.1 becomes Decimal("0.1"), not its binary approximation.
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise I18nError(f"not a number: {value!r}") from exc
    if not number.is_finite():
        raise I18nError(f"not a finite number: {value!r}")
    return number


def currency_places(currency: str) -> int:
    """How many decimals the currency uses (EUR 2, JPY 0, KWD 3)."""
    return babel_numbers.get_currency_precision(_currency_code(currency))


def format_money(amount: Decimal | int, currency: str, locale: str | None = None) -> str:
    """``€1,234.50`` / ``1.234,50 €``: the amount rounded half-up to the currency's own decimals."""
    code = _currency_code(currency)
    places = babel_numbers.get_currency_precision(code)
    # Commercial rounding (half-up) as on invoices; babel alone would round half-even.
    rounded = _to_decimal(amount).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return babel_numbers.format_currency(rounded, code, locale=_locale_for_formatting(locale))


def format_decimal(value: Decimal | int, locale: str | None = None, places: int | None = None) -> str:
    """A number with the locale's separators; all given digits, or exactly ``places`` decimals (half-up)."""
    number = _to_decimal(value)
    babel_locale = _locale_for_formatting(locale)
    if places is None:
        # Without this babel cuts to three decimals, silently changing e.g. a tax rate of 19.0625.
        return babel_numbers.format_decimal(number, locale=babel_locale, decimal_quantization=False)
    number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    pattern = copy.copy(babel_locale.decimal_formats[None])
    pattern.frac_prec = (places, places)
    return pattern.apply(number, babel_locale)


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise I18nError(f"unknown timezone: {timezone!r}") from exc


def format_datetime(value: datetime, locale: str | None = None, timezone: str = "UTC", format: str = "medium") -> str:
    """Date and time in ``timezone``; aware values are converted, naive ones are taken as wall time there.

    ``format`` is ``short``/``medium``/``long``/``full`` or a CLDR pattern such as ``"yyyy-MM-dd HH:mm"``.
    """
    zone = _zone(timezone)
    local = value.astimezone(zone) if value.tzinfo is not None else value.replace(tzinfo=zone)
    return babel_dates.format_datetime(local, format, tzinfo=zone, locale=_locale_for_formatting(locale))


def format_date(value: date | datetime, locale: str | None = None, format: str = "medium") -> str:
    """A date (a datetime's own calendar day, unconverted) in ``short``/``medium``/``long``/``full`` or a pattern."""
    return babel_dates.format_date(value, format, locale=_locale_for_formatting(locale))
