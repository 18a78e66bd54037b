"""Tests for the plugin base classes in ``boxoffice.hookspecs.providers`` (no database needed)."""

from __future__ import annotations

import io
import itertools
import logging
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from pypdf import PdfReader
from reportlab.pdfgen import canvas

from boxoffice.hookspecs.providers import (
    SHRED_MASK,
    TRANSMISSION_STATUSES,
    DataShredder,
    Exporter,
    FeeLine,
    JobDefinition,
    ListExporter,
    OrganizerExporter,
    OutboundSyncProvider,
    PaymentException,
    PaymentProvider,
    ProgressTotal,
    PropertyMapping,
    RecoverableSyncError,
    SettingDefault,
    SimpleTextPlaceholder,
    StaticMapping,
    SyncConfigError,
    SyncError,
    TextPlaceholder,
    TicketOutput,
    TransmissionProvider,
    TransmissionType,
    UnrecoverableSyncError,
    ValidationFailure,
    assign_properties,
    mask,
    render_placeholders,
)


class DictSettings:
    """Stand-in for the kernel's prefixed settings sandbox."""

    def __init__(self, **values: Any) -> None:
        self.values = dict(values)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value


def make_event(**extra: Any) -> SimpleNamespace:
    return SimpleNamespace(slug="democon", timezone="UTC", currency="EUR", **extra)


# --------------------------------------------------------------------------------------------------------------
# Shared value types
# --------------------------------------------------------------------------------------------------------------


def test_validation_failure_keeps_message_and_field():
    exc = ValidationFailure("Sold out.", field="item")
    assert exc.message == "Sold out."
    assert exc.field == "item"
    assert str(exc) == "Sold out."
    assert ValidationFailure("No.").field is None


def test_value_types_defaults():
    setting = SettingDefault("myplugin_key", 3, int)
    assert (setting.public, setting.description) == (False, "")
    assert SettingDefault("k", "x").type is str
    job = JobDefinition("cleanup", lambda context: None)
    assert (job.queue, job.every_seconds) == ("default", None)
    fee = FeeLine("service", Decimal("1.50"))
    assert (fee.description, fee.internal_type, fee.tax_rule_id) == ("", "", None)
    with pytest.raises(ValueError, match="fee_type"):
        FeeLine("tip", Decimal(1))


# --------------------------------------------------------------------------------------------------------------
# Payments
# --------------------------------------------------------------------------------------------------------------


class CardProvider(PaymentProvider):
    identifier = "card"
    verbose_name = "Credit card (Acme Pay)"

    def execute_payment(self, payment: Any) -> str | None:
        return None


def card(**settings: Any) -> CardProvider:
    return CardProvider(make_event(), DictSettings(**settings))


def test_payment_provider_requires_identifier_and_verbose_name():
    class NoIdentifier(PaymentProvider):
        verbose_name = "x"

        def execute_payment(self, payment: Any) -> str | None:
            return None

    class BadIdentifier(NoIdentifier):
        identifier = "Bad-Name"

    class NoName(PaymentProvider):
        identifier = "noname"

        def execute_payment(self, payment: Any) -> str | None:
            return None

    with pytest.raises(TypeError, match="identifier"):
        NoIdentifier(make_event(), DictSettings())
    with pytest.raises(TypeError, match="identifier"):
        BadIdentifier(make_event(), DictSettings())
    with pytest.raises(TypeError, match="verbose_name"):
        NoName(make_event(), DictSettings())


def test_payment_provider_defaults():
    provider = card()
    assert provider.public_name == "Credit card (Acme Pay)"
    assert provider.priority == 100
    assert provider.is_implicit is False
    assert provider.abort_pending_allowed is False
    assert provider.is_enabled is False
    assert card(_enabled=True).is_enabled is True
    assert card(_enabled="false").is_enabled is False
    assert provider.checkout_prepare({}) is True
    assert provider.payment_pending_instructions(object()) == ""
    assert provider.payment_refund_supported(object()) is False
    assert provider.payment_partial_refund_supported(object()) is False
    assert provider.api_payment_details(object()) == {}
    assert provider.matching_id(object()) is None
    with pytest.raises(PaymentException, match="refund") as info:
        provider.execute_refund(object())
    assert "Acme Pay" in info.value.message


