"""Items (products): list with filters and ``Last-Modified``, detail, create (with variations, add-ons, bundles and
program times), PATCH/PUT, DELETE and the item picture.

Also the request/response structs, validation and serialisation of the item sub-resources (variations, add-ons,
bundles), because an item is created together with them; their endpoints live in ``item_variations``,
``item_addons`` and ``item_bundles``.

Categories, tax rules, quotas, sales channels and membership types belong to other areas: ids sent by clients are
checked with plain SQL against their tables (looked up by name in the metadata), so this module works before and
after those areas exist.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response, delete, get, patch, post, put
from litestar.concurrency import sync_to_thread
from litestar.params import FromPath, JSONBody
from sqlalchemy import Select, Text, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from boxoffice.apps.api.auth import credentials_key
from boxoffice.apps.api.errors import ApiError, FieldErrors, not_found
from boxoffice.apps.api.resources.item_meta_properties import named_meta, property_names, validate_meta_data
from boxoffice.apps.api.toolkit import Call, Page, in_call, money, parse_bool, utc
from boxoffice.kernel import clock
from boxoffice.kernel.db import Base
from boxoffice.kernel.models import Event, Organizer
from boxoffice.kernel.models.api_state import UploadedFile
from boxoffice.kernel.models.items import (
    Item,
    ItemAddOn,
    ItemBundle,
    ItemPicture,
    ItemProgramTime,
    ItemVariation,
)

T = TypeVar("T")
Multilingual = dict[str, str]
PERMISSION = "event.items:write"
RESOURCE = "items"

# Limits of the columns (32-bit integers, Numeric(13, 2)) and sensible bounds for free text.
MAX_INT = 2**31 - 1
MAX_MONEY = Decimal("99999999999.99")
CENT = Decimal("0.01")
NAME_LENGTH = 255
TEXT_LENGTH = 2000
DESCRIPTION_LENGTH = 100_000
LANGUAGE_LENGTH = 20
CHANNEL_LENGTH = 190
MAX_LIST = 1000

MODES = ("hide", "info")
VALIDITY_MODES = (None, "fixed", "dynamic")
MEDIA_POLICIES = (None, "new", "reuse", "reuse_or_new")
MEDIA_TYPES = ("barcode", "nfc_uid", "nfc_mf0aes")
PICTURE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
PICTURE_SIGNATURES = {
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "webp": (b"RIFF",),
}
UPLOAD_LIFETIME = timedelta(hours=24)
REQUIRED = "This field is required."
NUL_MESSAGE = "Null characters are not allowed."
ADDON_CLASH = "The product already has an add-on slot for this category."
NOT_NULL = "This field may not be null."


# --- request bodies ---------------------------------------------------------------------------------------------


class VariationIn(msgspec.Struct):
    """Writable variation fields; on PATCH only the fields sent are changed."""

    value: Multilingual | msgspec.UnsetType = msgspec.UNSET
    default_price: Decimal | msgspec.UnsetType | None = msgspec.UNSET
    free_price_suggestion: Decimal | msgspec.UnsetType | None = msgspec.UNSET
    original_price: Decimal | msgspec.UnsetType | None = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
    description: Multilingual | msgspec.UnsetType | None = msgspec.UNSET
    position: int | msgspec.UnsetType = msgspec.UNSET
    checkin_attention: bool | msgspec.UnsetType = msgspec.UNSET
    checkin_text: str | msgspec.UnsetType | None = msgspec.UNSET
    require_approval: bool | msgspec.UnsetType = msgspec.UNSET
    require_membership: bool | msgspec.UnsetType = msgspec.UNSET
    require_membership_hidden: bool | msgspec.UnsetType = msgspec.UNSET
    require_membership_types: list[int] | msgspec.UnsetType = msgspec.UNSET
    all_sales_channels: bool | msgspec.UnsetType = msgspec.UNSET
    limit_sales_channels: list[str] | msgspec.UnsetType = msgspec.UNSET
    sales_channels: list[str] | msgspec.UnsetType = msgspec.UNSET
    available_from: datetime | msgspec.UnsetType | None = msgspec.UNSET
    available_from_mode: str | msgspec.UnsetType = msgspec.UNSET
    available_until: datetime | msgspec.UnsetType | None = msgspec.UNSET
    available_until_mode: str | msgspec.UnsetType = msgspec.UNSET
    hide_without_voucher: bool | msgspec.UnsetType = msgspec.UNSET
    meta_data: dict[str, str] | msgspec.UnsetType = msgspec.UNSET


class AddOnIn(msgspec.Struct):
    addon_category: int | msgspec.UnsetType = msgspec.UNSET
    min_count: int | msgspec.UnsetType = msgspec.UNSET
    max_count: int | msgspec.UnsetType = msgspec.UNSET
    position: int | msgspec.UnsetType = msgspec.UNSET
    multi_allowed: bool | msgspec.UnsetType = msgspec.UNSET
    price_included: bool | msgspec.UnsetType = msgspec.UNSET


class BundleIn(msgspec.Struct):
    bundled_item: int | msgspec.UnsetType = msgspec.UNSET
    bundled_variation: int | msgspec.UnsetType | None = msgspec.UNSET
    count: int | msgspec.UnsetType = msgspec.UNSET
    designated_price: Decimal | msgspec.UnsetType = msgspec.UNSET


class ProgramTimeIn(msgspec.Struct):
    start: datetime | msgspec.UnsetType = msgspec.UNSET
    end: datetime | msgspec.UnsetType = msgspec.UNSET
    location: Multilingual | msgspec.UnsetType | None = msgspec.UNSET


class ItemIn(msgspec.Struct):
    """Writable item fields. ``variations``, ``addons``, ``bundles`` and ``program_times`` count only on create
    (afterwards they have their own endpoints); ``picture`` takes a ``file:<id>`` from the upload endpoint."""

    name: Multilingual | msgspec.UnsetType = msgspec.UNSET
    internal_name: str | msgspec.UnsetType | None = msgspec.UNSET
    default_price: Decimal | msgspec.UnsetType = msgspec.UNSET
    category: int | msgspec.UnsetType | None = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
    description: Multilingual | msgspec.UnsetType | None = msgspec.UNSET
    free_price: bool | msgspec.UnsetType = msgspec.UNSET
    free_price_suggestion: Decimal | msgspec.UnsetType | None = msgspec.UNSET
    tax_rule: int | msgspec.UnsetType | None = msgspec.UNSET
    admission: bool | msgspec.UnsetType = msgspec.UNSET
    personalized: bool | msgspec.UnsetType = msgspec.UNSET
    position: int | msgspec.UnsetType = msgspec.UNSET
    picture: str | msgspec.UnsetType | None = msgspec.UNSET
    all_sales_channels: bool | msgspec.UnsetType = msgspec.UNSET
    limit_sales_channels: list[str] | msgspec.UnsetType = msgspec.UNSET
    sales_channels: list[str] | msgspec.UnsetType = msgspec.UNSET
    available_from: datetime | msgspec.UnsetType | None = msgspec.UNSET
    available_from_mode: str | msgspec.UnsetType = msgspec.UNSET
    available_until: datetime | msgspec.UnsetType | None = msgspec.UNSET
    available_until_mode: str | msgspec.UnsetType = msgspec.UNSET
    hidden_if_available: int | msgspec.UnsetType | None = msgspec.UNSET
    hidden_if_item_available: int | msgspec.UnsetType | None = msgspec.UNSET
    hidden_if_item_available_mode: str | msgspec.UnsetType = msgspec.UNSET
    require_voucher: bool | msgspec.UnsetType = msgspec.UNSET
    hide_without_voucher: bool | msgspec.UnsetType = msgspec.UNSET
    allow_cancel: bool | msgspec.UnsetType = msgspec.UNSET
    min_per_order: int | msgspec.UnsetType | None = msgspec.UNSET
    max_per_order: int | msgspec.UnsetType | None = msgspec.UNSET
    checkin_attention: bool | msgspec.UnsetType = msgspec.UNSET
    checkin_text: str | msgspec.UnsetType | None = msgspec.UNSET
    original_price: Decimal | msgspec.UnsetType | None = msgspec.UNSET
    require_approval: bool | msgspec.UnsetType = msgspec.UNSET
    require_bundling: bool | msgspec.UnsetType = msgspec.UNSET
    require_membership: bool | msgspec.UnsetType = msgspec.UNSET
    require_membership_hidden: bool | msgspec.UnsetType = msgspec.UNSET
    require_membership_types: list[int] | msgspec.UnsetType = msgspec.UNSET
    grant_membership_type: int | msgspec.UnsetType | None = msgspec.UNSET
    grant_membership_duration_like_event: bool | msgspec.UnsetType = msgspec.UNSET
    grant_membership_duration_days: int | msgspec.UnsetType = msgspec.UNSET
    grant_membership_duration_months: int | msgspec.UnsetType = msgspec.UNSET
    validity_mode: str | msgspec.UnsetType | None = msgspec.UNSET
    validity_fixed_from: datetime | msgspec.UnsetType | None = msgspec.UNSET
    validity_fixed_until: datetime | msgspec.UnsetType | None = msgspec.UNSET
    validity_dynamic_duration_minutes: int | msgspec.UnsetType | None = msgspec.UNSET
    validity_dynamic_duration_hours: int | msgspec.UnsetType | None = msgspec.UNSET
    validity_dynamic_duration_days: int | msgspec.UnsetType | None = msgspec.UNSET
    validity_dynamic_duration_months: int | msgspec.UnsetType | None = msgspec.UNSET
    validity_dynamic_start_choice: bool | msgspec.UnsetType = msgspec.UNSET
    validity_dynamic_start_choice_day_limit: int | msgspec.UnsetType | None = msgspec.UNSET
    generate_tickets: bool | msgspec.UnsetType | None = msgspec.UNSET
    allow_waitinglist: bool | msgspec.UnsetType = msgspec.UNSET
    issue_giftcard: bool | msgspec.UnsetType = msgspec.UNSET
    media_policy: str | msgspec.UnsetType | None = msgspec.UNSET
    media_type: str | msgspec.UnsetType | None = msgspec.UNSET
    show_quota_left: bool | msgspec.UnsetType | None = msgspec.UNSET
    meta_data: dict[str, str] | msgspec.UnsetType = msgspec.UNSET
    variations: list[VariationIn] | msgspec.UnsetType = msgspec.UNSET
    addons: list[AddOnIn] | msgspec.UnsetType = msgspec.UNSET
    bundles: list[BundleIn] | msgspec.UnsetType = msgspec.UNSET
    program_times: list[ProgramTimeIn] | msgspec.UnsetType = msgspec.UNSET


# What create and PUT start from (pretix's defaults). ``personalized`` follows ``admission`` unless sent.
ITEM_DEFAULTS: dict[str, Any] = {
    "internal_name": None,
    "category": None,
    "active": True,
    "description": None,
    "free_price": False,
    "free_price_suggestion": None,
    "tax_rule": None,
    "admission": False,
    "position": 0,
    "picture": None,
    "all_sales_channels": True,
    "limit_sales_channels": [],
    "available_from": None,
    "available_from_mode": "hide",
    "available_until": None,
    "available_until_mode": "hide",
    "hidden_if_available": None,
    "hidden_if_item_available": None,
    "hidden_if_item_available_mode": "hide",
    "require_voucher": False,
    "hide_without_voucher": False,
    "allow_cancel": True,
    "min_per_order": None,
    "max_per_order": None,
    "checkin_attention": False,
    "checkin_text": None,
    "original_price": None,
    "require_approval": False,
    "require_bundling": False,
    "require_membership": False,
    "require_membership_hidden": False,
    "require_membership_types": [],
    "grant_membership_type": None,
    "grant_membership_duration_like_event": True,
    "grant_membership_duration_days": 0,
    "grant_membership_duration_months": 0,
    "validity_mode": None,
    "validity_fixed_from": None,
    "validity_fixed_until": None,
    "validity_dynamic_duration_minutes": None,
    "validity_dynamic_duration_hours": None,
    "validity_dynamic_duration_days": None,
    "validity_dynamic_duration_months": None,
    "validity_dynamic_start_choice": False,
    "validity_dynamic_start_choice_day_limit": None,
    "generate_tickets": None,
    "allow_waitinglist": True,
    "issue_giftcard": False,
    "media_policy": None,
    "media_type": None,
    "show_quota_left": None,
    "meta_data": {},
}
ITEM_REQUIRED = ("name", "default_price")
# API field → column, where they differ.
ITEM_COLUMNS = {
    "category": "category_id",
    "tax_rule": "tax_rule_id",
    "hidden_if_available": "hidden_if_available_id",
    "hidden_if_item_available": "hidden_if_item_available_id",
}
NESTED = ("variations", "addons", "bundles", "program_times")

VARIATION_DEFAULTS: dict[str, Any] = {
    "default_price": None,
    "free_price_suggestion": None,
    "original_price": None,
    "active": True,
    "description": None,
    "position": 0,
    "checkin_attention": False,
    "checkin_text": None,
    "require_approval": False,
    "require_membership": False,
    "require_membership_hidden": False,
    "require_membership_types": [],
    "all_sales_channels": True,
    "limit_sales_channels": [],
    "available_from": None,
    "available_from_mode": "hide",
    "available_until": None,
    "available_until_mode": "hide",
    "hide_without_voucher": False,
    "meta_data": {},
}
ADDON_DEFAULTS: dict[str, Any] = {
    "min_count": 0,
    "max_count": 1,
    "position": 0,
    "multi_allowed": False,
    "price_included": False,
}
BUNDLE_DEFAULTS: dict[str, Any] = {"bundled_variation": None, "count": 1, "designated_price": Decimal("0.00")}


# --- response bodies --------------------------------------------------------------------------------------------


class VariationOut(msgspec.Struct):
    id: int
    value: Multilingual
    active: bool
    checkin_attention: bool
    checkin_text: str | None
    require_approval: bool
    require_membership: bool
    require_membership_hidden: bool
    require_membership_types: list[int]
    all_sales_channels: bool
    limit_sales_channels: list[str]
    sales_channels: list[str]
    available_from: datetime | None
    available_from_mode: str
    available_until: datetime | None
    available_until_mode: str
    hide_without_voucher: bool
    description: Multilingual | None
    position: int
    default_price: Decimal | None
    price: Decimal
    original_price: Decimal | None
    free_price_suggestion: Decimal | None
    meta_data: dict[str, str]


class AddOnOut(msgspec.Struct):
    id: int
    addon_category: int
    min_count: int
    max_count: int
    position: int
    multi_allowed: bool
    price_included: bool


class InlineAddOn(msgspec.Struct):
    addon_category: int
    min_count: int
    max_count: int
    position: int
    multi_allowed: bool
    price_included: bool


class BundleOut(msgspec.Struct):
    id: int
    bundled_item: int
    bundled_variation: int | None
    count: int
    designated_price: Decimal


class InlineBundle(msgspec.Struct):
    bundled_item: int
    bundled_variation: int | None
    count: int
    designated_price: Decimal


class ProgramTimeOut(msgspec.Struct):
    start: datetime
    end: datetime


class ItemOut(msgspec.Struct):
    id: int
    category: int | None
    name: Multilingual
    internal_name: str | None
    active: bool
    all_sales_channels: bool
    limit_sales_channels: list[str]
    description: Multilingual | None
    default_price: Decimal
    free_price: bool
    free_price_suggestion: Decimal | None
    tax_rate: Decimal
    tax_rule: int | None
    admission: bool
    personalized: bool
    position: int
    picture: str | None
    available_from: datetime | None
    available_from_mode: str
    available_until: datetime | None
    available_until_mode: str
    require_voucher: bool
    hide_without_voucher: bool
    allow_cancel: bool
    require_bundling: bool
    min_per_order: int | None
    max_per_order: int | None
    checkin_attention: bool
    checkin_text: str | None
    has_variations: bool
    variations: list[VariationOut]
    addons: list[InlineAddOn]
    bundles: list[InlineBundle]
    program_times: list[ProgramTimeOut]
    original_price: Decimal | None
    require_approval: bool
    generate_tickets: bool | None
    show_quota_left: bool | None
    hidden_if_available: int | None
    hidden_if_item_available: int | None
    hidden_if_item_available_mode: str
    allow_waitinglist: bool
    issue_giftcard: bool
    meta_data: dict[str, str]
    require_membership: bool
    require_membership_types: list[int]
    require_membership_hidden: bool
    grant_membership_type: int | None
    grant_membership_duration_like_event: bool
    grant_membership_duration_days: int
    grant_membership_duration_months: int
    validity_mode: str | None
    validity_fixed_from: datetime | None
    validity_fixed_until: datetime | None
    validity_dynamic_duration_minutes: int | None
    validity_dynamic_duration_hours: int | None
    validity_dynamic_duration_days: int | None
    validity_dynamic_duration_months: int | None
    validity_dynamic_start_choice: bool
    validity_dynamic_start_choice_day_limit: int | None
    media_policy: str | None
    media_type: str | None
    sales_channels: list[str]


# --- lookups in other areas' tables -------------------------------------------------------------------------------


def table_ids(session: Session, table_name: str, ids: Iterable[int], **scope: Any) -> set[int]:
    """Which of ``ids`` exist in ``table_name`` with the given column values (none if the table is unknown)."""
    wanted = {value for value in ids if 0 < value <= MAX_INT}
    table = Base.metadata.tables.get(table_name)
    if not wanted or table is None or any(column not in table.c for column in scope):
        return set()
    statement = select(table.c.id).where(table.c.id.in_(wanted), *(table.c[k] == v for k, v in scope.items()))
    return set(session.scalars(statement))


def organizer_channels(session: Session, organizer_id: int) -> list[str]:
    """The organizer's sales channel identifiers; the online shop ("web") always exists."""
    table = Base.metadata.tables.get("sales_channel")
    if table is None or "identifier" not in table.c or "organizer_id" not in table.c:
        return ["web"]
    order = [table.c.position, table.c.id] if "position" in table.c else [table.c.id]
    found = list(
        session.scalars(select(table.c.identifier).where(table.c.organizer_id == organizer_id).order_by(*order))
    )
    return found if "web" in found else ["web", *found]


