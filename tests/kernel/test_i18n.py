from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from babel.support import Translations

from boxoffice.kernel import i18n as i18n_module
from boxoffice.kernel.i18n import (
    KERNEL_DOMAIN,
    KERNEL_LOCALE_DIR,
    I18n,
    I18nError,
    currency_places,
    format_date,
    format_datetime,
    format_decimal,
    format_money,
    get_locale,
    set_default_i18n,
    use_locale,
)

NBSP = "\xa0"


@pytest.fixture
def i18n() -> I18n:
    instance = I18n(default_locale="en", locales=("en", "de"))
    instance.add_catalog_dir(KERNEL_DOMAIN, KERNEL_LOCALE_DIR)
    return instance


@pytest.fixture(autouse=True)
def _reset_default_i18n():
    yield
    set_default_i18n(None)


def write_po(directory: Path, lang: str, domain: str, body: str) -> Path:
    target = directory / lang / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{domain}.po"
    header = (
        'msgid ""\n'
        'msgstr ""\n'
        f'"Language: {lang}\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n'
        '"Content-Type: text/plain; charset=utf-8\\n"\n\n'
    )
    path.write_text(header + body, encoding="utf-8")
    return path


# --- kernel catalog ---------------------------------------------------------------------------------------------

GERMAN = {
    "This field is required.": "Dieses Feld ist erforderlich.",
    "A valid integer is required.": "Eine gültige Ganzzahl ist erforderlich.",
    "Not found.": "Nicht gefunden.",
    "You do not have permission to perform this action.": "Sie sind nicht berechtigt, diese Aktion auszuführen.",
    "Authentication credentials were not provided.": "Es wurden keine Anmeldedaten übermittelt.",
    "Invalid token.": "Ungültiges Token.",
    "Unknown plugin: {name}": "Unbekanntes Plugin: {name}",
    "The plugin {name} cannot be enabled by organizers.": (
        "Das Plugin {name} kann nicht von Veranstaltern aktiviert werden."
    ),
    "Ensure this value is greater than or equal to {limit}.": "Dieser Wert muss größer oder gleich {limit} sein.",
    "Invalid value.": "Ungültiger Wert.",
}


@pytest.mark.parametrize(("message", "expected"), GERMAN.items())
def test_kernel_messages_are_translated_to_german(i18n: I18n, message: str, expected: str) -> None:
    assert i18n.gettext(message, "de") == expected
    # English is the source language: no catalog, the msgid itself.
    assert i18n.gettext(message, "en") == message


def test_placeholders_survive_translation(i18n: I18n) -> None:
    assert i18n.gettext("Unknown plugin: {name}", "de").format(name="stripe") == "Unbekanntes Plugin: stripe"


def test_region_and_variant_locales_use_the_language_catalog(i18n: I18n) -> None:
    assert i18n.gettext("Not found.", "de_AT") == "Nicht gefunden."
    assert i18n.gettext("Not found.", "de-informal") == "Nicht gefunden."
    assert i18n.gettext("Not found.", "fr") == "Not found."


def test_plural_forms(i18n: I18n) -> None:
    def tickets(n: int, locale: str) -> str:
        return i18n.ngettext("{count} ticket", "{count} tickets", n, locale).format(count=n)

    assert tickets(1, "de") == "1 Ticket"
    assert tickets(2, "de") == "2 Tickets"
    assert tickets(0, "de") == "0 Tickets"
    assert tickets(1, "en") == "1 ticket"
    assert tickets(5, "en") == "5 tickets"


def test_unknown_message_passes_through(i18n: I18n) -> None:
    assert i18n.gettext("No such message anywhere.", "de") == "No such message anywhere."
    assert i18n.ngettext("one apple", "{n} apples", 3, "de") == "{n} apples"


def test_translations_is_a_cached_babel_object(i18n: I18n) -> None:
    first = i18n.translations("de")
    assert isinstance(first, Translations)
    assert i18n.translations("de") is first
    assert i18n.translations("de-DE") is first  # resolves to the same supported locale


def test_no_mo_files_are_shipped() -> None:
    assert (KERNEL_LOCALE_DIR / "de" / "LC_MESSAGES" / "boxoffice.po").is_file()
    assert not list(KERNEL_LOCALE_DIR.rglob("*.mo"))


# --- plugin catalogs --------------------------------------------------------------------------------------------