def test_settings_schema_lists_common_keys_with_defaults():
    schema = card().settings_schema
    expected = {
        "_enabled",
        "_fee_abs",
        "_fee_percent",
        "_fee_reverse_calc",
        "_total_min",
        "_total_max",
        "_availability_date",
        "_restricted_countries",
    }
    assert expected <= set(schema)
    assert all(isinstance(entry, SettingDefault) and entry.key == key for key, entry in schema.items())
    assert schema["_enabled"].default is False
    assert schema["_fee_reverse_calc"].default is True
    assert schema["_fee_abs"].type is Decimal
    assert schema["_availability_date"].type is date


def test_fee_absolute_only():
    assert card(_fee_abs=Decimal("0.35")).calculate_fee(Decimal("100.00")) == Decimal("0.35")
    assert card().calculate_fee(Decimal("100.00")) == Decimal("0.00")
    assert str(card().calculate_fee(Decimal("100.00"))) == "0.00"


def test_fee_percent_forward():
    provider = card(_fee_abs=Decimal("0.30"), _fee_percent=Decimal("2.9"), _fee_reverse_calc=False)
    assert provider.calculate_fee(Decimal("100.00")) == Decimal("3.20")


def test_fee_percent_reverse_lets_organizer_keep_price():
    provider = card(_fee_abs=Decimal("0.30"), _fee_percent=Decimal("2.9"), _fee_reverse_calc=True)
    price = Decimal("100.00")
    fee = provider.calculate_fee(price)
    # (100.30 / 0.971) - 100 = 3.2955… → 3.30
    assert fee == Decimal("3.30")
    paid = price + fee
    kept = paid - paid * Decimal("0.029") - Decimal("0.30")
    assert kept >= price
    assert kept - price < Decimal("0.01")


def test_fee_reverse_is_the_default():
    provider = card(_fee_percent=Decimal("10"))
    assert provider.calculate_fee(Decimal("90.00")) == Decimal("10.00")


def test_fee_rounding_is_half_up():
    provider = card(_fee_percent=Decimal("1"), _fee_reverse_calc=False)
    # 10.50 * 1% = 0.105: banker's rounding would give 0.10
    assert provider.calculate_fee(Decimal("10.50")) == Decimal("0.11")
    assert provider.calculate_fee(Decimal("10.40")) == Decimal("0.10")


def test_fee_currency_places_and_text_settings():
    provider = card(_fee_abs="25", _fee_percent="3.5", _fee_reverse_calc="0")
    assert provider.calculate_fee(Decimal("1000"), currency_places=0) == Decimal("60")
    assert provider.calculate_fee(Decimal("1000"), currency_places=0).as_tuple().exponent == 0
    with pytest.raises(ValueError):
        card(_fee_percent=Decimal("100")).calculate_fee(Decimal("10"))


def test_is_allowed_total_limits_are_inclusive():
    provider = card(_total_min=Decimal("10.00"), _total_max="500")
    assert provider.is_allowed(Decimal("9.99")) is False
    assert provider.is_allowed(Decimal("10.00")) is True
    assert provider.is_allowed(Decimal("500.00")) is True
    assert provider.is_allowed(Decimal("500.01")) is False
    assert card().is_allowed(Decimal("1000000")) is True


def test_is_allowed_availability_date_uses_event_timezone():
    settings = DictSettings(_availability_date=date(2025, 3, 1))
    late_evening_utc = datetime(2025, 3, 1, 23, 30, tzinfo=UTC)
    in_utc = CardProvider(make_event(), settings)
    assert in_utc.is_allowed(Decimal(10), now=late_evening_utc) is True
    assert in_utc.is_allowed(Decimal(10), now=late_evening_utc + timedelta(hours=1)) is False
    berlin = CardProvider(SimpleNamespace(slug="x", timezone="Europe/Berlin"), settings)
    # 23:30 UTC is already 2 March in Berlin
    assert berlin.is_allowed(Decimal(10), now=late_evening_utc) is False
    assert berlin.is_allowed(Decimal(10), now=datetime(2025, 3, 1, 22, 30, tzinfo=UTC)) is True
    assert card(_availability_date="2999-01-01").is_allowed(Decimal(10)) is True
    assert card(_availability_date="2000-01-01").is_allowed(Decimal(10)) is False