def tax_rates(session: Session, ids: Iterable[int]) -> dict[int, Decimal]:
    wanted = {value for value in ids if value is not None}
    table = Base.metadata.tables.get("tax_rule")
    if not wanted or table is None or "rate" not in table.c:
        return {}
    return {row.id: row.rate for row in session.execute(select(table.c.id, table.c.rate).where(table.c.id.in_(wanted)))}


# --- validation -------------------------------------------------------------------------------------------------


@dataclass
class Checker:
    """Validates one object's fields, collecting every problem (``errors`` nests like the input)."""

    call: Call
    event: Event
    values: dict[str, Any]
    errors: dict[str, Any] = field(default_factory=dict)

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def has(self, name: str) -> bool:
        return name in self.values and name not in self.errors

    def required(self, names: Iterable[str]) -> None:
        for name in names:
            if name not in self.values:
                self.fail(name, REQUIRED)

    def money(self, name: str, *, nullable: bool = False) -> None:
        if name not in self.values:
            return
        value = self.values[name]
        if value is None:
            if not nullable:
                self.fail(name, NOT_NULL)
            return
        if not value.is_finite():
            self.fail(name, "A valid number is required.")
        elif value < 0:
            self.fail(name, "Ensure this value is greater than or equal to 0.")
        elif value > MAX_MONEY:
            self.fail(name, "Ensure that there are no more than 13 digits in total.")
        elif value != value.quantize(CENT):
            self.fail(name, "Ensure that there are no more than 2 decimal places.")
        else:
            self.values[name] = value.quantize(CENT)

    def integer(self, name: str, *, minimum: int = 0, maximum: int = MAX_INT) -> None:
        value = self.values.get(name)
        if value is None:
            return
        if value < minimum:
            self.fail(name, f"Ensure this value is greater than or equal to {minimum}.")
        elif value > maximum:
            self.fail(name, f"Ensure this value is less than or equal to {maximum}.")

    def text(self, name: str, max_length: int) -> None:
        value = self.values.get(name)
        if value is None:
            return
        if "\x00" in value:
            self.fail(name, NUL_MESSAGE)
        elif len(value) > max_length:
            self.fail(name, f"Ensure this field has no more than {max_length} characters.")

    def multilingual(self, name: str, max_length: int, *, nullable: bool) -> None:
        if name not in self.values:
            return
        value = self.values[name]
        if value is None:
            if not nullable:
                self.fail(name, NOT_NULL)
            return
        if any("\x00" in part for pair in value.items() for part in pair):
            self.fail(name, NUL_MESSAGE)
        elif any(not language or len(language) > LANGUAGE_LENGTH for language in value):
            self.fail(name, "Invalid language code.")
        elif any(len(text) > max_length for text in value.values()):
            self.fail(name, f"Ensure this field has no more than {max_length} characters.")
        elif not nullable and not any(text.strip() for text in value.values()):
            self.fail(name, "This field may not be blank.")

    def choice(self, name: str, choices: tuple[str | None, ...]) -> None:
        if name in self.values and self.values[name] not in choices:
            self.fail(name, f'"{self.values[name]}" is not a valid choice.')

    def reference(self, name: str, table: str, **scope: Any) -> None:
        value = self.values.get(name)
        if value is not None and not table_ids(self.call.session, table, [value], **scope):
            self.fail(name, f'Invalid pk "{value}" - object does not exist.')

    def dates_in_order(self, start_name: str, end_name: str, start: datetime | None, end: datetime | None) -> None:
        if start is not None and end is not None and end < start and end_name not in self.errors:
            self.fail(end_name, "The end must not be before the start.")

    def membership_types(self) -> None:
        if "require_membership_types" in self.values:
            wanted = self.values["require_membership_types"]
            if len(wanted) > MAX_LIST:
                self.fail("require_membership_types", f"Ensure this list has no more than {MAX_LIST} elements.")
                return
            found = table_ids(self.call.session, "membership_type", wanted, organizer_id=self.event.organizer_id)
            for value in dict.fromkeys(wanted):
                if value not in found:
                    self.fail("require_membership_types", f'Invalid pk "{value}" - object does not exist.')
            self.values["require_membership_types"] = list(dict.fromkeys(wanted))

    def channels(self, allowed: list[str], message: str) -> None:
        """``limit_sales_channels`` against ``allowed``."""
        if "limit_sales_channels" not in self.values:
            return
        wanted = self.values["limit_sales_channels"]
        if len(wanted) > MAX_LIST:
            self.fail("limit_sales_channels", f"Ensure this list has no more than {MAX_LIST} elements.")
            return
        for identifier in dict.fromkeys(wanted):
            if "\x00" in identifier:
                self.fail("limit_sales_channels", NUL_MESSAGE)
            elif len(identifier) > CHANNEL_LENGTH or identifier not in allowed:
                self.fail("limit_sales_channels", message.format(identifier=identifier))
        self.values["limit_sales_channels"] = list(dict.fromkeys(wanted))

    def meta_data(self, *, enforce_required: bool) -> None:
        if "meta_data" not in self.values:
            return
        stored, problems = validate_meta_data(
            self.call.session, self.event.id, self.values["meta_data"], enforce_required=enforce_required
        )
        for problem in problems:
            self.fail("meta_data", problem)
        self.values["meta_data"] = stored