def test_plugin_catalog_under_its_own_domain(i18n: I18n, tmp_path: Path) -> None:
    write_po(
        tmp_path,
        "de",
        "stripe",
        'msgid "Pay with card"\nmsgstr "Mit Karte bezahlen"\n\n'
        'msgid "Not found."\nmsgstr "Plugin-Wortlaut"\n\n'
        'msgid "{count} payment"\nmsgid_plural "{count} payments"\n'
        'msgstr[0] "{count} Zahlung"\nmsgstr[1] "{count} Zahlungen"\n',
    )
    first = i18n.translations("de")
    i18n.add_catalog_dir("stripe", tmp_path)
    assert i18n.translations("de") is not first  # adding a catalog invalidates the cache

    assert i18n.dgettext("stripe", "Pay with card", "de") == "Mit Karte bezahlen"
    assert i18n.translations("de").dngettext("stripe", "{count} payment", "{count} payments", 2) == "{count} Zahlungen"
    # Plain gettext finds plugin strings too, as a fallback behind the kernel …
    assert i18n.gettext("Pay with card", "de") == "Mit Karte bezahlen"
    # … so a plugin cannot reword a kernel message for everyone, but keeps its wording in its own domain.
    assert i18n.gettext("Not found.", "de") == "Nicht gefunden."
    assert i18n.dgettext("stripe", "Not found.", "de") == "Plugin-Wortlaut"
    # Messages missing in the plugin domain fall back to the kernel catalog.
    assert i18n.dgettext("stripe", "Invalid token.", "de") == "Ungültiges Token."
    assert i18n.dgettext("stripe", "Pay with card", "en") == "Pay with card"
    assert "stripe" in i18n.domains


def test_regional_catalog_overrides_language_catalog(i18n: I18n, tmp_path: Path) -> None:
    write_po(tmp_path, "de", "shop", 'msgid "Cart"\nmsgstr "Warenkorb"\n\nmsgid "Bag"\nmsgstr "Tasche"\n')
    write_po(tmp_path, "de_CH", "shop", 'msgid "Cart"\nmsgstr "Einkaufswagen"\n')
    regional = I18n(locales=("en", "de", "de-CH"))
    regional.add_catalog_dir("shop", tmp_path)
    assert regional.dgettext("shop", "Cart", "de-CH") == "Einkaufswagen"
    assert regional.dgettext("shop", "Bag", "de-CH") == "Tasche"
    assert regional.dgettext("shop", "Cart", "de") == "Warenkorb"


def test_the_serving_kernels_catalogs_win_over_the_process_default(i18n: I18n, tmp_path: Path) -> None:
    # Two kernels in one process (as in tests): the one that registered last must not hide the other's catalogs.
    write_po(tmp_path, "de", "shop", 'msgid "Cart"\nmsgstr "Warenkorb"\n')
    serving = I18n(locales=("en", "de"))
    serving.add_catalog_dir("shop", tmp_path)
    set_default_i18n(i18n)
    with use_locale("de"):
        assert i18n_module.gettext("Cart") == "Cart"
    with use_locale("de", serving):
        assert i18n_module.gettext("Cart") == "Warenkorb"
    assert i18n_module.get_default_i18n() is i18n


def test_missing_catalog_dir_is_ignored(i18n: I18n, tmp_path: Path) -> None:
    i18n.add_catalog_dir("ghost", tmp_path / "does-not-exist")
    assert "ghost" not in i18n.domains
    assert i18n.gettext("Not found.", "de") == "Nicht gefunden."


def test_malformed_po_names_the_file(i18n: I18n, tmp_path: Path) -> None:
    path = write_po(tmp_path, "de", "broken", 'msgid "Hello"\nthis is not a po keyword\n')
    with pytest.raises(I18nError) as excinfo:
        i18n.add_catalog_dir("broken", tmp_path)
    assert str(path) in str(excinfo.value)
    # The failed plugin left the working catalogs alone.
    assert i18n.gettext("Not found.", "de") == "Nicht gefunden."


def test_undecodable_po_names_the_file(i18n: I18n, tmp_path: Path) -> None:
    target = tmp_path / "de" / "LC_MESSAGES"
    target.mkdir(parents=True)
    (target / "latin.po").write_bytes(b'msgid "x"\nmsgstr "\xff\xfe"\n')
    with pytest.raises(I18nError, match=r"latin\.po"):
        i18n.add_catalog_dir("latin", tmp_path)