def test_is_allowed_country_restriction():
    provider = card(_restricted_countries=["DE", "at"])
    assert provider.is_allowed(Decimal(10), country="DE") is True
    assert provider.is_allowed(Decimal(10), country="at") is True
    assert provider.is_allowed(Decimal(10), country="FR") is False
    assert provider.is_allowed(Decimal(10), country=None) is False
    assert card(_restricted_countries=[]).is_allowed(Decimal(10), country=None) is True


def test_shred_payment_info_keeps_storage_form():
    provider = card()
    text_info = SimpleNamespace(info='{"iban": "DE02120300000000202051"}')
    dict_info = SimpleNamespace(info={"iban": "DE02120300000000202051"})
    provider.shred_payment_info(text_info)
    provider.shred_payment_info(dict_info)
    assert text_info.info == "{}"
    assert dict_info.info == {}


# --------------------------------------------------------------------------------------------------------------
# Ticket outputs
# --------------------------------------------------------------------------------------------------------------


def tiny_pdf(text: str) -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(100, 700, text)
    page.showPage()
    page.save()
    return buffer.getvalue()


class PdfOutput(TicketOutput):
    identifier = "pdf"
    verbose_name = "PDF"

    def generate(self, position: Any) -> tuple[str, str, bytes]:
        return f"ticket-{position.id}.pdf", "application/pdf", tiny_pdf(f"Ticket {position.id}")


class MixedOutput(TicketOutput):
    identifier = "mixed"
    verbose_name = "Mixed"

    def generate(self, position: Any) -> tuple[str, str, bytes]:
        if position.id == 1:
            return "ticket.pdf", "application/pdf", b"%PDF-fake"
        return "ticket.pdf", "application/vnd.apple.pkpass", f"pass {position.id}".encode()


def order_with(*ids: int) -> SimpleNamespace:
    return SimpleNamespace(code="ABC12", positions=[SimpleNamespace(id=i) for i in ids])


def test_ticket_output_defaults():
    output = PdfOutput(make_event(), DictSettings())
    assert output.is_enabled is True
    assert PdfOutput(make_event(), DictSettings(_enabled=False)).is_enabled is False
    assert output.multi_download_enabled is True
    assert "PDF" in output.download_button_text


def test_generate_order_merges_pdfs():
    filename, content_type, content = PdfOutput(make_event(), DictSettings()).generate_order(order_with(1, 2))
    assert (filename, content_type) == ("ABC12.pdf", "application/pdf")
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 2
    assert "Ticket 1" in reader.pages[0].extract_text()
    assert "Ticket 2" in reader.pages[1].extract_text()


def test_generate_order_zips_mixed_formats_without_losing_files():
    filename, content_type, content = MixedOutput(make_event(), DictSettings()).generate_order(order_with(1, 2, 3))
    assert (filename, content_type) == ("ABC12.zip", "application/zip")
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.namelist() == ["ticket.pdf", "ticket-2.pdf", "ticket-3.pdf"]
        assert archive.read("ticket.pdf") == b"%PDF-fake"
        assert archive.read("ticket-3.pdf") == b"pass 3"


def test_generate_order_refused_when_multi_download_disabled():
    class SingleOnly(PdfOutput):
        multi_download_enabled = False

    with pytest.raises(NotImplementedError):
        SingleOnly(make_event(), DictSettings()).generate_order(order_with(1))


# --------------------------------------------------------------------------------------------------------------
# Exporters
# --------------------------------------------------------------------------------------------------------------


class ParamExporter(Exporter):
    identifier = "params"
    verbose_name = "Parameters"
    input_parameters = {
        "status": {"type": "string", "required": True, "choices": ["paid", "pending"]},
        "limit": {"type": "integer", "default": 10},
        "since": {"type": "date"},
        "until": {"type": "datetime"},
        "paid_only": {"type": "boolean", "default": False},
        "min_total": {"type": "number"},
        "items": {"type": "list", "choices": [(1, "One"), (2, "Two")]},
        "note": {},
    }

    def render(self, params: Any, progress: Any) -> tuple[str, str, bytes]:
        raise NotImplementedError