def sent_values(data: msgspec.Struct, errors: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fields sent (datetimes in UTC), with the legacy ``sales_channels`` list turned into "only these
    channels". A datetime that does not exist in UTC (year 9999 with a negative offset …) is a field error:
    collected in ``errors`` when given, raised otherwise."""
    values: dict[str, Any] = {}
    problems: dict[str, Any] = {} if errors is None else errors
    for name in data.__struct_fields__:
        value = getattr(data, name)
        if value is msgspec.UNSET:
            continue
        if isinstance(value, datetime):
            try:
                value = utc(value)
            except OverflowError:
                problems.setdefault(name, []).append("Datetime is out of range.")
                continue
        values[name] = value
    if problems and errors is None:
        raise FieldErrors(problems)
    legacy = values.pop("sales_channels", None)
    if legacy is not None and "limit_sales_channels" not in values:
        values["all_sales_channels"] = False
        values["limit_sales_channels"] = legacy
    return values


def current(values: dict[str, Any], existing: Any, name: str, columns: dict[str, str] | None = None) -> Any:
    """The value a field will have: the one sent, else the stored one."""
    if name in values:
        return values[name]
    if existing is None:
        return None
    return getattr(existing, (columns or {}).get(name, name))


@dataclass
class PictureChange:
    """What to do with an item's picture: ``upload`` set → store it; ``remove`` → drop the current one."""

    upload: UploadedFile | None = None
    remove: bool = False


def picture_url(call: Call, event: Event, item: Item) -> str | None:
    if not item.picture_file:
        return None
    base = call.kernel.config.site_url.rstrip("/")
    path = f"/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/items/{item.id}/picture/"
    return f"{base}{path}{item.picture_file}"


def check_picture(checker: Checker, item: Item | None, credentials: str) -> PictureChange | None:
    """``picture``: ``null`` removes, ``file:<id>`` sets, the item's current URL (a client sending back what it
    read) keeps the picture."""
    if "picture" not in checker.values:
        return None
    value = checker.values.pop("picture")
    if value is None:
        return PictureChange(remove=True) if item is not None and item.picture_file else None
    if item is not None and value == picture_url(checker.call, checker.event, item):
        return None
    if "\x00" in value:
        checker.fail("picture", NUL_MESSAGE)
        return None
    if not value.startswith("file:"):
        checker.fail("picture", 'Expected a file ID from the upload endpoint ("file:<id>").')
        return None
    file_id = value.removeprefix("file:")
    upload = checker.call.session.get(UploadedFile, file_id) if 0 < len(file_id) <= 36 else None
    if upload is None or upload.credentials != credentials:
        checker.fail("picture", f'The submitted file ID "{file_id}" was not found.')
    elif upload.created < clock.now() - UPLOAD_LIFETIME:
        checker.fail("picture", f'The submitted file "{file_id}" has expired.')
    else:
        extension = PICTURE_TYPES.get(upload.content_type.split(";")[0].strip().lower())
        if extension is None or not upload.content.startswith(PICTURE_SIGNATURES[extension]):
            checker.fail("picture", f'The submitted file "{file_id}" is not a PNG, JPEG, GIF or WebP image.')
        else:
            return PictureChange(upload=upload)
    return None


def validate_item(
    call: Call, event: Event, values: dict[str, Any], existing: Item | None, credentials: str, *, full: bool
) -> tuple[dict[str, Any], PictureChange | None, Checker]:
    """Check item fields (API names; ``full`` for create and PUT). Returns the column values, the picture change
    and the checker (whose ``errors`` the caller raises, possibly together with nested errors)."""
    check = Checker(call, event, values)
    if full:
        check.required(ITEM_REQUIRED)
    check.multilingual("name", NAME_LENGTH, nullable=False)
    check.text("internal_name", NAME_LENGTH)
    check.multilingual("description", DESCRIPTION_LENGTH, nullable=True)
    check.text("checkin_text", TEXT_LENGTH)
    check.text("media_type", 100)
    for name in ("default_price",):
        check.money(name)
    for name in ("free_price_suggestion", "original_price"):
        check.money(name, nullable=True)
    check.integer("position", minimum=-MAX_INT)
    for name in (
        "min_per_order",
        "max_per_order",
        "grant_membership_duration_days",
        "grant_membership_duration_months",
        "validity_dynamic_duration_minutes",
        "validity_dynamic_duration_hours",
        "validity_dynamic_duration_days",
        "validity_dynamic_duration_months",
        "validity_dynamic_start_choice_day_limit",
    ):
        check.integer(name)
    for name in ("available_from_mode", "available_until_mode", "hidden_if_item_available_mode"):
        check.choice(name, MODES)
    check.choice("validity_mode", VALIDITY_MODES)
    check.choice("media_policy", MEDIA_POLICIES)
    check.reference("category", "item_category", event_id=event.id)
    check.reference("tax_rule", "tax_rule", event_id=event.id)
    check.reference("hidden_if_available", "quota", event_id=event.id)
    if values.get("hidden_if_item_available") is not None:
        if existing is not None and values["hidden_if_item_available"] == existing.id:
            check.fail("hidden_if_item_available", "An item cannot depend on its own availability.")
        else:
            check.reference("hidden_if_item_available", "item", event_id=event.id)
    check.reference("grant_membership_type", "membership_type", organizer_id=event.organizer_id)
    check.membership_types()
    check.channels(organizer_channels(call.session, event.organizer_id), 'Sales channel "{identifier}" does not exist.')
    check.meta_data(enforce_required=full or "meta_data" in values)

    def now_(name: str) -> Any:
        return current(values, existing, name, ITEM_COLUMNS)

    if existing is not None and values.get("admission") is False and "personalized" not in values:
        # Personalisation exists only for admission products; it goes when admission does.
        values["personalized"] = False
    if now_("personalized") and not now_("admission") and "personalized" in values:
        check.fail("personalized", "Only admission products can be personalized.")
    if now_("issue_giftcard") and now_("admission"):
        check.fail("issue_giftcard", "Gift card products must not be admission products.")
    if ("min_per_order" in values or "max_per_order" in values) and not check.errors.keys() & {
        "min_per_order",
        "max_per_order",
    }:
        low, high = now_("min_per_order"), now_("max_per_order")
        if low is not None and high is not None and high < low:
            check.fail("max_per_order", "The maximum per order must not be lower than the minimum per order.")
    if "free_price_suggestion" in values or "default_price" in values:
        suggestion, price = now_("free_price_suggestion"), now_("default_price")
        if (
            suggestion is not None
            and price is not None
            and not check.errors.keys() & {"free_price_suggestion", "default_price"}
            and suggestion < price
        ):
            check.fail("free_price_suggestion", "The suggested price must not be lower than the default price.")
    check.dates_in_order("available_from", "available_until", now_("available_from"), now_("available_until"))
    check.dates_in_order(
        "validity_fixed_from", "validity_fixed_until", now_("validity_fixed_from"), now_("validity_fixed_until")
    )
    if (
        "media_policy" not in check.errors
        and now_("media_policy") is not None
        and now_("media_type") not in MEDIA_TYPES
    ):
        check.fail("media_type", f"Choose one of: {', '.join(MEDIA_TYPES)}.")
    picture = check_picture(check, existing, credentials)
    columns = {ITEM_COLUMNS.get(key, key): value for key, value in values.items() if key not in NESTED}
    return columns, picture, check


def item_channels(values: dict[str, Any], item: Item | None) -> list[str] | None:
    """The channels an item is limited to (None: all), for checking its variations."""
    if current(values, item, "all_sales_channels"):
        return None
    return list(current(values, item, "limit_sales_channels") or [])


def validate_variation(
    call: Call,
    event: Event,
    values: dict[str, Any],
    existing: ItemVariation | None,
    *,
    full: bool,
    channels_of_item: list[str] | None,
    item_price: Decimal | None,
) -> Checker:
    """Check variation fields; ``values`` are converted in place to column values."""
    check = Checker(call, event, values)
    if full:
        check.required(["value"])
    check.multilingual("value", NAME_LENGTH, nullable=False)
    check.multilingual("description", DESCRIPTION_LENGTH, nullable=True)
    check.text("checkin_text", TEXT_LENGTH)
    for name in ("default_price", "free_price_suggestion", "original_price"):
        check.money(name, nullable=True)
    check.integer("position", minimum=-MAX_INT)
    for name in ("available_from_mode", "available_until_mode"):
        check.choice(name, MODES)
    check.membership_types()
    all_channels = organizer_channels(call.session, event.organizer_id)
    if channels_of_item is None:
        check.channels(all_channels, 'Sales channel "{identifier}" does not exist.')
    else:
        check.channels(channels_of_item, 'Sales channel "{identifier}" is not allowed for the product.')
    check.meta_data(enforce_required=False)
    check.dates_in_order(
        "available_from",
        "available_until",
        current(values, existing, "available_from"),
        current(values, existing, "available_until"),
    )
    if "free_price_suggestion" in values or "default_price" in values:
        suggestion = current(values, existing, "free_price_suggestion")
        price = current(values, existing, "default_price")
        price = price if price is not None else item_price
        if (
            suggestion is not None
            and price is not None
            and not check.errors.keys() & {"free_price_suggestion", "default_price"}
            and suggestion < price
        ):
            check.fail("free_price_suggestion", "The suggested price must not be lower than the price.")
    return check


def validate_addon(
    call: Call, event: Event, values: dict[str, Any], existing: ItemAddOn | None, *, full: bool, taken: set[int]
) -> Checker:
    """Check add-on fields; ``taken`` holds the categories the item's other add-on slots use."""
    check = Checker(call, event, values)
    if full:
        check.required(["addon_category"])
    check.integer("min_count")
    check.integer("max_count")
    check.integer("position", minimum=-MAX_INT)
    if values.get("addon_category") is not None:
        check.reference("addon_category", "item_category", event_id=event.id)
        if check.has("addon_category") and values["addon_category"] in taken:
            check.fail("addon_category", ADDON_CLASH)
    low, high = current(values, existing, "min_count"), current(values, existing, "max_count")
    if not check.errors.keys() & {"min_count", "max_count"} and low is not None and high is not None and high < low:
        check.fail("max_count", "The maximum count must not be lower than the minimum count.")
    if "addon_category" in values:
        values["addon_category_id"] = values.pop("addon_category")
    return check


def validate_bundle(
    call: Call,
    event: Event,
    values: dict[str, Any],
    existing: ItemBundle | None,
    *,
    full: bool,
    base_item_id: int | None,
) -> Checker:
    check = Checker(call, event, values)
    if full:
        check.required(["bundled_item"])
    check.integer("count", minimum=1)
    check.money("designated_price")
    bundled_item_id = current(values, existing, "bundled_item", {"bundled_item": "bundled_item_id"})
    bundled_item = None
    if "bundled_item" in values:
        if base_item_id is not None and values["bundled_item"] == base_item_id:
            check.fail("bundled_item", "A product cannot be bundled with itself.")
        else:
            check.reference("bundled_item", "item", event_id=event.id)
    if bundled_item_id is not None and "bundled_item" not in check.errors:
        bundled_item = call.session.get(Item, bundled_item_id)
    if bundled_item is not None and ("bundled_item" in values or "bundled_variation" in values):
        variation_id = current(values, existing, "bundled_variation", {"bundled_variation": "bundled_variation_id"})
        if bundled_item.has_variations and variation_id is None:
            check.fail("bundled_variation", "The bundled product has variations: choose one.")
        elif not bundled_item.has_variations and variation_id is not None:
            check.fail("bundled_variation", "The bundled product has no variations.")
        elif variation_id is not None and not table_ids(
            call.session, "item_variation", [variation_id], item_id=bundled_item.id
        ):
            check.fail("bundled_variation", f'Invalid pk "{variation_id}" - object does not exist.')
    renamed = {"bundled_item": "bundled_item_id", "bundled_variation": "bundled_variation_id"}
    for api_name, column in renamed.items():
        if api_name in values:
            values[column] = values.pop(api_name)
    return check


def validate_program_time(
    call: Call, event: Event, values: dict[str, Any], existing: ItemProgramTime | None
) -> Checker:
    check = Checker(call, event, values)
    if existing is None:
        check.required(["start", "end"])
    for name in ("start", "end"):
        if name in values and values[name] is None:
            check.fail(name, NOT_NULL)
    check.multilingual("location", NAME_LENGTH, nullable=True)
    check.dates_in_order("start", "end", current(values, existing, "start"), current(values, existing, "end"))
    return check


# --- serialisation ----------------------------------------------------------------------------------------------


@dataclass
class Lookup:
    """What serialising items needs besides their rows, loaded once per request."""

    call: Call
    event: Event
    tax_rates: dict[int, Decimal]
    meta_names: dict[str, str]
    channels: list[str]


def lookup(call: Call, event: Event, items: list[Item]) -> Lookup:
    return Lookup(
        call,
        event,
        tax_rates(call.session, (item.tax_rule_id for item in items if item.tax_rule_id is not None)),
        property_names(call.session, event.id),
        organizer_channels(call.session, event.organizer_id),
    )


def effective_channels(all_channels: bool, limited: list[str] | None, fallback: list[str]) -> list[str]:
    """The deprecated ``sales_channels`` output: the channels actually sold on."""
    return list(fallback) if all_channels else list(limited or [])


def serialize_variation(variation: ItemVariation, item: Item, ctx: Lookup) -> VariationOut:
    sold_on = effective_channels(item.all_sales_channels, item.limit_sales_channels, ctx.channels)
    return VariationOut(
        id=variation.id,
        value=variation.value,
        active=variation.active,
        checkin_attention=variation.checkin_attention,
        checkin_text=variation.checkin_text,
        require_approval=variation.require_approval,
        require_membership=variation.require_membership,
        require_membership_hidden=variation.require_membership_hidden,
        require_membership_types=list(variation.require_membership_types or []),
        all_sales_channels=variation.all_sales_channels,
        limit_sales_channels=list(variation.limit_sales_channels or []),
        sales_channels=effective_channels(variation.all_sales_channels, variation.limit_sales_channels, sold_on),
        available_from=variation.available_from,
        available_from_mode=variation.available_from_mode,
        available_until=variation.available_until,
        available_until_mode=variation.available_until_mode,
        hide_without_voucher=variation.hide_without_voucher,
        description=variation.description,
        position=variation.position,
        default_price=money(variation.default_price),
        price=money(variation.default_price if variation.default_price is not None else item.default_price),  # type: ignore[arg-type]
        original_price=money(variation.original_price),
        free_price_suggestion=money(variation.free_price_suggestion),
        meta_data=named_meta(variation.meta_data, ctx.meta_names),
    )


def serialize_addon(addon: ItemAddOn) -> AddOnOut:
    return AddOnOut(
        id=addon.id,
        addon_category=addon.addon_category_id,
        min_count=addon.min_count,
        max_count=addon.max_count,
        position=addon.position,
        multi_allowed=addon.multi_allowed,
        price_included=addon.price_included,
    )


def serialize_bundle(bundle: ItemBundle) -> BundleOut:
    return BundleOut(
        id=bundle.id,
        bundled_item=bundle.bundled_item_id,
        bundled_variation=bundle.bundled_variation_id,
        count=bundle.count,
        designated_price=money(bundle.designated_price),  # type: ignore[arg-type]
    )


def serialize_item(item: Item, ctx: Lookup) -> ItemOut:
    rate = ctx.tax_rates.get(item.tax_rule_id) if item.tax_rule_id is not None else None
    return ItemOut(
        id=item.id,
        category=item.category_id,
        name=item.name,
        internal_name=item.internal_name,
        active=item.active,
        all_sales_channels=item.all_sales_channels,
        limit_sales_channels=list(item.limit_sales_channels or []),
        description=item.description,
        default_price=money(item.default_price),  # type: ignore[arg-type]
        free_price=item.free_price,
        free_price_suggestion=money(item.free_price_suggestion),
        tax_rate=money(rate if rate is not None else Decimal(0)),  # type: ignore[arg-type]
        tax_rule=item.tax_rule_id,
        admission=item.admission,
        personalized=item.personalized,
        position=item.position,
        picture=picture_url(ctx.call, ctx.event, item),
        available_from=item.available_from,
        available_from_mode=item.available_from_mode,
        available_until=item.available_until,
        available_until_mode=item.available_until_mode,
        require_voucher=item.require_voucher,
        hide_without_voucher=item.hide_without_voucher,
        allow_cancel=item.allow_cancel,
        require_bundling=item.require_bundling,
        min_per_order=item.min_per_order,
        max_per_order=item.max_per_order,
        checkin_attention=item.checkin_attention,
        checkin_text=item.checkin_text,
        has_variations=item.has_variations,
        variations=[serialize_variation(variation, item, ctx) for variation in item.variations],
        addons=[
            InlineAddOn(
                addon_category=addon.addon_category_id,
                min_count=addon.min_count,
                max_count=addon.max_count,
                position=addon.position,
                multi_allowed=addon.multi_allowed,
                price_included=addon.price_included,
            )
            for addon in item.addons
        ],
        bundles=[
            InlineBundle(
                bundled_item=bundle.bundled_item_id,
                bundled_variation=bundle.bundled_variation_id,
                count=bundle.count,
                designated_price=money(bundle.designated_price),  # type: ignore[arg-type]
            )
            for bundle in item.bundles
        ],
        program_times=[ProgramTimeOut(start=slot.start, end=slot.end) for slot in item.program_times],
        original_price=money(item.original_price),
        require_approval=item.require_approval,
        generate_tickets=item.generate_tickets,
        show_quota_left=item.show_quota_left,
        hidden_if_available=item.hidden_if_available_id,
        hidden_if_item_available=item.hidden_if_item_available_id,
        hidden_if_item_available_mode=item.hidden_if_item_available_mode,
        allow_waitinglist=item.allow_waitinglist,
        issue_giftcard=item.issue_giftcard,
        meta_data=named_meta(item.meta_data, ctx.meta_names),
        require_membership=item.require_membership,
        require_membership_types=list(item.require_membership_types or []),
        require_membership_hidden=item.require_membership_hidden,
        grant_membership_type=item.grant_membership_type,
        grant_membership_duration_like_event=item.grant_membership_duration_like_event,
        grant_membership_duration_days=item.grant_membership_duration_days,
        grant_membership_duration_months=item.grant_membership_duration_months,
        validity_mode=item.validity_mode,
        validity_fixed_from=item.validity_fixed_from,
        validity_fixed_until=item.validity_fixed_until,
        validity_dynamic_duration_minutes=item.validity_dynamic_duration_minutes,
        validity_dynamic_duration_hours=item.validity_dynamic_duration_hours,
        validity_dynamic_duration_days=item.validity_dynamic_duration_days,
        validity_dynamic_duration_months=item.validity_dynamic_duration_months,
        validity_dynamic_start_choice=item.validity_dynamic_start_choice,
        validity_dynamic_start_choice_day_limit=item.validity_dynamic_start_choice_day_limit,
        media_policy=item.media_policy,
        media_type=item.media_type,
        sales_channels=effective_channels(item.all_sales_channels, item.limit_sales_channels, ctx.channels),
    )


def render_item(call: Call, event: Event, item: Item) -> ItemOut:
    return serialize_item(item, lookup(call, event, [item]))


# --- shared by the sub-resources ------------------------------------------------------------------------------


def scoped_item(
    call: Call, organizer: str, event: str, item_id: int, permission: str | None = None
) -> tuple[Event, Item]:
    """The event (403 unless visible, and ``permission``) and one of its items (404)."""
    target = call.event(organizer, event, permission)
    return target, call.get(Item, item_id, event_id=target.id)


def item_changed(call: Call, event: Event) -> None:
    """Every change to an item or its parts changes the item list."""
    call.touch(event, RESOURCE)


def ordered(call: Call, column: str, value: int) -> bool:
    """Whether order positions reference the row (orders are another area; their table may not exist yet)."""
    table = Base.metadata.tables.get("order_position")
    if table is None or column not in table.c:
        return False
    return call.session.scalar(select(table.c[column]).where(table.c[column] == value).limit(1)) is not None


def changes(row: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Apply ``values`` (columns) to ``row``; return the ones that differ."""
    changed = {key: value for key, value in values.items() if getattr(row, key) != value}
    for key, value in changed.items():
        setattr(row, key, value)
    return changed


def log_data(changed: dict[str, Any], columns: dict[str, str] | None = None) -> dict[str, Any]:
    """Changed columns under their API names, JSON-able."""
    renamed = {value: key for key, value in (columns or {}).items()}
    return msgspec.to_builtins({renamed.get(key, key): value for key, value in changed.items()})


def flush_unique(session: Session, field: str, message: str) -> None:
    """Flush; a unique constraint hit by a concurrent request (the check before saw no clash) is a field error."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise FieldErrors.single(field, message) from None


def raise_errors(errors: dict[str, Any]) -> None:
    if errors:
        raise FieldErrors(errors)


# --- items ------------------------------------------------------------------------------------------------------

BASE = "/api/v1/organizers/{organizer:str}/events/{event:str}/items/"
DETAIL = BASE + "{id:int}/"


def _query_int(query: dict[str, str] | Any, name: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise FieldErrors.single(name, "A valid integer is required.") from None


def search_term(query: Any) -> str:
    term = str(query["search"])
    if "\x00" in term:
        raise FieldErrors.single("search", NUL_MESSAGE)
    return term.lower()


def _filtered(call: Call, event: Event) -> Select[Any]:
    query = call.query
    statement = select(Item).where(Item.event_id == event.id)
    for name in ("active", "admission", "free_price"):
        flag = parse_bool(query, name)
        if flag is not None:
            statement = statement.where(getattr(Item, name).is_(flag))
    category = _query_int(query, "category")
    if category is not None:
        statement = statement.where(Item.category_id == category if 0 < category <= MAX_INT else false())
    if query.get("search"):
        needle = f"%{search_term(query)}%"
        statement = statement.where(
            or_(func.lower(func.cast(Item.name, Text())).like(needle), func.lower(Item.internal_name).like(needle))
        )
    if query.get("tax_rate"):
        try:
            rate = Decimal(query["tax_rate"])
        except ArithmeticError:
            raise FieldErrors.single("tax_rate", "A valid number is required.") from None
        if not rate.is_finite():
            raise FieldErrors.single("tax_rate", "A valid number is required.")
        table = Base.metadata.tables.get("tax_rule")
        if table is None or "rate" not in table.c or rate.copy_abs() >= Decimal("1e8"):
            condition = Item.tax_rule_id.is_(None) if rate == 0 else false()
        else:
            matching = Item.tax_rule_id.in_(
                select(table.c.id).where(table.c.event_id == event.id, table.c.rate == rate)
            )
            # Items without a tax rule are taxed at zero.
            condition = or_(matching, Item.tax_rule_id.is_(None)) if rate == 0 else matching
        statement = statement.where(condition)
    return statement.options(
        selectinload(Item.variations),
        selectinload(Item.addons),
        selectinload(Item.bundles),
        selectinload(Item.program_times),
    )


@get(BASE, tags=["items"])
async def list_items(request: Request, organizer: FromPath[str], event: FromPath[str]) -> Response[Page[ItemOut]]:
    """Items of the event with their variations, add-ons, bundles and program times.

    Filters: ``search`` (name or internal name), ``active``, ``category``, ``admission``, ``tax_rate``,
    ``free_price``; ``ordering`` by ``id`` or ``position``. Sends ``Last-Modified`` (``If-Modified-Since`` → 304).
    """

    def work(call: Call) -> Page[ItemOut]:
        target = call.event(organizer, event)
        call.last_modified(target, RESOURCE)
        holder: dict[str, Lookup] = {}

        def prepare(rows: list[Item]) -> None:
            holder["ctx"] = lookup(call, target, rows)

        return call.paginate(
            _filtered(call, target),
            lambda item: serialize_item(item, holder["ctx"]),
            ordering={"id": Item.id, "position": Item.position},
            default_ordering=[Item.position, Item.id],
            prepare=prepare,
        )

    return await in_call(request, work)


@get(DETAIL, tags=["items"])
async def get_item(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int]
) -> Response[ItemOut]:
    """One item."""

    def work(call: Call) -> ItemOut:
        target, item = scoped_item(call, organizer, event, id)
        return render_item(call, target, item)

    return await in_call(request, work)


def store_picture(call: Call, item: Item, change: PictureChange | None) -> None:
    if change is None:
        return
    stored = call.session.get(ItemPicture, item.id)
    if change.remove or change.upload is None:
        if stored is not None:
            call.session.delete(stored)
        item.picture_file = None
        return
    upload = change.upload
    content_type = upload.content_type.split(";")[0].strip().lower()
    name = f"{hashlib.blake2b(upload.content, digest_size=16).hexdigest()}.{PICTURE_TYPES[content_type]}"
    if stored is None:
        stored = ItemPicture(item_id=item.id)
        call.session.add(stored)
    stored.file = name
    stored.filename = upload.filename[:255]
    stored.content_type = content_type
    stored.content = upload.content
    stored.created = clock.now()
    item.picture_file = name


def _nested_errors(checkers: list[Checker]) -> list[dict[str, Any]] | None:
    found = [checker.errors for checker in checkers]
    return found if any(found) else None


def nested_checks(
    structs: list[Any], defaults: dict[str, Any], validate: Callable[[dict[str, Any]], Checker]
) -> list[Checker]:
    """Validate each object of a nested list; unreadable datetimes replace whatever else was said about them."""
    checks = []
    for struct in structs:
        problems: dict[str, Any] = {}
        checker = validate({**defaults, **sent_values(struct, problems)})
        checker.errors.update(problems)
        checks.append(checker)
    return checks


def _create(call: Call, target: Event, data: ItemIn, credentials: str) -> ItemOut:
    problems: dict[str, Any] = {}
    sent = sent_values(data, problems)
    nested = {name: sent.pop(name, []) for name in NESTED}
    values = {**ITEM_DEFAULTS, **sent}
    values.setdefault("personalized", values["admission"])
    columns, picture, check = validate_item(call, target, values, None, credentials, full=True)
    errors = {**check.errors, **problems}

    channels = None if columns.get("all_sales_channels", True) else list(columns.get("limit_sales_channels") or [])
    price = columns.get("default_price") if "default_price" not in errors else None
    variation_checks = nested_checks(
        nested["variations"],
        VARIATION_DEFAULTS,
        lambda values: validate_variation(
            call, target, values, None, full=True, channels_of_item=channels, item_price=price
        ),
    )
    taken: set[int] = set()

    def check_addon(values: dict[str, Any]) -> Checker:
        checker = validate_addon(call, target, values, None, full=True, taken=taken)
        taken.add(checker.values.get("addon_category_id", 0))
        return checker

    addon_checks = nested_checks(nested["addons"], ADDON_DEFAULTS, check_addon)
    bundle_checks = nested_checks(
        nested["bundles"],
        BUNDLE_DEFAULTS,
        lambda values: validate_bundle(call, target, values, None, full=True, base_item_id=None),
    )
    slot_checks = nested_checks(
        nested["program_times"], {}, lambda values: validate_program_time(call, target, values, None)
    )
    for name in NESTED:
        if len(nested[name]) > MAX_LIST:
            errors[name] = [f"Ensure this list has no more than {MAX_LIST} elements."]
    if target.has_subevents and nested["program_times"]:
        errors["program_times"] = ["Program times are not available in event series."]
    for name, checkers in (
        ("variations", variation_checks),
        ("addons", addon_checks),
        ("bundles", bundle_checks),
        ("program_times", slot_checks),
    ):
        found = _nested_errors(checkers)
        if found is not None and name not in errors:
            errors[name] = found
    raise_errors(errors)

    item = Item(event_id=target.id, has_variations=bool(variation_checks), **columns)
    call.session.add(item)
    call.session.flush()
    item.variations = [ItemVariation(**checker.values) for checker in variation_checks]
    item.addons = [ItemAddOn(**checker.values) for checker in addon_checks]
    item.bundles = [ItemBundle(**checker.values) for checker in bundle_checks]
    item.program_times = [ItemProgramTime(**checker.values) for checker in slot_checks]
    store_picture(call, item, picture)
    call.session.flush()
    # Reloaded so that the response lists them in their sort order, as every later read does.
    call.session.expire(item, list(NESTED))
    item_changed(call, target)
    call.log(item, "boxoffice.event.item.added", {"id": item.id, **log_data(columns, ITEM_COLUMNS)})
    return render_item(call, target, item)


def _credentials(request: Request) -> str:
    return credentials_key(request.headers.get("authorization"), request.headers.get("cookie"))


@post(BASE, tags=["items"], status_code=201)
async def create_item(
    request: Request, organizer: FromPath[str], event: FromPath[str], data: JSONBody[ItemIn]
) -> Response[ItemOut]:
    """Create an item; ``variations`` (which make it an item with variations for good), ``addons``, ``bundles``
    and ``program_times`` may be included. ``picture`` takes a ``file:<id>`` from ``POST /api/v1/upload``."""
    credentials = _credentials(request)

    def work(call: Call) -> ItemOut:
        target = call.event(organizer, event, PERMISSION)
        return _create(call, target, data, credentials)

    return await in_call(request, work, status_code=201)


def _update(call: Call, organizer: str, event: str, id: int, data: ItemIn, credentials: str, *, full: bool) -> ItemOut:
    target, item = scoped_item(call, organizer, event, id, PERMISSION)
    sent = {key: value for key, value in sent_values(data).items() if key not in NESTED}
    if full:
        values = {**ITEM_DEFAULTS, **sent}
        values.setdefault("personalized", values["admission"])
    else:
        values = sent
    columns, picture, check = validate_item(call, target, values, item, credentials, full=full)
    if not check.errors and item.has_variations:
        narrowed = item_channels(values, item)
        if narrowed is not None:
            # Variations may only use channels the item is sold on.
            for variation in item.variations:
                if not variation.all_sales_channels and set(variation.limit_sales_channels or []) - set(narrowed):
                    check.fail("limit_sales_channels", "Variations of this product use sales channels left out here.")
                    break
    raise_errors(check.errors)
    old_picture = item.picture_file
    changed = changes(item, columns)
    store_picture(call, item, picture)
    if item.picture_file != old_picture:
        changed["picture"] = item.picture_file
    if changed:
        call.session.flush()
        item_changed(call, target)
        call.log(item, "boxoffice.event.item.changed", {"id": item.id, **log_data(changed, ITEM_COLUMNS)})
    return render_item(call, target, item)


@patch(DETAIL, tags=["items"])
async def update_item(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int], data: JSONBody[ItemIn]
) -> Response[ItemOut]:
    """Change fields of an item. ``has_variations``, ``variations``, ``addons``, ``bundles`` and
    ``program_times`` are not changed here (they have their own endpoints)."""
    credentials = _credentials(request)
    return await in_call(request, lambda call: _update(call, organizer, event, id, data, credentials, full=False))


@put(DETAIL, tags=["items"])
async def replace_item(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int], data: JSONBody[ItemIn]
) -> Response[ItemOut]:
    """Replace an item: fields left out are reset to their defaults (nested lists are left alone, as on PATCH)."""
    credentials = _credentials(request)
    return await in_call(request, lambda call: _update(call, organizer, event, id, data, credentials, full=True))


