"""Tax rules (with EN16931 tax codes): list (``Last-Modified`` aware), detail, create, update (PATCH and PUT), delete
(refused while anything still uses the rule)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
from babel import Locale
from litestar import Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody
from sqlalchemy import Column, select, update

from boxoffice.apps.api.errors import ApiError, FieldErrors, Problems
from boxoffice.apps.api.resources.categories import (
    check_decimal,
    check_multilingual,
    check_text,
    is_referenced,
    references_to,
)
from boxoffice.apps.api.toolkit import Call, Page, in_call, money, sent_fields
from boxoffice.kernel.db import Base
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.taxes import TAX_CODES, ZERO_RATE_CODES, TaxRule

Multilingual = dict[str, str]
WRITE_PERMISSION = "event.settings.tax:write"
LIST_RESOURCE = "taxrules"
BASE = "/api/v1/organizers/{organizer:str}/events/{event:str}/taxrules/"
DETAIL = BASE + "{rule_id:int}/"
INTERNAL_NAME_MAX = 190
# Numeric(10, 2): eight digits before the point.
RATE_LIMIT = Decimal(10) ** 8
VATEX_CODE = re.compile(r"^E/VATEX-[A-Z]{2}-[A-Z0-9-]{1,60}$")
# Babel's territories include regions and pseudo-locales; a merchant's home is a country.
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "ZZ", "QO", "XA", "XB"})
COUNTRIES = frozenset(code for code in Locale("en").territories if len(code) == 2 and code.isalpha()) - _NOT_COUNTRIES
# In custom rules "ZZ" matches any country and "EU" any EU member state.
RULE_COUNTRIES = COUNTRIES | {"ZZ", "EU"}
RULE_ADDRESS_TYPES = ("", "individual", "business", "business_vat_id")
RULE_ACTIONS = ("vat", "reverse", "no", "block", "require_approval")


class TaxRuleOut(msgspec.Struct):
    id: int
    name: Multilingual
    default: bool
    internal_name: str | None
    code: str | None
    rate: Decimal
    price_includes_tax: bool
    eu_reverse_charge: bool
    keep_gross_if_rate_changes: bool
    custom_rules: list[dict[str, Any]] | None
    home_country: str | None


class TaxRuleIn(msgspec.Struct):
    """Writable tax rule fields; on PATCH only the fields sent change, on PUT the others are reset."""

    name: Multilingual | msgspec.UnsetType = msgspec.UNSET
    internal_name: str | msgspec.UnsetType | None = msgspec.UNSET
    rate: Decimal | msgspec.UnsetType = msgspec.UNSET
    code: str | msgspec.UnsetType | None = msgspec.UNSET
    price_includes_tax: bool | msgspec.UnsetType = msgspec.UNSET
    default: bool | msgspec.UnsetType = msgspec.UNSET
    eu_reverse_charge: bool | msgspec.UnsetType = msgspec.UNSET
    home_country: str | msgspec.UnsetType | None = msgspec.UNSET
    keep_gross_if_rate_changes: bool | msgspec.UnsetType = msgspec.UNSET
    custom_rules: list[dict[str, Any]] | msgspec.UnsetType | None = msgspec.UNSET


REQUIRED = ("name", "rate")
DEFAULTS: dict[str, Any] = {
    "internal_name": None,
    "price_includes_tax": True,
    "default": False,
    "eu_reverse_charge": False,
    "home_country": None,
    "keep_gross_if_rate_changes": False,
    "custom_rules": None,
}
# API field → column.
COLUMNS = {
    "name": "name",
    "internal_name": "internal_name",
    "rate": "rate",
    "code": "code",
    "price_includes_tax": "price_includes_tax",
    "default": "is_default",
    "eu_reverse_charge": "eu_reverse_charge",
    "home_country": "home_country",
    "keep_gross_if_rate_changes": "keep_gross_if_rate_changes",
    "custom_rules": "custom_rules",
}


def serialize(rule: TaxRule) -> TaxRuleOut:
    return TaxRuleOut(
        id=rule.id,
        name=rule.name,
        default=rule.is_default,
        internal_name=rule.internal_name,
        code=rule.code,
        rate=money(rule.rate) or Decimal("0.00"),
        price_includes_tax=rule.price_includes_tax,
        eu_reverse_charge=rule.eu_reverse_charge,
        keep_gross_if_rate_changes=rule.keep_gross_if_rate_changes,
        custom_rules=rule.custom_rules,
        home_country=rule.home_country,
    )


def check_code(code: str) -> str | None:
    if code in TAX_CODES or VATEX_CODE.match(code):
        return None
    return f'"{code}" is not a valid tax code.'


def code_rate_problem(code: str | None, rate: Decimal | None) -> str | None:
    """EN16931: standard-rated sales carry a rate, exempt, zero-rated, reverse-charge and out-of-scope ones none."""
    if code is None or rate is None:
        return None
    category = code.split("/", 1)[0]
    if category in ZERO_RATE_CODES and rate != 0:
        return f"The tax code {code} requires a tax rate of 0."
    if category == "S" and rate <= 0:
        return f"The tax code {code} requires a tax rate greater than 0."
    return None


def default_code(rate: Decimal) -> str | None:
    """The code a rule gets when the client sends none: a positive rate is standard-rated; a zero rate needs a reason
    only the client knows."""
    return "S/standard" if rate > 0 else None


def _check_rule(rule: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def fail(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    country = rule.get("country")
    if not isinstance(country, str) or country not in RULE_COUNTRIES:
        fail("country", "Use an ISO 3166-1 country code, ZZ (any country) or EU (any EU member state).")
    address_type = rule.get("address_type", "")
    if address_type not in RULE_ADDRESS_TYPES:
        fail("address_type", f"Choose one of: {', '.join(repr(choice) for choice in RULE_ADDRESS_TYPES)}.")
    action = rule.get("action")
    if action not in RULE_ACTIONS:
        fail("action", f"Choose one of: {', '.join(RULE_ACTIONS)}.")
    rate = rule.get("rate")
    if rate is not None:
        try:
            parsed = Decimal(str(rate)) if isinstance(rate, str | int | float) and not isinstance(rate, bool) else None
        except InvalidOperation:
            parsed = None
        problem = "A valid number is required." if parsed is None else check_decimal(parsed, limit=RATE_LIMIT)
        if problem:
            fail("rate", problem)
    invoice_text = rule.get("invoice_text")
    if invoice_text is not None and (
        not isinstance(invoice_text, dict) or not all(isinstance(text, str) for text in invoice_text.values())
    ):
        fail("invoice_text", "Expected a dictionary of language codes and texts.")
    code = rule.get("code")
    if code is not None and (problem := check_code(code) if isinstance(code, str) else "Not a valid string."):
        fail("code", problem)
    return errors


def validate(values: dict[str, Any], existing: TaxRule | None) -> dict[str, Any]:
    """Check tax rule fields (``values`` is what will be applied); raises ``FieldErrors`` naming every problem."""
    problems = Problems()
    if existing is None:
        for field in REQUIRED:
            if field not in values:
                problems.add(field, "This field is required.")
    if "name" in values and (problem := check_multilingual(values["name"], blank_ok=False)):
        problems.add("name", problem)
    if values.get("internal_name") is not None and (problem := check_text(values["internal_name"], INTERNAL_NAME_MAX)):
        problems.add("internal_name", problem)
    if "rate" in values and (problem := check_decimal(values["rate"], limit=RATE_LIMIT)):
        problems.add("rate", problem)
    if values.get("code") is not None and (problem := check_code(values["code"])):
        problems.add("code", problem)
    if values.get("home_country") and values["home_country"] not in COUNTRIES:
        problems.add("home_country", f'"{values["home_country"]}" is not a valid choice.')
    rules = values.get("custom_rules")
    if rules is not None:
        rule_errors = [_check_rule(rule) for rule in rules]
        if any(rule_errors):
            problems.errors["custom_rules"] = rule_errors
    if problems.errors:
        problems.raise_if_any()

    def current(field: str) -> Any:
        if field in values:
            return values[field]
        return getattr(existing, COLUMNS[field]) if existing is not None else DEFAULTS.get(field)

    if "code" not in values and existing is None:
        values["code"] = default_code(values["rate"])
    if problem := code_rate_problem(current("code"), current("rate")):
        problems.add("code", problem)
    reverse = current("eu_reverse_charge") or any(
        rule.get("action") == "reverse" for rule in current("custom_rules") or []
    )
    if reverse and not current("home_country"):
        problems.add("home_country", "A home country is required to apply reverse charge.")
    problems.raise_if_any()
    return values


def _apply(call: Call, event: Event, rule: TaxRule, values: dict[str, Any]) -> dict[str, Any]:
    """Write ``values``; returns what actually changed (for the audit log)."""
    changed: dict[str, Any] = {}
    for field, column in COLUMNS.items():
        if field in values and getattr(rule, column) != values[field]:
            setattr(rule, column, values[field])
            changed[field] = values[field]
    call.session.flush()
    if changed.get("default"):
        # There is one default rule per event: the new one takes over.
        call.session.execute(
            update(TaxRule)
            .where(TaxRule.event_id == event.id, TaxRule.id != rule.id, TaxRule.is_default.is_(True))
            .values(is_default=False)
        )
    return changed


@get(BASE, tags=["taxrules"])
async def list_taxrules(request: Request, organizer: FromPath[str], event: FromPath[str]) -> Response[Page[TaxRuleOut]]:
    """Tax rules of the event; sends ``Last-Modified``."""

    def work(call: Call) -> Page[TaxRuleOut]:
        target = call.event(organizer, event)
        call.last_modified(target, LIST_RESOURCE)
        return call.paginate(
            select(TaxRule).where(TaxRule.event_id == target.id),
            serialize,
            ordering={"id": TaxRule.id},
            default_ordering=[TaxRule.id],
        )

    return await in_call(request, work)


@get(DETAIL, tags=["taxrules"])
async def get_taxrule(
    request: Request, organizer: FromPath[str], event: FromPath[str], rule_id: FromPath[int]
) -> Response[TaxRuleOut]:
    """One tax rule."""

    def work(call: Call) -> TaxRuleOut:
        target = call.event(organizer, event)
        return serialize(call.get(TaxRule, rule_id, event_id=target.id))

    return await in_call(request, work)


@post(BASE, tags=["taxrules"], status_code=201)
async def create_taxrule(
    request: Request, organizer: FromPath[str], event: FromPath[str], data: JSONBody[TaxRuleIn]
) -> Response[TaxRuleOut]:
    """Create a tax rule; without ``code`` a positive rate is standard-rated (``S/standard``)."""

    def work(call: Call) -> TaxRuleOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        values = validate({**DEFAULTS, **sent_fields(data)}, None)
        rule = TaxRule(event_id=target.id, name=values["name"], rate=values["rate"])
        call.session.add(rule)
        _apply(call, target, rule, values)
        call.touch(target, LIST_RESOURCE)
        call.log(rule, "boxoffice.event.taxrule.added", msgspec.to_builtins(values))
        return serialize(rule)

    return await in_call(request, work, status_code=201)


def _update(call: Call, organizer: str, event: str, rule_id: int, data: TaxRuleIn, *, full: bool) -> TaxRuleOut:
    target = call.event(organizer, event, WRITE_PERMISSION)
    rule = call.get(TaxRule, rule_id, event_id=target.id)
    sent = sent_fields(data)
    if full:
        missing = [field for field in REQUIRED if field not in sent]
        if missing:
            raise FieldErrors({field: ["This field is required."] for field in missing})
        sent = {**DEFAULTS, "code": default_code(sent["rate"]) if sent["rate"].is_finite() else None, **sent}
    values = validate(sent, rule)
    changed = _apply(call, target, rule, values)
    if changed:
        call.touch(target, LIST_RESOURCE)
        # Items show their rule's rate: their list changes with it.
        call.touch(target, "items")
        call.log(rule, "boxoffice.event.taxrule.changed", msgspec.to_builtins(changed))
    return serialize(rule)


@patch(DETAIL, tags=["taxrules"])
async def patch_taxrule(
    request: Request, organizer: FromPath[str], event: FromPath[str], rule_id: FromPath[int], data: JSONBody[TaxRuleIn]
) -> Response[TaxRuleOut]:
    """Change the fields sent."""
    return await in_call(request, lambda call: _update(call, organizer, event, rule_id, data, full=False))


@put(DETAIL, tags=["taxrules"])
async def put_taxrule(
    request: Request, organizer: FromPath[str], event: FromPath[str], rule_id: FromPath[int], data: JSONBody[TaxRuleIn]
) -> Response[TaxRuleOut]:
    """Replace the tax rule: fields left out are reset to their defaults."""
    return await in_call(request, lambda call: _update(call, organizer, event, rule_id, data, full=True))


def _users() -> list[Column[Any]]:
    """Columns that may point at the rule: every foreign key to it, and the items' ``tax_rule_id`` in any case."""
    columns = [column for column, _ in references_to("tax_rule")]
    items = Base.metadata.tables.get("item")
    if items is not None and "tax_rule_id" in items.c and items.c.tax_rule_id not in columns:
        columns.append(items.c.tax_rule_id)
    return columns


@delete(DETAIL, tags=["taxrules"], status_code=204)
async def delete_taxrule(
    request: Request, organizer: FromPath[str], event: FromPath[str], rule_id: FromPath[int]
) -> Response[None]:
    """Delete a tax rule; 403 while products (or anything else) still use it."""

    def work(call: Call) -> None:
        target = call.event(organizer, event, WRITE_PERMISSION)
        rule = call.get(TaxRule, rule_id, event_id=target.id)
        if is_referenced(call.session, _users(), rule.id):
            raise ApiError(403, "This tax rule can not be deleted as it is currently in use.")
        call.log(rule, "boxoffice.event.taxrule.deleted", {"id": rule.id})
        call.session.delete(rule)
        call.session.flush()
        call.touch(target, LIST_RESOURCE)

    return await in_call(request, work, status_code=204)


ROUTES = [list_taxrules, get_taxrule, create_taxrule, patch_taxrule, put_taxrule, delete_taxrule]