def test_validate_parameters_converts_and_fills_defaults():
    exporter = ParamExporter(make_event())
    cleaned = exporter.validate_parameters(
        {
            "status": "paid",
            "limit": "25",
            "since": "2025-01-31",
            "until": "2025-02-01T10:00:00+01:00",
            "paid_only": "true",
            "min_total": "12.50",
            "items": [2, 1],
            "note": "",
        }
    )
    assert cleaned == {
        "status": "paid",
        "limit": 25,
        "since": date(2025, 1, 31),
        "until": datetime.fromisoformat("2025-02-01T10:00:00+01:00"),
        "paid_only": True,
        "min_total": Decimal("12.50"),
        "items": [2, 1],
        "note": "",
    }
    # validating again (as the job does) changes nothing
    assert exporter.validate_parameters(cleaned) == cleaned
    minimal = exporter.validate_parameters({"status": "pending"})
    assert minimal["limit"] == 10
    assert minimal["paid_only"] is False
    assert minimal["since"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "status"),
        ({"status": ""}, "status"),
        ({"status": "refunded"}, "status"),
        ({"status": 5}, "status"),
        ({"status": "paid", "limit": "ten"}, "limit"),
        ({"status": "paid", "limit": True}, "limit"),
        ({"status": "paid", "since": "31.01.2025"}, "since"),
        ({"status": "paid", "paid_only": "maybe"}, "paid_only"),
        ({"status": "paid", "min_total": "lots"}, "min_total"),
        ({"status": "paid", "items": [3]}, "items"),
        ({"status": "paid", "items": "1"}, "items"),
        ({"status": "paid", "colour": "red"}, "colour"),
    ],
)
def test_validate_parameters_rejects_bad_input(params, field):
    with pytest.raises(ValidationFailure) as info:
        ParamExporter(make_event()).validate_parameters(params)
    assert info.value.field == field
    assert info.value.message


class AttendeeList(ListExporter):
    identifier = "attendees"
    verbose_name = "Attendees"
    input_parameters = {"with_total": {"type": "boolean", "default": True}}

    rows = (
        ("Name", "Note", "Date", "Price"),
        ("Zoë Ünal", "likes ; and , chars", date(2025, 5, 1), Decimal("12.50")),
        ("=HYPERLINK(1)", None, None, Decimal("0")),
    )

    def iterate_rows(self, params: dict[str, Any]) -> Any:
        if params["with_total"]:
            yield ProgressTotal(len(self.rows) - 1)
        yield from self.rows


def run_list(fmt: str | None, **params: Any) -> tuple[str, str, bytes, list[int]]:
    reported: list[int] = []
    if fmt is not None:
        params["_format"] = fmt
    filename, content_type, content = AttendeeList(make_event()).render(params, reported.append)
    return filename, content_type, content, reported


def test_list_exporter_declares_format_parameter():
    assert list(AttendeeList.input_parameters) == ["_format", "with_total"]
    assert AttendeeList.input_parameters["_format"]["choices"] == [
        "default",
        "semicolon",
        "csv-excel",
        "xlsx",
        "json",
        "pdf",
    ]


def test_list_exporter_default_csv():
    filename, content_type, content, reported = run_list(None)
    assert filename == "democon_attendees.csv"
    assert content_type.startswith("text/csv")
    assert content.decode("utf-8") == (
        'Name,Note,Date,Price\r\nZoë Ünal,"likes ; and , chars",2025-05-01,12.50\r\n=HYPERLINK(1),,,0\r\n'
    )
    assert run_list("default")[2] == content
    assert reported[0] == 0
    assert reported[-1] == 100
    assert reported == sorted(reported)
    assert len(reported) > 2  # intermediate percentages from ProgressTotal


def test_list_exporter_without_total_reports_start_and_end():
    assert run_list(None, with_total=False)[3] == [0, 100]


def test_list_exporter_semicolon_csv():
    content = run_list("semicolon")[2]
    assert not content.startswith(b"\xef\xbb\xbf")
    assert content.decode("utf-8").splitlines()[1] == 'Zoë Ünal;"likes ; and , chars";2025-05-01;12.50'


def test_list_exporter_csv_excel_has_bom_and_defuses_formulas():
    content = run_list("csv-excel")[2]
    assert content.startswith(b"\xef\xbb\xbf")
    lines = content.decode("utf-8-sig").splitlines()
    assert lines[0] == "Name,Note,Date,Price"
    assert lines[2] == "'=HYPERLINK(1),,,0"