@delete(DETAIL, tags=["items"], status_code=204)
async def delete_item(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int]
) -> Response[None]:
    """Delete an item with its variations, add-on slots, bundles and picture; refused once it has been ordered."""

    def work(call: Call) -> None:
        target, item = scoped_item(call, organizer, event, id, PERMISSION)
        if ordered(call, "item_id", item.id):
            raise ApiError(403, "This item cannot be deleted because it has already been ordered.")
        call.log(item, "boxoffice.event.item.deleted", {"id": item.id, "name": item.name})
        call.session.delete(item)
        call.session.flush()
        item_changed(call, target)

    return await in_call(request, work, status_code=204)


@get(DETAIL + "picture/{name:str}", tags=["items"], include_in_schema=True, security=[{}])
async def get_item_picture(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int], name: FromPath[str]
) -> Response[bytes]:
    """The item's picture (the URL in the item's ``picture`` field). Public like a shop's product images; the
    name carries the content digest, so the URL of a replaced picture stops answering."""
    kernel = request.app.state.kernel
    if not 0 < id <= MAX_INT or any("\x00" in part for part in (name, event, organizer)):
        raise not_found()

    def load() -> tuple[bytes, str] | None:
        with kernel.db.session() as session:
            row = session.execute(
                select(ItemPicture.content, ItemPicture.content_type)
                .join(Item, Item.id == ItemPicture.item_id)
                .join(Event, Event.id == Item.event_id)
                .join(Organizer, Organizer.id == Event.organizer_id)
                .where(
                    ItemPicture.item_id == id,
                    ItemPicture.file == name,
                    Event.slug == event,
                    Organizer.slug == organizer,
                )
            ).first()
            return (row.content, row.content_type) if row is not None else None

    found = await sync_to_thread(load)
    if found is None:
        raise not_found()
    content, content_type = found
    return Response(
        content,
        media_type=content_type,
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


# --- program times (``…/items/{item}/program_times/``) ----------------------------------------------------------


class ProgramTimeDetailOut(msgspec.Struct):
    id: int
    start: datetime
    end: datetime
    location: Multilingual | None


def serialize_program_time(slot: ItemProgramTime) -> ProgramTimeDetailOut:
    return ProgramTimeDetailOut(id=slot.id, start=slot.start, end=slot.end, location=slot.location)


PROGRAM_TIMES = BASE + "{item:int}/program_times/"
PROGRAM_TIME = PROGRAM_TIMES + "{id:int}/"


@get(PROGRAM_TIMES, tags=["item program times"])
async def list_program_times(
    request: Request, organizer: FromPath[str], event: FromPath[str], item: FromPath[int]
) -> Response[Page[ProgramTimeDetailOut]]:
    """Program times (schedule slots) of an item."""

    def work(call: Call) -> Page[ProgramTimeDetailOut]:
        _, base = scoped_item(call, organizer, event, item)
        return call.paginate(
            select(ItemProgramTime).where(ItemProgramTime.item_id == base.id),
            serialize_program_time,
            ordering={"id": ItemProgramTime.id, "start": ItemProgramTime.start},
            default_ordering=[ItemProgramTime.start, ItemProgramTime.id],
        )

    return await in_call(request, work)


@get(PROGRAM_TIME, tags=["item program times"])
async def get_program_time(
    request: Request, organizer: FromPath[str], event: FromPath[str], item: FromPath[int], id: FromPath[int]
) -> Response[ProgramTimeDetailOut]:
    """One program time."""

    def work(call: Call) -> ProgramTimeDetailOut:
        _, base = scoped_item(call, organizer, event, item)
        return serialize_program_time(call.get(ItemProgramTime, id, item_id=base.id))

    return await in_call(request, work)


@post(PROGRAM_TIMES, tags=["item program times"], status_code=201)
async def create_program_time(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    item: FromPath[int],
    data: JSONBody[ProgramTimeIn],
) -> Response[ProgramTimeDetailOut]:
    """Add a program time to an item (not available in event series)."""

    def work(call: Call) -> ProgramTimeDetailOut:
        target, base = scoped_item(call, organizer, event, item, PERMISSION)
        if target.has_subevents:
            raise FieldErrors.single("non_field_errors", "Program times are not available in event series.")
        check = validate_program_time(call, target, sent_values(data), None)
        raise_errors(check.errors)
        slot = ItemProgramTime(item_id=base.id, **check.values)
        call.session.add(slot)
        call.session.flush()
        item_changed(call, target)
        call.log(base, "boxoffice.event.item.program_times.added", {"id": slot.id, **log_data(check.values)})
        return serialize_program_time(slot)

    return await in_call(request, work, status_code=201)


def _update_program_time(
    call: Call, organizer: str, event: str, item: int, id: int, data: ProgramTimeIn, *, full: bool
) -> ProgramTimeDetailOut:
    target, base = scoped_item(call, organizer, event, item, PERMISSION)
    slot = call.get(ItemProgramTime, id, item_id=base.id)
    sent = sent_values(data)
    values = {"location": None, **sent} if full else sent
    check = validate_program_time(call, target, values, None if full else slot)
    raise_errors(check.errors)
    changed = changes(slot, check.values)
    if changed:
        call.session.flush()
        item_changed(call, target)
        call.log(base, "boxoffice.event.item.program_times.changed", {"id": slot.id, **log_data(changed)})
    return serialize_program_time(slot)


@patch(PROGRAM_TIME, tags=["item program times"])
async def update_program_time(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    item: FromPath[int],
    id: FromPath[int],
    data: JSONBody[ProgramTimeIn],
) -> Response[ProgramTimeDetailOut]:
    """Change a program time."""
    return await in_call(request, lambda call: _update_program_time(call, organizer, event, item, id, data, full=False))


@put(PROGRAM_TIME, tags=["item program times"])
async def replace_program_time(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    item: FromPath[int],
    id: FromPath[int],
    data: JSONBody[ProgramTimeIn],
) -> Response[ProgramTimeDetailOut]:
    """Replace a program time (``start`` and ``end`` required, ``location`` reset when left out)."""
    return await in_call(request, lambda call: _update_program_time(call, organizer, event, item, id, data, full=True))


@delete(PROGRAM_TIME, tags=["item program times"], status_code=204)
async def delete_program_time(
    request: Request, organizer: FromPath[str], event: FromPath[str], item: FromPath[int], id: FromPath[int]
) -> Response[None]:
    """Delete a program time."""

    def work(call: Call) -> None:
        target, base = scoped_item(call, organizer, event, item, PERMISSION)
        slot = call.get(ItemProgramTime, id, item_id=base.id)
        call.log(base, "boxoffice.event.item.program_times.deleted", {"id": slot.id})
        call.session.delete(slot)
        call.session.flush()
        item_changed(call, target)

    return await in_call(request, work, status_code=204)


ROUTES: list[Callable[..., Any]] = [
    list_items,
    get_item,
    create_item,
    update_item,
    replace_item,
    delete_item,
    get_item_picture,
    list_program_times,
    get_program_time,
    create_program_time,
    update_program_time,
    replace_program_time,
    delete_program_time,
]