def test_fuzzy_and_half_translated_plurals_are_not_used(i18n: I18n, tmp_path: Path) -> None:
    write_po(
        tmp_path,
        "de",
        "draft",
        '#, fuzzy\nmsgid "Guess"\nmsgstr "Vermutung"\n\n'
        'msgid "{n} seat"\nmsgid_plural "{n} seats"\nmsgstr[0] "{n} Platz"\nmsgstr[1] ""\n',
    )
    i18n.add_catalog_dir("draft", tmp_path)
    assert i18n.dgettext("draft", "Guess", "de") == "Guess"
    assert i18n.translations("de").dngettext("draft", "{n} seat", "{n} seats", 2) == "{n} seats"


# --- negotiation ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de", "de"),
        ("en-US,en;q=0.9", "en"),
        ("de-DE,de;q=0.9,en;q=0.8", "de"),
        ("de_DE", "de"),
        ("DE-at", "de"),
        ("en;q=0.5, de;q=0.8", "de"),  # q-values beat the order
        ("de;q=0.5, en;q=0.5", "de"),  # equal q: the client's order
        ("fr-FR, fr;q=0.9, de;q=0.7, en;q=0.6", "de"),  # unsupported first choice
        ("fr, it", "en"),
        ("*", "en"),
        ("fr, *;q=0.5", "en"),
        ("en;q=0, *", "de"),  # "*" means anything except what was refused
        ("de;q=0, en;q=0", "en"),  # nothing acceptable: the default anyway
        ("de;q=abc, en", "en"),  # malformed q drops only that item
        ("de;q=2, en", "en"),
        ("", "en"),
        (None, "en"),
        ("@@@ garbage ;;; ,,, q=", "en"),
        ("x" * 10_000, "en"),
    ],
)
def test_negotiate(i18n: I18n, header: str | None, expected: str) -> None:
    assert i18n.negotiate(header) == expected


def test_negotiate_uses_configured_default() -> None:
    german_first = I18n(default_locale="de", locales=("de", "en"))
    assert german_first.negotiate(None) == "de"
    assert german_first.negotiate("fr") == "de"
    assert german_first.negotiate("en-GB") == "en"


def test_negotiate_matches_a_variant_by_language() -> None:
    informal = I18n(default_locale="en", locales=("en", "de-informal"))
    assert informal.negotiate("de-DE") == "de-informal"


# --- localize ---------------------------------------------------------------------------------------------------


def test_localize_fallbacks(i18n: I18n) -> None:
    name = {"en": "Ticket", "de": "Eintrittskarte", "de-informal": "Karte"}
    assert i18n.localize(name, "de") == "Eintrittskarte"
    assert i18n.localize(name, "de-informal") == "Karte"
    assert i18n.localize(name, "de_AT") == "Eintrittskarte"  # language part
    assert i18n.localize(name, "fr") == "Ticket"  # default locale
    assert i18n.localize({"de": "Eintrittskarte", "fr": "Billet"}, "it") == "Eintrittskarte"  # first value
    assert i18n.localize({"en": "", "de": "Eintrittskarte"}, "en") == "Eintrittskarte"  # empty counts as missing
    assert i18n.localize({"en": "", "de": ""}, "en") == ""
    assert i18n.localize({}, "de") == ""
    assert i18n.localize(None, "de") == ""
    assert i18n.localize("plain", "de") == "plain"


def test_localize_spelling_variants(i18n: I18n) -> None:
    assert i18n.localize({"de_AT": "Karterl", "en": "Ticket"}, "de-AT") == "Karterl"


# --- process-wide shortcuts -------------------------------------------------------------------------------------


def test_module_shortcuts_follow_the_current_locale(i18n: I18n) -> None:
    set_default_i18n(i18n)
    assert get_locale() == "en"
    assert i18n_module._("Not found.") == "Not found."
    with use_locale("de"):
        assert get_locale() == "de"
        assert i18n_module._("Not found.") == "Nicht gefunden."
        assert i18n_module.ngettext("{count} ticket", "{count} tickets", 2) == "{count} Tickets"
        assert i18n.gettext("Invalid value.") == "Ungültiger Wert."  # methods default to it, too
        assert i18n_module.localize({"en": "Ticket", "de": "Eintrittskarte"}) == "Eintrittskarte"
        assert i18n_module.gettext("Not found.", "en") == "Not found."  # explicit beats context
        with use_locale("en"):
            assert i18n_module._("Not found.") == "Not found."
        assert get_locale() == "de"
    assert get_locale() == "en"