def test_list_exporter_pdf_is_a_printable_table():
    filename, content_type, content, reported = run_list("pdf")
    assert (filename, content_type) == ("democon_attendees.pdf", "application/pdf")
    assert reported[-1] == 100
    reader = PdfReader(io.BytesIO(content))
    text = "".join(page.extract_text() for page in reader.pages)
    for expected in ("Attendees", "Name", "Zoë Ünal", "likes ; and , chars", "2025-05-01", "12.50", "=HYPERLINK(1)"):
        assert expected in text
    page = reader.pages[0]
    assert float(page.mediabox.width) > float(page.mediabox.height)  # landscape


def test_list_exporter_pdf_repeats_the_header_on_every_page():
    class LongList(AttendeeList):
        rows = (("Name", "Seat"), *((f"Guest {n}", f"S{n}") for n in range(300)))

    _, _, content = LongList(make_event()).render({"_format": "pdf"}, lambda percent: None)
    pages = PdfReader(io.BytesIO(content)).pages
    assert len(pages) > 1
    assert all("Name" in page.extract_text() and "Seat" in page.extract_text() for page in pages)
    assert "Guest 299" in pages[-1].extract_text()


def test_list_exporter_rejects_unknown_format():
    with pytest.raises(ValidationFailure) as info:
        run_list("xls")
    assert info.value.field == "_format"


def test_organizer_list_exporter_uses_organizer_and_events():
    class EventNames(ListExporter, OrganizerExporter):
        identifier = "eventnames"
        verbose_name = "Event names"

        def iterate_rows(self, params: dict[str, Any]) -> Any:
            yield ("slug",)
            for event in self.events:
                yield (event.slug,)

    organizer = SimpleNamespace(slug="acme")
    exporter = EventNames(organizer, iter([SimpleNamespace(slug="a"), SimpleNamespace(slug="b")]))
    assert exporter.event is None
    filename, _, content = exporter.render({}, lambda percent: None)
    assert filename == "acme_eventnames.csv"
    assert content == b"slug\r\na\r\nb\r\n"


# --------------------------------------------------------------------------------------------------------------
# Placeholders
# --------------------------------------------------------------------------------------------------------------


class CountingPlaceholder(TextPlaceholder):
    identifier = "code"
    required_context = ("order",)

    def __init__(self) -> None:
        self.calls = 0

    def render(self, context: Any) -> str:
        self.calls += 1
        return context["order"].code

    def render_sample(self, event: Any) -> str:
        return "F8VVL"


def test_render_placeholders_replaces_known_and_keeps_unknown():
    event_name = SimpleTextPlaceholder("event", ("event",), lambda event: event.slug, "Sample Con")
    text = "Order {code} for {event}: {unknown} {{code}} { code } {}"
    result = render_placeholders(
        text, [CountingPlaceholder(), event_name], {"event": make_event(), "order": SimpleNamespace(code="Q7X")}
    )
    assert result == "Order Q7X for democon: {unknown} {Q7X} { code } {}"


def test_render_placeholders_filters_by_context():
    result = render_placeholders("Code {code}", [CountingPlaceholder()], {"event": make_event()})
    assert result == "Code {code}"


def test_render_placeholders_caches_each_identifier():
    placeholder = CountingPlaceholder()
    result = render_placeholders("{code} {code} {code}", [placeholder], {"order": SimpleNamespace(code="A1")})
    assert result == "A1 A1 A1"
    assert placeholder.calls == 1


def test_render_placeholders_first_of_duplicate_identifiers_wins():
    first = SimpleTextPlaceholder("name", ("event",), lambda event: "first", "s")
    second = SimpleTextPlaceholder("name", ("event",), lambda event: "second", "s")
    assert render_placeholders("{name}", [first, second], {"event": make_event()}) == "first"


def test_render_placeholders_error_is_contained(caplog):
    def broken(event: Any) -> str:
        raise RuntimeError("boom")

    placeholders = [
        SimpleTextPlaceholder("broken", ("event",), broken, "x"),
        SimpleTextPlaceholder("fine", ("event",), lambda event: "ok", "x"),
    ]
    with caplog.at_level(logging.ERROR, logger="boxoffice.hookspecs.providers"):
        result = render_placeholders("{broken}/{fine}", placeholders, {"event": make_event()})
    assert result == "(error)/ok"
    assert any("broken" in record.getMessage() for record in caplog.records)


