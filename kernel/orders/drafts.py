"""What a caller asks for when placing an order or a cart: the REST API decodes request bodies straight into these
structures, and plugins or jobs build them in code."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec

# Database keys are 32-bit; anything outside names nothing and must be refused before it reaches SQL.
Id = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]


class AnswerDraft(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    """An answer to question ``question``: text (numbers and booleans are accepted as JSON values, too) or, for
    choice questions, option ids in ``options``."""

    question: Id
    answer: str | int | float | bool | None = ""
    options: list[Id] = msgspec.field(default_factory=list)


class PositionDraft(msgspec.Struct, kw_only=True):
    """One position of a new order (pretix's field names; only ``item`` is required)."""

    positionid: Id | None = None
    item: Id
    variation: Id | None = None
    subevent: Id | None = None
    # None: the catalog price (with voucher and tax rule applied).
    price: Decimal | None = None
    attendee_name: str | None = None
    attendee_name_parts: dict[str, str] | None = None
    attendee_email: str | None = None
    company: str | None = None
    street: str | None = None
    zipcode: str | None = None
    city: str | None = None
    country: str | None = None
    state: str | None = None
    voucher: str | None = None
    secret: str | None = None
    addon_to: Id | None = None
    seat: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    requested_valid_from: datetime | None = None
    use_reusable_medium: Id | None = None
    discount: Id | None = None
    answers: list[AnswerDraft] = msgspec.field(default_factory=list)


class FeeDraft(msgspec.Struct, kw_only=True):
    """A fee of a new order; ``value`` is gross, or a percentage of the products' total."""

    fee_type: str
    value: Decimal
    description: str = ""
    internal_type: str = ""
    tax_rule: Id | None = None
    treat_value_as_percentage: bool = msgspec.field(default=False, name="_treat_value_as_percentage")
    split_taxes_like_products: bool = msgspec.field(default=False, name="_split_taxes_like_products")


class InvoiceAddressDraft(msgspec.Struct, kw_only=True):
    """The buyer's invoice address (``name`` or ``name_parts``, not both)."""

    company: str | None = ""
    is_business: bool = False
    name: str | None = None
    name_parts: dict[str, str] | None = None
    street: str | None = ""
    zipcode: str | None = ""
    city: str | None = ""
    country: str | None = ""
    state: str | None = ""
    internal_reference: str | None = ""
    vat_id: str | None = ""
    vat_id_validated: bool = False
    custom_field: str | None = None
    transmission_type: str = "email"
    transmission_info: dict[str, Any] | None = None


class OrderDraft(msgspec.Struct, kw_only=True):
    """The body of ``POST …/orders/`` (pretix's field names; everything but ``positions`` is optional)."""

    positions: list[PositionDraft]
    code: str | None = None
    status: str | None = None
    testmode: bool = False
    consume_carts: list[str] = msgspec.field(default_factory=list)
    email: str | None = None
    phone: str | None = None
    customer: str | None = None
    locale: str | None = None
    sales_channel: str = "web"
    payment_provider: str | None = None
    payment_info: dict[str, Any] | str | None = None
    payment_date: datetime | None = None
    tax_rounding_mode: str | None = None
    comment: str = ""
    api_meta: dict[str, Any] = msgspec.field(default_factory=dict)
    custom_followup_at: date | None = None
    checkin_attention: bool = False
    checkin_text: str | None = None
    require_approval: bool = False
    valid_if_pending: bool = False
    expires: datetime | None = None
    invoice_address: InvoiceAddressDraft | None = None
    fees: list[FeeDraft] = msgspec.field(default_factory=list)
    force: bool = False
    # True: the usual e-mails; None: as the sales channel's settings say; False (default): none.
    send_email: bool | None = False
    send_mail: bool | None = None
    use_gift_cards: list[str] = msgspec.field(default_factory=list)
    simulate: bool = False


class CartDraft(msgspec.Struct, kw_only=True):
    """The body of ``POST …/cartpositions/`` (one position, possibly with add-ons and bundled positions)."""

    item: Id
    price: Decimal
    cart_id: str | None = None
    variation: Id | None = None
    subevent: Id | None = None
    expires: datetime | None = None
    attendee_name: str | None = None
    attendee_name_parts: dict[str, str] | None = None
    attendee_email: str | None = None
    voucher: str | None = None
    sales_channel: str = "web"
    seat: str | None = None
    includes_tax: bool | None = None
    answers: list[AnswerDraft] = msgspec.field(default_factory=list)
    addons: list[CartDraft] = msgspec.field(default_factory=list)
    bundled: list[CartDraft] = msgspec.field(default_factory=list)