def test_shortcut_without_registration_uses_the_kernel_catalog() -> None:
    set_default_i18n(None)
    assert i18n_module.gettext("Invalid token.", "de") == "Ungültiges Token."


# --- formatting -------------------------------------------------------------------------------------------------


def test_format_money_eur() -> None:
    assert format_money(Decimal("1234.5"), "EUR", "en") == "€1,234.50"
    assert format_money(Decimal("1234.5"), "EUR", "de") == f"1.234,50{NBSP}€"
    assert format_money(Decimal("-3"), "EUR", "en") == "-€3.00"
    assert format_money(10, "eur", "de") == f"10,00{NBSP}€"


def test_format_money_rounds_half_up() -> None:
    # babel alone would give €0.12 (half-even).
    assert format_money(Decimal("0.125"), "EUR", "en") == "€0.13"


def test_format_money_jpy_has_no_decimals() -> None:
    assert currency_places("JPY") == 0
    assert format_money(Decimal("1234"), "JPY", "en") == "¥1,234"
    assert format_money(Decimal("1234.5"), "JPY", "en") == "¥1,235"
    assert format_money(Decimal("1234"), "JPY", "de") == f"1.234{NBSP}¥"


def test_currency_places() -> None:
    assert currency_places("EUR") == 2
    assert currency_places("KWD") == 3
    with pytest.raises(I18nError, match="XYZ"):
        currency_places("XYZ")


def test_format_money_unknown_currency() -> None:
    with pytest.raises(I18nError, match="EURO"):
        format_money(Decimal("1"), "EURO", "en")
    with pytest.raises(I18nError):
        format_money(Decimal("NaN"), "EUR", "en")


def test_unknown_locale_falls_back_to_default() -> None:
    assert format_money(Decimal("1234.5"), "EUR", "xx-nowhere") == "€1,234.50"
    assert format_money(Decimal("1234.5"), "EUR", "") == "€1,234.50"
    assert format_money(Decimal("1234.5"), "EUR", "de-informal") == f"1.234,50{NBSP}€"
    set_default_i18n(I18n(default_locale="de", locales=("de", "en")))
    assert format_money(Decimal("1234.5"), "EUR", "xx-nowhere") == f"1.234,50{NBSP}€"


def test_format_decimal() -> None:
    assert format_decimal(Decimal("1234567.891"), "en") == "1,234,567.891"
    assert format_decimal(Decimal("19.0625"), "de") == "19,0625"  # not cut to three places
    assert format_decimal(Decimal("7"), "de", places=2) == "7,00"
    assert format_decimal(Decimal("2.345"), "en", places=2) == "2.35"


def test_format_datetime_converts_timezone() -> None:
    moment = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert format_datetime(moment, "de", "Europe/Berlin", "yyyy-MM-dd HH:mm") == "2025-03-01 13:00"
    assert format_datetime(moment, "en", "America/New_York", "yyyy-MM-dd HH:mm") == "2025-03-01 07:00"
    # Summer time is taken from the date, not a fixed offset.
    summer = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)
    assert format_datetime(summer, "de", "Europe/Berlin", "HH:mm zzz") == "14:00 MESZ"
    assert format_datetime(moment, "de", "Europe/Berlin") == "01.03.2025, 13:00:00"
    assert format_datetime(moment, "en") == "Mar 1, 2025, 12:00:00\u202fPM"


def test_format_datetime_naive_is_wall_time() -> None:
    naive = datetime(2025, 3, 1, 12, 0)
    assert format_datetime(naive, "de", "Europe/Berlin", "HH:mm") == "12:00"


def test_format_datetime_unknown_timezone() -> None:
    with pytest.raises(I18nError, match="Mars/Olympus"):
        format_datetime(datetime(2025, 1, 1, tzinfo=UTC), "en", "Mars/Olympus")


def test_format_date() -> None:
    assert format_date(date(2025, 3, 1), "de") == "01.03.2025"
    assert format_date(date(2025, 3, 1), "en") == "Mar 1, 2025"
    assert format_date(date(2025, 3, 1), "de", format="long") == "1. März 2025"
    with use_locale("de"):
        assert format_date(date(2025, 3, 1)) == "01.03.2025"