def test_simple_placeholder_samples_and_validation():
    fixed = SimpleTextPlaceholder("code", ["order"], lambda order: order.code, "F8VVL")
    assert fixed.required_context == ("order",)
    assert fixed.render_sample(make_event()) == "F8VVL"
    dynamic = SimpleTextPlaceholder("slug", ("event",), lambda event: event.slug, lambda event: event.slug.upper())
    assert dynamic.render_sample(make_event()) == "DEMOCON"
    assert dynamic.render({"event": make_event()}) == "democon"
    with pytest.raises(ValueError):
        SimpleTextPlaceholder("two words", ("event",), str, "")
    with pytest.raises(TypeError):

        class Broken(TextPlaceholder):
            identifier = "has space"


# --------------------------------------------------------------------------------------------------------------
# Shredders
# --------------------------------------------------------------------------------------------------------------


def test_mask_keeps_length():
    assert mask("alice@example.org") == SHRED_MASK * 17
    assert mask("") == ""
    assert mask(None) is None
    assert SHRED_MASK == "█"


def test_data_shredder_contract():
    class EmailShredder(DataShredder):
        identifier = "emails"
        verbose_name = "E-mail addresses"
        description = "Removes buyer e-mail addresses."

        def generate_files(self) -> Any:
            yield "emails.txt", "text/plain", b"a@example.org"

        def shred_data(self, progress: Any = None) -> None:
            if progress:
                progress(100)

    shredder = EmailShredder(make_event())
    assert (shredder.tax_relevant, shredder.require_download_confirmation) == (False, False)
    assert list(shredder.generate_files()) == [("emails.txt", "text/plain", b"a@example.org")]
    reported: list[int] = []
    shredder.shred_data(reported.append)
    assert reported == [100]


# --------------------------------------------------------------------------------------------------------------
# Invoicing
# --------------------------------------------------------------------------------------------------------------


def test_transmission_type_field_prefix_is_enforced():
    class Peppol(TransmissionType):
        identifier = "peppol"
        verbose_name = "PEPPOL"
        address_fields = {"transmission_peppol_id": "Participant ID"}

    peppol = Peppol()
    assert peppol.public_name == "PEPPOL"
    assert peppol.priority == 100
    assert peppol.enforce_transmission is False
    assert peppol.is_exclusive(None, "BE", True) is False
    assert peppol.validate_address({}) == {}

    with pytest.raises(TypeError, match="transmission_sdi_"):

        class WrongPrefix(TransmissionType):
            identifier = "sdi"
            address_fields = {"transmission_peppol_id": "x", "transmission_sdi_code": "y"}

    with pytest.raises(TypeError):

        class OnlyPrefix(TransmissionType):
            identifier = "sdi"
            address_fields = {"transmission_sdi_": "x"}


def test_transmission_provider_needs_type():
    class Acme(TransmissionProvider):
        identifier = "acme_sdi"
        type = "it_sdi"
        verbose_name = "Acme SDI"

        def is_ready(self, event: Any) -> bool:
            return True

        def is_available(self, event: Any, country: str | None, is_business: bool) -> bool:
            return country == "IT"

        def transmit(self, invoice: Any) -> None:
            invoice.transmission_status = "completed"

    class Untyped(Acme):
        type = ""

    provider = Acme()
    assert (provider.priority, provider.testmode_supported, provider.settings_url(None)) == (100, False, None)
    with pytest.raises(TypeError, match="type"):
        Untyped()
    assert TRANSMISSION_STATUSES == ("unknown", "pending", "inflight", "completed", "failed")


# --------------------------------------------------------------------------------------------------------------
# Data sync
# --------------------------------------------------------------------------------------------------------------


def test_assign_properties_overwrite():
    result = assign_properties(
        [("email", "new@example.org", "overwrite"), ("name", "Same", "overwrite")],
        {"email": "old@example.org", "name": "Same"},
        is_new=False,
        list_sep=",",
    )
    assert result == {"email": "new@example.org"}


def test_assign_properties_if_new():
    values = [("source", "boxoffice", "if_new")]
    assert assign_properties(values, {}, is_new=True, list_sep=",") == {"source": "boxoffice"}
    assert assign_properties(values, {"source": "crm"}, is_new=False, list_sep=",") == {}


def test_assign_properties_if_empty():
    values = [("phone", "+491234", "if_empty")]
    assert assign_properties(values, {"phone": ""}, is_new=False, list_sep=",") == {"phone": "+491234"}
    assert assign_properties(values, {"phone": None}, is_new=False, list_sep=",") == {"phone": "+491234"}
    assert assign_properties(values, {}, is_new=False, list_sep=",") == {"phone": "+491234"}
    assert assign_properties(values, {"phone": "+4999"}, is_new=False, list_sep=",") == {}


def test_assign_properties_append_with_separator():
    values = [("tags", ["vip", "speaker"], "append"), ("tags", "press", "append")]
    result = assign_properties(values, {"tags": "speaker,alumni"}, is_new=False, list_sep=",")
    assert result == {"tags": "speaker,alumni,vip,press"}
    # nothing new to add → nothing to write
    unchanged = assign_properties([("tags", ["alumni"], "append")], {"tags": "speaker,alumni"}, False, ",")
    assert unchanged == {}


def test_assign_properties_append_native_lists():
    result = assign_properties([("tags", ["b", "c", "b"], "append")], {"tags": ["a", "b"]}, False, None)
    assert result == {"tags": ["a", "b", "c"]}
    assert assign_properties([("tags", ["x"], "overwrite")], {}, True, None) == {"tags": ["x"]}
    assert assign_properties([("tags", ["x", "y"], "overwrite")], {}, True, ";") == {"tags": "x;y"}


def test_assign_properties_unknown_mode():
    with pytest.raises(SyncConfigError):
        assign_properties([("a", 1, "sometimes")], {}, True, ",")


def test_mappings_validate_and_map_values():
    status = PropertyMapping("order_status", "Status", {"n": "pending", "p": "paid"})
    assert status.mode == "overwrite"
    assert status.map_value("p") == "paid"
    assert status.map_value(["n", "p"]) == ["pending", "paid"]
    assert status.map_value(None) is None
    assert PropertyMapping("email", "Email").map_value("a@b.c") == "a@b.c"
    with pytest.raises(SyncConfigError) as info:
        status.map_value("x")
    assert info.value.failure_mode == "config"
    with pytest.raises(ValueError):
        PropertyMapping("a", "b", mode="sometimes")  # type: ignore[arg-type]
    mapping = StaticMapping(1, "Order", "Contact", "email", "email", [status])
    assert mapping.property_mappings == [status]
    with pytest.raises(ValueError):
        StaticMapping(2, "Invoice", "Doc", "id", "id")  # type: ignore[arg-type]


def test_sync_errors_carry_failure_modes():
    assert RecoverableSyncError("timeout").failure_mode == "retry"
    assert UnrecoverableSyncError("refused").failure_mode == "permanent"
    assert SyncConfigError("bad field").failure_mode == "config"
    assert issubclass(SyncConfigError, UnrecoverableSyncError)
    assert issubclass(RecoverableSyncError, SyncError)
    error = SyncError(["a", "b"])
    assert error.messages == ["a", "b"]
    assert str(error) == "a; b"
    assert str(SyncError("short", full_message="HTTP 500: long body")) == "HTTP 500: long body"


class ListSync(OutboundSyncProvider):
    identifier = "my_list"
    display_name = "My list"
    mappings = [StaticMapping(1, "Order", "Contact", "email", "email")]

    def __init__(self, event: Any) -> None:
        super().__init__(event)
        self.closed = 0

    def sync_object_with_properties(self, external_id_field, id_value, properties, inputs, mapping, mapped_objects):
        return None

    def close(self) -> None:
        self.closed += 1


def test_sync_provider_back_off():
    provider = ListSync(make_event())
    delays = [provider.next_retry_delay(n) for n in range(1, 10)]
    assert delays[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert delays[6:] == [timedelta(hours=1)] * 3
    assert all(a <= b for a, b in itertools.pairwise(delays))
    assert provider.next_retry_delay(0) == timedelta(minutes=1)
    assert provider.next_retry_delay(10_000) == timedelta(hours=1)


def test_sync_provider_defaults_and_context_manager():
    with ListSync(make_event()) as provider:
        assert provider.max_attempts == 5
        assert provider.list_field_joiner == ","
        assert provider.should_sync_order(object()) is True
        assert provider.finalize_sync_order(object()) is None
    assert provider.closed == 1
    failing = ListSync(make_event())
    with pytest.raises(RuntimeError), failing:
        raise RuntimeError("batch failed")
    assert failing.closed == 1
