"""Conformance with the pretix API v1 digest: every documented example request of the issue-3 resources (catalogue,
teams, devices) and of the issue-4 resources (orders, carts, transactions) is replayed against a fresh server, and
the answer must carry a documented success status and every field of the documented example response, with
compatible JSON types. One test per endpoint, named after it.

The examples talk about pretix's demo data (organizer ``bigevents``, event ``sampleconf``, item 1, team 1, order
``ABC12`` …). A :class:`World` creates what an example refers to on demand, through the API itself wherever the API
can create it (team members only in the database: the API cannot add them), and the example's path parameters and
body references are rewritten to the ids it created. Orders are put into the state an example needs through the
API too (placed as pending or paid, in test mode or awaiting approval, then canceled, refunded …). Per example only
what that example needs is created, so a broken resource shows up in its own tests and in the prerequisites it
blocks, and nowhere else. Beyond ids, a few example values are replaced: plugin names and the payment provider
``banktransfer`` (pretix's plugin modules do not exist here), the elided device public key, seat references (no
seating plans here), a payment deadline of 2017 (a deadline can only be moved into the future), and the missing
price of the cart example's add-on (the spec's notes say cart positions carry the price they are given).

Type compatibility: string/number/boolean/object/list must agree, ``null`` on either side is accepted; a decimal
string in the example (money, rates) must be a decimal string in the answer, an ISO datetime an ISO datetime with
an offset; where the example shows ``null``, a field documented as datetime or money (in the resource's field table
or its related tables: positions, payments, refunds) is still checked for that form. Nested objects are compared
key by key, lists by their first elements; multilingual strings and free-form maps (``meta_data`` …) only by type.
An example response that only says "(Full order resource, see above.)" is compared with the example of the
resource it names. ``DOC_ERRATA`` and ``DOC_ERRATA_RENAMES`` list the example keys that are slips of the
documentation.

The digest lives next to the repository (``../shared/spec/pretix-api.json``) or where ``BOXOFFICE_PRETIX_SPEC``
points; without it the tests are skipped with that reason.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from export_world import api_helpers
from litestar.testing import TestClient
from sqlalchemy import select

from boxoffice.apps.api import create_app
from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.models import Event, Item

REPOSITORY = Path(__file__).resolve().parents[3]
SPEC_PATH = Path(os.environ.get("BOXOFFICE_PRETIX_SPEC", REPOSITORY.parent / "shared" / "spec" / "pretix-api.json"))

# The resources issue 3 asks for (spec resource names); ``authentication`` holds device auth and file upload.
ISSUE_3_RESOURCES = (
    "organizers",
    "events",
    "subevents",
    "taxrules",
    "categories",
    "items",
    "item_variations",
    "item_add-ons",
    "item_bundles",
    "item_meta_properties",
    "questions",
    "question_options",
    "quotas",
    "vouchers",
    "saleschannels",
    "teams",
    "devices",
    "authentication",
)

# The resources of issue 4, the orders engine.
ISSUE_4_RESOURCES = ("orders", "carts", "transactions")
# Issue 5: the bank transfer plugin's organizer-level import jobs.
ISSUE_5_RESOURCES = ("banktransfer",)
# The resources of issue 7, check-in.
ISSUE_7_RESOURCES = ("checkinlists", "checkin")
# Issue 8: invoices.
ISSUE_8_RESOURCES = ("invoices",)
# Issue 6: the PDF ticket output's layouts and batch rendering (the downloads belong to the orders resource).
ISSUE_6_RESOURCES = ("ticketoutputpdf",)
# Issue 10: the webhooks plugin's resource.
ISSUE_10_RESOURCES = ("webhooks",)
RESOURCES = (
    ISSUE_3_RESOURCES
    + ISSUE_4_RESOURCES
    + ISSUE_5_RESOURCES
    + ISSUE_6_RESOURCES
    + ISSUE_7_RESOURCES
    + ISSUE_8_RESOURCES
    + ISSUE_10_RESOURCES
)
# Asynchronous endpoints whose examples are replayed: with jobs in-process the result is there at once.
ASYNC_REPLAYED = frozenset(ISSUE_6_RESOURCES)

EVENT_API = "/api/v1/organizers/{organizer}/events/{event}"
ORDER_API = EVENT_API + "/orders/{code}/"

# (method, path) → why the example is not replayed. Only endpoints outside issues 3 and 4 belong here.
SKIPPED = {
    ("POST", "/api/v1/oauth/token"): "OAuth applications are not part of issue 3 (team tokens and devices are)",
    ("POST", "/api/v1/oauth/revoke_token"): "OAuth applications are not part of issue 3",
    ("GET", "/api/v1/oauth/authorize"): "OAuth applications are not part of issue 3 (and the page is HTML)",
    ("GET", "/api/v1/me"): "answers for OAuth user credentials only; OAuth is not part of issue 3",
}

# Example keys that are slips of the upstream documentation rather than part of the interface.
DOC_ERRATA = {
    # The device resource is keyed by ``device_id`` (its field table has no ``id``); the PATCH example alone says
    # ``id`` and elides the rest of the body.
    ("PATCH", "/api/v1/organizers/{organizer}/devices/{device_id}/"): {"id"},
}
# (resource, example key) → the key the resource's field table documents; the example's key is compared under it.
DOC_ERRATA_RENAMES = {
    # Every answer in the order and position examples says ``option_idenfiters``; the answer field tables of both
    # the order position and the cart position name it ``option_identifiers``.
    ("orders", "option_idenfiters"): "option_identifiers",
}
# (resource, field) compared only for presence: the ticket layout GET examples elide the element list to ``{}``
# (the field table says list, and the POST/PATCH examples show ``[]``).
DOC_ERRATA_PRESENCE_ONLY = {"ticketoutputpdf": frozenset({"layout"})}

ORGANIZER = "demo"
EVENT = "democon"
SERIES = "series"
# The device handshake example elides its public key ("MIIBIjANBgkqh…nswIDAQAB"); this is a complete one.
RSA_PUBLIC_KEY = """-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqzlVTBxNlxj3hfWv805E
gXlQZ7yV6Eh26pxyc6oTFVKod7uwghnWC6S+JrFVGUdg4CWQJzWpB6AmlGALRN3N
yTZuySunNT8GBburDja/wzR8w7KCYeeZH4snpVOkVCl4GM6IRfjYVbZHpl2Dp9gP
D+v/+bbJUIDu766KuBA30YQQa8KjU/03QzeuKRrCpumv73arVz6k7WZI4UfDLQBQ
fMhvQnHk7o90UKKziU7w8SEuo3HA/a/gsnfhXcpW64aYawQUTqJ4zJUKOSVvOb/B
U+DIjD+5C/bkkZ5iOhQSwRMSvh3biDNn3WpE8Qlf+UfD56/wVSpVw4APaeEw7TDN
3wIDAQAB
-----END PUBLIC KEY-----
"""
# A 1x1 transparent PNG, for the upload endpoint.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


# --- the spec -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    resource: str
    endpoint: dict[str, Any]
    free_form: frozenset[str]
    money: frozenset[str]
    datetimes: frozenset[str]
    # What a placeholder response ("Full order resource, see above.") stands for: the example body it names.
    stands_for: Any = None

    @property
    def method(self) -> str:
        return self.endpoint["method"]

    @property
    def path(self) -> str:
        return self.endpoint["path"]

    @property
    def name(self) -> str:
        return f"{self.resource}: {self.method} {self.path}"

    @property
    def request_body(self) -> Any:
        return self.endpoint.get("example_request")

    @property
    def response(self) -> dict[str, Any]:
        return self.endpoint.get("example_response") or {}

    @property
    def expected_body(self) -> Any:
        """The documented response body, a placeholder replaced by the example body it refers to."""
        return self.response.get("body") if self.stands_for is None else self.stands_for

    @property
    def query(self) -> str:
        target = self.endpoint.get("example_request_target") or ""
        return target.partition("?")[2]

    def accepted_statuses(self) -> set[int]:
        """The documented success codes (2xx, and 304 where the endpoint documents one)."""
        accepted = {code for code in self.endpoint.get("status_codes", []) if 200 <= code < 400}
        if isinstance(self.response.get("status"), int):
            accepted.add(self.response["status"])
        return accepted or {"POST": {201}, "DELETE": {204}}.get(self.method, {200})


FREE_FORM_TYPES = ("object", "object of strings", "multi-lingual string")


def _free_form_fields(resource: dict[str, Any]) -> frozenset[str]:
    """Fields whose keys are data (languages, meta property names, name parts …), so only their type is compared:
    maps without documented sub-fields, at any depth, in the field table and the related tables."""
    fields = resource.get("fields", []) + [f for t in resource.get("related_tables") or [] for f in t["fields"]]
    names: set[str] = set()
    while fields:
        f = fields.pop()
        if f.get("nested"):
            fields += f["nested"]
        elif f.get("type") in FREE_FORM_TYPES:
            names.add(f["name"])
    return frozenset(names)


def _fields_of_type(fields: list[dict[str, Any]], pattern: str) -> frozenset[str]:
    """Names of the (nested) fields whose documented type matches ``pattern``."""
    names: set[str] = set()
    for f in fields:
        if re.search(pattern, str(f.get("type", ""))):
            names.add(f["name"])
        names |= _fields_of_type(f.get("nested") or [], pattern)
    return frozenset(names)


# The resource a placeholder response names → the example that shows it in full.
PLACEHOLDER_SOURCES = {
    "order": ("GET", EVENT_API + "/orders/{code}/"),
    "order position": ("GET", EVENT_API + "/orderpositions/{id}/"),
    "cart position": ("GET", EVENT_API + "/cartpositions/{id}/"),
}
PLACEHOLDER = re.compile(r"^\(Full (?P<resource>[\w ]+?) resource\b")
# Placeholders that name the wrong resource: the change endpoint works on a whole order (it can cancel, split and
# create several positions at once) and answers with the order, as its summary says; one position could not
# represent the result.
PLACEHOLDER_ERRATA = {("POST", EVENT_API + "/orders/{code}/change/"): "order"}


def _resolve_placeholder(endpoint: dict[str, Any], resource: dict[str, Any]) -> Any:
    """The example body a placeholder response refers to, with the nested lists it says it adds; ``None`` when the
    response is not a placeholder (or names nothing this test knows: then it stays unchecked, as before)."""
    body = (endpoint.get("example_response") or {}).get("body")
    if not (isinstance(body, dict) and body.get("placeholder")):
        return None
    text = str(body.get("text", ""))
    named = PLACEHOLDER.match(text)
    named_resource = PLACEHOLDER_ERRATA.get((endpoint["method"], endpoint["path"])) or (
        named.group("resource") if named else None
    )
    source = PLACEHOLDER_SOURCES.get(named_resource) if named_resource else None
    full = next(
        (
            (e.get("example_response") or {}).get("body")
            for e in resource["endpoints"]
            if source is not None and (e["method"], e["path"]) == source
        ),
        None,
    )
    if not isinstance(full, dict):
        return None
    added = re.search(r"additional nested objects (.*)\)", text)
    return {**full, **{name: [] for name in re.findall(r'"(\w+)"', added.group(1) if added else "")}}


def load_examples(resources: tuple[str, ...] | None = RESOURCES) -> list[Example]:
    """The examples of ``resources`` (``None``: of every resource in the digest)."""
    spec = json.loads(SPEC_PATH.read_text())
    examples = []
    for resource in spec["resources"]:
        if resources is None or resource["resource"] in resources:
            free_form = _free_form_fields(resource) | DOC_ERRATA_PRESENCE_ONLY.get(resource["resource"], frozenset())
            # Orders document their positions, payments and refunds in related tables.
            fields = resource.get("fields", []) + [
                f for table in resource.get("related_tables") or [] for f in table.get("fields", [])
            ]
            # Money documented as a string while an example shows a bare number is a slip of the example.
            money = _fields_of_type(fields, r"\b(money|decimal)\b")
            datetimes = _fields_of_type(fields, r"^datetime$")
            examples += [
                Example(
                    resource["resource"],
                    endpoint,
                    free_form,
                    money,
                    datetimes,
                    _resolve_placeholder(endpoint, resource),
                )
                for endpoint in resource["endpoints"]
            ]
    return examples


def _params() -> list[Any]:
    if not SPEC_PATH.exists():
        reason = f"pretix API digest not found at {SPEC_PATH} (set BOXOFFICE_PRETIX_SPEC)"
        return [pytest.param(None, id="spec-missing", marks=pytest.mark.skip(reason=reason))]
    params = []
    for example in load_examples():
        marks = []
        reason = SKIPPED.get((example.method, example.path))
        if reason is None and example.endpoint.get("async") and example.resource not in ASYNC_REPLAYED:
            reason = "asynchronous endpoint (202 + polling) outside issues 3 and 4"
        if reason is not None:
            marks.append(pytest.mark.skip(reason=f"{example.method} {example.path}: {reason}"))
        params.append(pytest.param(example, id=example.name, marks=marks))
    return params


# --- comparing bodies -------------------------------------------------------------------------------------------

DECIMAL = re.compile(r"^-?\d+\.\d+$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z]{2,4})?$")


def json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "null"


def _has_offset(text: str) -> bool:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False


def compare(expected: Any, actual: Any, where: str, example: Example, problems: list[str]) -> None:
    """Record in ``problems`` where ``actual`` lacks a key of ``expected`` or holds an incompatible type."""
    name = re.sub(r"\[\d+\]$", "", where.rpartition(".")[2])
    if expected is None and isinstance(actual, str):
        # No example value to compare with: the documented type still says what the string must look like.
        if name in example.datetimes and not _has_offset(actual):
            problems.append(f"{where}: documented as a datetime, got {actual!r} (ISO 8601 with offset required)")
        elif name in example.money and not DECIMAL.match(actual):
            problems.append(f"{where}: documented as money/decimal, got {actual!r}")
    if expected is None or actual is None:
        return
    if name in example.money and json_kind(expected) == "number":
        expected = f"{expected:.2f}"
    expected_kind, actual_kind = json_kind(expected), json_kind(actual)
    if expected_kind != actual_kind:
        problems.append(f"{where}: wrong type, spec has {expected_kind} ({expected!r}), got {actual_kind} ({actual!r})")
        return
    if expected_kind == "string":
        if DECIMAL.match(expected) and not DECIMAL.match(actual):
            problems.append(f"{where}: spec has a decimal string ({expected!r}), got {actual!r}")
        elif DATETIME.match(expected) and not (DATETIME.match(actual) and _has_offset(actual)):
            problems.append(f"{where}: spec has an ISO datetime ({expected!r}), got {actual!r} (offset required)")
        elif DATE.match(expected) and not DATE.match(actual):
            problems.append(f"{where}: spec has a date ({expected!r}), got {actual!r}")
    elif expected_kind == "object":
        if expected and all(LANGUAGE.match(key) and isinstance(text, str) for key, text in expected.items()):
            return  # a multilingual string: its languages are data (``{"id": 1}`` is not one)
        for documented, value in expected.items():
            key = DOC_ERRATA_RENAMES.get((example.resource, documented), documented)
            inner = f"{where}.{key}" if where else key
            if key not in actual:
                problems.append(f"{inner}: missing")
            elif key not in example.free_form:
                compare(value, actual[key], inner, example, problems)
    elif expected_kind == "list" and expected and actual:
        compare(expected[0], actual[0], f"{where}[0]", example, problems)


def body_problems(example: Example, body: Any) -> list[str]:
    expected = example.expected_body
    if expected is None or (isinstance(expected, dict) and expected.get("unparsed")):
        return []
    ignored = DOC_ERRATA.get((example.method, example.path), set())
    if isinstance(expected, dict):
        expected = {key: value for key, value in expected.items() if key not in ignored}
    problems: list[str] = []
    if isinstance(expected, dict) and "results" in expected and {"count", "next", "previous"} <= set(expected):
        # A list: the envelope, then the first result against the example's first result.
        compare({k: v for k, v in expected.items() if k != "results"}, body, "", example, problems)
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            return problems or [f"not a paginated list: {body!r}"[:300]]
        if expected["results"] and not body["results"]:
            return [*problems, "results: empty, so the fields of a result cannot be checked"]
        if expected["results"]:
            compare(expected["results"][0], body["results"][0], "results[0]", example, problems)
        return problems
    compare(expected, body, "", example, problems)
    return problems


# --- the world the examples talk about ----------------------------------------------------------------------------


class PrerequisiteFailed(Exception):
    """Something an example refers to could not be created (usually: its endpoint is not there yet)."""


@dataclass
class World:
    """Creates the objects the examples refer to, once each, through the API; every getter returns the new id."""

    api: Any
    made: dict[str, Any] = field(default_factory=dict)

    # --- plumbing ---

    def call(self, method: str, path: str, body: Any = None, *, auth: bool = True) -> Any:
        response = self.api.client.request(method, path, json=body, headers=self.api.headers() if auth else {})
        if response.status_code >= 300:
            raise PrerequisiteFailed(f"{method} {path} → {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self.made:
            self.made[key] = make()
        return self.made[key]

    def event_path(self, event: str = EVENT) -> str:
        return f"/api/v1/organizers/{ORGANIZER}/events/{event}"

    def create(self, key: str, path: str, body: Any, id_field: str = "id") -> Any:
        return self.once(key, lambda: self.call("POST", path, body)[id_field])

    # --- event-level objects ---

    def bank_transfer_on(self) -> None:
        """The bank transfer plugin on the event: its organizer-level resources answer only then."""
        self.once("banktransfer_on", lambda: self.call("PATCH", self.event_path() + "/", {"plugins": ["banktransfer"]}))

    def bank_import_job(self) -> int:
        self.bank_transfer_on()
        body = {"event": EVENT, "transactions": [{"payer": "Foo", "reference": "DEMOCON-XXXXX", "amount": "23.00"}]}
        return self.create("bank_import_job", f"/api/v1/organizers/{ORGANIZER}/bankimportjobs/", body)

    def webhook(self) -> int:
        body = {"target_url": "https://example.org/hook", "action_types": ["pretix.event.order.paid"]}
        return self.create("webhook", f"/api/v1/organizers/{ORGANIZER}/webhooks/", body)

    def pdf_on(self) -> None:
        """The PDF ticket output on the event: its layout endpoints and the ``pdf`` downloads answer only then."""

        def make() -> None:
            plugins = self.call("GET", self.event_path() + "/").get("plugins") or []
            self.call("PATCH", self.event_path() + "/", {"plugins": sorted({*plugins, "ticketoutputpdf"})})

        self.once("pdf_on", make)

    def ticket_layout(self) -> int:
        """A layout used by the plain item on the web channel (so the assignment list has a row too)."""
        self.pdf_on()
        body = {
            "name": "Default layout",
            "default": True,
            "layout": [{"type": "barcodearea", "content": "secret", "left": 20, "bottom": 200, "size": 50}],
            "item_assignments": [{"item": self.plain_item(), "sales_channel": "web"}],
        }
        return self.create("ticket_layout", self.event_path() + "/ticketlayouts/", body)

    def batch_download(self) -> list[str]:
        """The two ids of a finished batch's download URL (the polling endpoint has no example of its own)."""

        def make() -> list[str]:
            self.pdf_on()
            body = {"parts": [{"orderposition": self.position_id(self.paid_order())}]}
            url = self.call("POST", self.event_path() + "/ticketpdfrenderer/render_batch/", body)["download"]
            return url.rstrip("/").split("/")[-2:]

        return self.once("batch_download", make)

    def taxrule(self) -> int:
        return self.create("taxrule", self.event_path() + "/taxrules/", {"name": {"en": "VAT"}, "rate": "19.00"})

    def category(self) -> int:
        return self.create("category", self.event_path() + "/categories/", {"name": {"en": "Merchandise"}})

    def plain_item(self) -> int:
        """The item without variations that the test database starts with."""

        def find() -> int:
            with self.api.kernel.db.session() as session:
                event_id = session.scalar(select(Event.id).where(Event.slug == EVENT))
                return session.scalar(select(Item.id).where(Item.event_id == event_id).order_by(Item.id))

        return self.once("plain_item", find)

    def item(self) -> int:
        """An item with two variations."""

        def make() -> int:
            created = self.call(
                "POST",
                self.event_path() + "/items/",
                {
                    "name": {"en": "T-Shirt"},
                    "default_price": "23.00",
                    "variations": [{"value": {"en": "S"}}, {"value": {"en": "M"}}],
                },
            )
            self.made["variations"] = [variation["id"] for variation in created.get("variations", [])]
            return created["id"]

        return self.once("item", make)

    def variations(self) -> list[int]:
        item = self.item()
        if not self.made.get("variations"):
            listed = self.call("GET", f"{self.event_path()}/items/{item}/variations/")
            self.made["variations"] = [variation["id"] for variation in listed["results"]]
        return self.made["variations"]

    def variation(self) -> int:
        return self.variations()[0]

    def addon(self) -> int:
        path = f"{self.event_path()}/items/{self.item()}/addons/"
        return self.create("addon", path, {"addon_category": self.category(), "min_count": 0, "max_count": 1})

    def bundle(self) -> int:
        path = f"{self.event_path()}/items/{self.item()}/bundles/"
        return self.create("bundle", path, {"bundled_item": self.plain_item(), "count": 1})

    def program_time(self) -> int:
        path = f"{self.event_path()}/items/{self.item()}/program_times/"
        return self.create("program_time", path, {"start": "2031-05-01T10:00:00Z", "end": "2031-05-01T12:00:00Z"})

    def item_meta_property(self) -> int:
        path = self.event_path() + "/item_meta_properties/"
        return self.create("item_meta_property", path, {"name": "Color", "default": "red"})

    def question(self) -> int:
        body = {"question": {"en": "Size"}, "type": "C", "items": [], "options": [{"answer": {"en": "S"}}]}
        return self.create("question", self.event_path() + "/questions/", body)

    def question_option(self) -> int:
        path = f"{self.event_path()}/questions/{self.question()}/options/"
        return self.create("question_option", path, {"answer": {"en": "XL"}})

    def quota(self) -> int:
        body = {"name": "Shirts", "size": 20, "items": [self.plain_item()], "variations": []}
        return self.create("quota", self.event_path() + "/quotas/", body)

    def voucher(self) -> int:
        body = {"code": "SEEDVOUCHER42", "max_usages": 1, "item": self.plain_item()}
        return self.create("voucher", self.event_path() + "/vouchers/", body)

    # --- an event series ---

    def series(self) -> str:
        def make() -> str:
            body = {
                "name": {"en": "Series"},
                "slug": SERIES,
                "currency": "EUR",
                "date_from": "2031-06-01T10:00:00Z",
                "has_subevents": True,
            }
            return self.call("POST", f"/api/v1/organizers/{ORGANIZER}/events/", body)["slug"]

        return self.once("series", make)

    def series_item(self) -> int:
        path = self.event_path(self.series()) + "/items/"
        return self.create("series_item", path, {"name": {"en": "Day ticket"}, "default_price": "12.00"})

    def subevent(self) -> int:
        path = self.event_path(self.series()) + "/subevents/"
        return self.create("subevent", path, {"name": {"en": "Day 1"}, "date_from": "2031-06-01T10:00:00Z"})

    # --- organizer-level objects ---

    def team(self) -> int:
        """A team of its own, so that examples changing or deleting "team 1" leave the caller's token alone."""
        return self.create("team", f"/api/v1/organizers/{ORGANIZER}/teams/", {"name": "Scanner crew"})

    def invite(self) -> int:
        path = f"/api/v1/organizers/{ORGANIZER}/teams/{self.team()}/invites/"
        return self.create("invite", path, {"email": "invitee@example.org"})

    def token(self) -> int:
        path = f"/api/v1/organizers/{ORGANIZER}/teams/{self.team()}/tokens/"
        return self.create("token", path, {"name": "Test token"})

    def member(self) -> int:
        """Members join through the web UI; the API only lists and removes them, so one is put in the database."""

        def make() -> int:
            import importlib

            from boxoffice.kernel.models import Team

            try:
                user_model = importlib.import_module("boxoffice.kernel.models.users").User
            except (ImportError, AttributeError):
                raise PrerequisiteFailed("no User model (boxoffice.kernel.models.users) to seed a member") from None
            team_id = self.team()
            with self.api.kernel.db.session() as session:
                user = user_model(email="member@example.org", fullname="Mem Ber")
                team = session.get(Team, team_id)
                team.members.append(user)
                session.flush()
                return user.id

        return self.once("member", make)

    def device(self) -> dict[str, Any]:
        body = {"name": "Scanner", "all_events": True, "limit_events": []}
        return self.once("device", lambda: self.call("POST", f"/api/v1/organizers/{ORGANIZER}/devices/", body))

    def device_id(self) -> int:
        return self.device()["device_id"]

    def device_token(self) -> str:
        """Initialize a second device (the first one's one-time token may be what the example itself uses)."""

        def make() -> str:
            body = {"name": "POS", "all_events": True, "limit_events": []}
            created = self.call("POST", f"/api/v1/organizers/{ORGANIZER}/devices/", body)
            handshake = {
                "token": created["initialization_token"],
                "hardware_brand": "Samsung",
                "hardware_model": "Galaxy S",
                "os_name": "Android",
                "os_version": "2.3.6",
                "software_brand": "pretixdroid",
                "software_version": "4.0.0",
            }
            return self.call("POST", "/api/v1/device/initialize", handshake, auth=False)["api_token"]

        return self.once("device_token", make)

    def running_event(self) -> str:
        """An event taking place right now, for the device's event selection to suggest."""

        def make() -> str:
            now = datetime.now(UTC).replace(microsecond=0)
            body = {
                "name": {"en": "Running"},
                "slug": "running",
                "currency": "EUR",
                "date_from": (now - timedelta(hours=1)).isoformat(),
                "date_to": (now + timedelta(hours=6)).isoformat(),
            }
            return self.call("POST", f"/api/v1/organizers/{ORGANIZER}/events/", body)["slug"]

        return self.once("running_event", make)

    def custom_channel(self) -> str:
        body = {"identifier": "api.custom", "label": {"en": "Custom integration"}, "type": "api", "position": 2}
        return self.create("custom_channel", f"/api/v1/organizers/{ORGANIZER}/saleschannels/", body, "identifier")

    # --- what orders refer to ---

    def number_question(self) -> int:
        """A number question on the plain item: the order and cart examples answer question 1 with "23"."""
        body = {"question": {"en": "Age"}, "type": "N", "required": False, "items": [self.plain_item()]}
        return self.create("number_question", self.event_path() + "/questions/", body)

    def addon_product(self) -> int:
        """A product sold as an add-on to the plain item (its own add-on category, add-on rule and quota)."""

        def make() -> int:
            event = self.event_path()
            category = self.call("POST", event + "/categories/", {"name": {"en": "Extras"}, "is_addon": True})["id"]
            body = {"name": {"en": "Workshop"}, "default_price": "10.00", "category": category}
            item = self.call("POST", event + "/items/", body)["id"]
            addon = {"addon_category": category, "min_count": 0, "max_count": 2}
            self.call("POST", f"{event}/items/{self.plain_item()}/addons/", addon)
            self.call("POST", event + "/quotas/", {"name": "Workshops", "size": 50, "items": [item], "variations": []})
            return item

        return self.once("addon_product", make)

    def event_locale(self, locale: str) -> None:
        """Add ``locale`` to the languages of the event."""

        def make() -> None:
            path = self.event_path() + "/settings/"
            locales = self.call("GET", path).get("locales") or ["en"]
            self.call("PATCH", path, {"locales": sorted({*locales, locale})})

        self.once(f"locale_{locale}", make)

    def cart_position(self) -> int:
        body = {"cart_id": "conformance@api", "item": self.plain_item(), "price": "23.00"}
        return self.create("cart_position", self.event_path() + "/cartpositions/", body)

    # --- orders in the states the examples need ---

    def orders_path(self, event: str = EVENT) -> str:
        return self.event_path(event) + "/orders/"

    def place(self, key: str, event: str = EVENT, **fields: Any) -> dict[str, Any]:
        """An order of one position (23.00, like the examples), paid by the bundled ``manual`` provider; ``fields``
        add to or replace fields of the creation body. Returns the order as the creation answered it."""

        def make() -> dict[str, Any]:
            body = {
                "email": "buyer@example.org",
                "locale": "en",
                "sales_channel": "web",
                "payment_provider": "manual",
                "positions": [
                    {
                        "positionid": 1,
                        "item": self.plain_item(),
                        "price": "23.00",
                        "attendee_name_parts": {"full_name": "Peter"},
                    }
                ],
                **fields,
            }
            return self.call("POST", self.orders_path(event), body)

        return self.once(key, make)

    def paid_order(self) -> dict[str, Any]:
        """A paid order with everything the detail example shows filled: invoice address, an answer, a confirmed
        payment and a print log (check-ins are issue 7, ticket downloads issue 6)."""

        def make() -> dict[str, Any]:
            position = {
                "positionid": 1,
                "item": self.plain_item(),
                "price": "23.00",
                "attendee_name_parts": {"full_name": "Peter"},
                "company": "Sample company",
                "street": "Test street 12",
                "zipcode": "12345",
                "city": "Testington",
                "country": "DE",
                "answers": [{"question": self.number_question(), "answer": "23", "options": []}],
            }
            address = {
                "is_business": True,
                "company": "Sample company",
                "name_parts": {"full_name": "John Doe"},
                "street": "Test street 12",
                "zipcode": "12345",
                "city": "Testington",
                "country": "DE",
                "state": "",
                "internal_reference": "",
                "vat_id": "EU123456789",
            }
            order = self.place("paid_order_placed", status="p", invoice_address=address, positions=[position])
            log = {"datetime": "2024-09-19T13:37:00+02:00", "source": "pretixPOS", "type": "badge", "info": {}}
            self.call("POST", f"{self.event_path()}/orderpositions/{self.position_id(order)}/printlog/", log)
            return order

        return self.once("paid_order", make)

    def pending_order(self) -> dict[str, Any]:
        """A pending order; its payment (number 1) is still open."""
        return self.place("pending_order", status="n")

    def approval_order(self) -> dict[str, Any]:
        return self.place("approval_order", status="n", require_approval=True)

    def testmode_order(self) -> dict[str, Any]:
        return self.place("testmode_order", status="n", testmode=True)

    def canceled_order(self) -> dict[str, Any]:
        def make() -> dict[str, Any]:
            order = self.place("to_cancel", status="n")
            self.call("POST", f"{self.orders_path()}{order['code']}/mark_canceled/", {"send_email": False})
            return order

        return self.once("canceled_order", make)

    def two_position_order(self) -> dict[str, Any]:
        """An order of two tickets: its last position cannot be canceled on its own, the second one can."""
        position = {"item": self.plain_item(), "price": "23.00"}
        positions = [{**position, "positionid": 1}, {**position, "positionid": 2}]
        return self.place("two_position_order", status="p", positions=positions)

    def position_id(self, order: dict[str, Any], index: int = 0) -> int:
        try:
            return order["positions"][index]["id"]
        except (KeyError, IndexError, TypeError):
            raise PrerequisiteFailed(f"order without position {index + 1}: {order!r}"[:300]) from None

    def payment_local_id(self, order: dict[str, Any]) -> int:
        try:
            return order["payments"][0]["local_id"]
        except (KeyError, IndexError, TypeError):
            raise PrerequisiteFailed(f"order without a payment: {order!r}"[:300]) from None

    def refund(self, state: str) -> int:
        """A refund of the paid order's payment in ``state``; its order-local number."""

        def make() -> int:
            order = self.paid_order()
            body = {
                "state": state,
                "source": "external" if state == "external" else "admin",
                "amount": "23.00",
                "payment": self.payment_local_id(order),
                "comment": "Cancellation",
                "provider": "manual",
            }
            return self.call("POST", f"{self.orders_path()}{order['code']}/refunds/", body)["local_id"]

        return self.once(f"refund_{state}", make)

    def blocked_position(self) -> int:
        """A position of the paid order carrying the block ``api:block1`` (the block the examples name)."""

        def make() -> int:
            position = self.position_id(self.paid_order())
            self.call("POST", f"{self.event_path()}/orderpositions/{position}/add_block/", {"name": "api:block1"})
            return position

        return self.once("blocked_position", make)

    def revoked_secret(self) -> str:
        """New secrets for the paid order, so that its old ticket secret is revoked."""

        def make() -> str:
            code = self.paid_order()["code"]
            return self.call("POST", f"{self.orders_path()}{code}/regenerate_secrets/")["code"]

        return self.once("revoked_secret", make)

    # --- an order in the series, for the change example (it moves tickets to another date) ---

    def series_taxrule(self) -> int:
        path = self.event_path(self.series()) + "/taxrules/"
        return self.create("series_taxrule", path, {"name": {"en": "VAT"}, "rate": "7.00"})

    def series_upgrade_item(self) -> int:
        path = self.event_path(self.series()) + "/items/"
        return self.create("series_upgrade_item", path, {"name": {"en": "Day ticket plus"}, "default_price": "99.99"})

    def second_subevent(self) -> int:
        """Another date of the series, with quotas for both series products on both dates."""

        def make() -> int:
            series, first = self.event_path(self.series()), self.subevent()
            body = {"name": {"en": "Day 2"}, "date_from": "2031-06-02T10:00:00Z"}
            second = self.call("POST", series + "/subevents/", body)["id"]
            items = [self.series_item(), self.series_upgrade_item()]
            for date_id in (first, second):
                quota = {"name": "Day", "size": 50, "items": items, "variations": [], "subevent": date_id}
                self.call("POST", series + "/quotas/", quota)
            return second

        return self.once("second_subevent", make)

    def change_order(self) -> dict[str, Any]:
        """A pending order in the series: three tickets for the first date and two fees, as the change example has
        (one ticket to change, one to cancel, one to split off; a fee to change, one to cancel)."""
        self.second_subevent()
        position = {"item": self.series_item(), "price": "12.00", "subevent": self.subevent()}
        fee = {"description": "", "internal_type": "", "tax_rule": self.series_taxrule()}
        return self.place(
            "change_order",
            self.series(),
            status="n",
            positions=[{**position, "positionid": number} for number in (1, 2, 3)],
            fees=[{**fee, "fee_type": "service", "value": "1.00"}, {**fee, "fee_type": "shipping", "value": "2.00"}],
        )

    # --- check-in ---

    def checkin_list(self) -> int:
        return self.create("checkin_list", f"{self.event_path()}/checkinlists/", {"name": "Default list"})

    def checked_in(self, nonce: str | None = None) -> dict[str, Any]:
        """The paid order's ticket, checked in on the list (with ``nonce``, for the annulment example)."""

        def make() -> dict[str, Any]:
            body = {"secret": self.ticket_secret(), "lists": [self.checkin_list()], "nonce": nonce}
            return self.call("POST", f"/api/v1/organizers/{ORGANIZER}/checkinrpc/redeem/", body)

        return self.once(f"checked_in_{nonce}", make)

    def ticket_secret(self) -> str:
        return _positions_of(self.paid_order())[0]["secret"]

    # --- invoices and mail ---

    def invoicing(self) -> None:
        """Invoices on request (``create_invoice``) and a mail server for the event. Nothing listens on the
        server's port: a mail is queued in the outbox and its delivery retried later, which is all a 204 says."""

        def make() -> None:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            body = {"invoice_generate": "admin", "smtp_use_custom": True, "smtp_host": "127.0.0.1", "smtp_port": port}
            self.call("PATCH", self.event_path() + "/settings/", body)
            self.call("PATCH", self.event_path() + "/", {"plugins": ["invoiceemail"]})

        self.once("invoicing", make)

    def invoiceable_order(self) -> dict[str, Any]:
        self.invoicing()
        return self.paid_order()

    def invoice_number(self) -> str:
        """The paid order's invoice, issued through ``create_invoice`` (still pending transmission)."""

        def make() -> str:
            code = self.invoiceable_order()["code"]
            return self.call("POST", f"{self.orders_path()}{code}/create_invoice/")["number"]

        return self.once("invoice_number", make)


def checkin_path_parameter(world: World, example: Example, name: str) -> Any:
    """``{list}`` is the check-in list; ``{id}`` a ticket under ``positions/``, the list elsewhere."""
    if name == "list" or (name == "id" and "/positions/{id}/" not in example.path):
        return world.checkin_list()
    return world.position_id(world.paid_order())


def rewrite_checkin_body(world: World, example: Example, body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    if "lists" in body:
        body["lists"] = [world.checkin_list()]
    if "limit_products" in body:
        body["limit_products"] = [world.item(), world.plain_item()]
    if "secret" in body:
        body["secret"] = world.ticket_secret()
    if example.path.endswith("/annul/"):
        world.checked_in(body["nonce"])
    if "answers" in body:
        # The example answers question 4, which is not asked at check-in here: answers are only read for the
        # questions a ticket's product asks at check-in.
        body["answers"] = {}
    return body


def checkin_query(world: World, query: str) -> str:
    """The example's ``list=1`` names this server's list."""
    return re.sub(r"(^|&)list=\d+", lambda found: f"{found.group(1)}list={world.checkin_list()}", query)


# What a check-in list of rows needs so that it has a first result, by the list's last path segment.
CHECKIN_LIST_ROWS: dict[str, Callable[[World], Any]] = {
    "checkinlists": World.checkin_list,
    "checkins": World.checked_in,
    "positions": World.paid_order,
    "search": World.paid_order,
}


# --- turning an example into a request ----------------------------------------------------------------------------

# Which world object an ``{id}`` path parameter of a resource stands for.
ID_OBJECTS: dict[str, Callable[[World], Any]] = {
    "subevents": World.subevent,
    "taxrules": World.taxrule,
    "categories": World.category,
    "items": World.item,
    "item_variations": World.variation,
    "item_add-ons": World.addon,
    "item_bundles": World.bundle,
    "item_meta_properties": World.item_meta_property,
    "questions": World.question,
    "question_options": World.question_option,
    "quotas": World.quota,
    "vouchers": World.voucher,
    "banktransfer": World.bank_import_job,
    "ticketoutputpdf": World.ticket_layout,
    "carts": World.cart_position,
    "webhooks": World.webhook,
}
TEAM_CHILDREN: dict[str, Callable[[World], Any]] = {
    "members": World.member,
    "invites": World.invite,
    "tokens": World.token,
}
# What a list needs so that it has a first result to compare (the test database already has an item and a quota).
LIST_ROWS: dict[str, Callable[[World], Any]] = {
    **{resource: make for resource, make in ID_OBJECTS.items() if resource not in ("items", "quotas")},
    "devices": World.device,
    "invoices": lambda world: world.invoice_number(),
}


# The order an example about ``{code}`` acts on, by (method, path after ``…/orders/{code}/``); every other example
# (reading, PATCH, regenerate_secrets, mark_pending, refunds, refunding a payment) acts on the paid order.
ORDER_STATES: dict[tuple[str, str], Callable[[World], dict[str, Any]]] = {
    ("DELETE", ""): World.testmode_order,  # only test-mode orders can be deleted
    ("POST", "mark_paid/"): World.pending_order,
    ("POST", "mark_canceled/"): World.pending_order,
    ("POST", "mark_expired/"): World.pending_order,
    ("POST", "extend/"): World.pending_order,
    ("POST", "reactivate/"): World.canceled_order,
    ("POST", "approve/"): World.approval_order,
    ("POST", "deny/"): World.approval_order,
    ("POST", "change/"): World.change_order,
    ("POST", "payments/"): World.pending_order,
    ("POST", "payments/{local_id}/confirm/"): World.pending_order,  # confirm and cancel need an open payment
    ("POST", "payments/{local_id}/cancel/"): World.pending_order,
    ("POST", "create_invoice/"): World.invoiceable_order,
    ("POST", "resend_link/"): World.invoiceable_order,
}
# The refund state an example about ``refunds/{local_id}/…`` needs.
REFUND_STATES = {
    "": "done",  # reading: the example shows a done refund
    "done/": "transit",
    "cancel/": "created",
    "process/": "external",  # only external refunds are processed
}
# What a list of the orders engine needs so that it has a first result to compare, by the list's last path segment.
ORDER_LIST_ROWS: dict[str, Callable[[World], Any]] = {
    "orders": World.paid_order,
    "orderpositions": World.paid_order,
    "payments": World.paid_order,
    "transactions": World.paid_order,
    "refunds": lambda world: world.refund("done"),
    "revokedsecrets": World.revoked_secret,
    "blockedsecrets": World.blocked_position,
    "cartpositions": World.cart_position,
}


def _after(example: Example, marker: str) -> str:
    return example.path.partition(marker)[2]


def order_of(world: World, example: Example) -> dict[str, Any]:
    """The order an example refers to as ``{code}`` (or in its body as ``order``)."""
    make = ORDER_STATES.get((example.method, _after(example, "/orders/{code}/")), World.paid_order)
    return make(world)


def path_parameter(world: World, example: Example, name: str) -> Any:
    if name == "organizer":
        return ORGANIZER
    if name == "output":
        return "pdf"
    if name in ("id1", "id2"):
        return world.batch_download()[0 if name == "id1" else 1]
    if example.resource in ISSUE_7_RESOURCES and name in ("list", "id"):
        return checkin_path_parameter(world, example, name)
    if name == "event":
        in_series = example.resource == "subevents" or example.path == ORDER_API + "change/"
        return world.series() if in_series else EVENT
    if name == "number":
        return world.invoice_number()
    if name == "code":
        return order_of(world, example)["code"]
    if name == "local_id" and "/refunds/" in example.path:
        return world.refund(REFUND_STATES[_after(example, "/refunds/{local_id}/")])
    if name == "local_id":
        return world.payment_local_id(order_of(world, example))
    if name == "id" and example.resource == "orders":
        if example.method == "DELETE":
            return world.position_id(world.two_position_order(), 1)
        if example.path.endswith("/remove_block/"):
            return world.blocked_position()
        return world.position_id(world.paid_order())
    if name == "item":
        return world.item()
    if name == "question":
        return world.question()
    if name == "team":
        return world.team()
    if name == "device_id":
        return world.device_id()
    if name == "identifier":
        return world.custom_channel() if example.method == "DELETE" else "web"
    if name == "id" and example.resource == "teams":
        child = example.path.rstrip("/").split("/")[-2]
        return TEAM_CHILDREN[child](world) if child in TEAM_CHILDREN else world.team()
    if name == "id" and example.resource in ID_OBJECTS:
        return ID_OBJECTS[example.resource](world)
    raise AssertionError(f"no rule for the path parameter {name!r} of {example.name}")


def rewrite_body(world: World, example: Example, body: Any) -> Any:
    """Point the example body's references at objects of this server."""
    if not isinstance(body, dict | list) or (isinstance(body, dict) and body.get("unparsed")):
        return body
    body = json.loads(json.dumps(body))
    resource, method = example.resource, example.method
    if isinstance(body, dict) and "plugins" in body:
        # pretix's plugin modules do not exist here; plugin names are specific to an installation.
        body["plugins"] = []
    if resource in ISSUE_4_RESOURCES:
        return rewrite_order_body(world, example, body)
    if resource in ISSUE_7_RESOURCES:
        return rewrite_checkin_body(world, example, body)
    if resource == "items" and method == "POST":
        body["tax_rule"] = world.taxrule()
    elif resource == "item_add-ons" and method == "POST":
        body["addon_category"] = world.category()
    elif resource == "item_bundles" and method == "POST":
        body["bundled_item"] = world.plain_item()
    elif resource == "quotas" and method == "POST":
        body["items"] = [world.item(), world.plain_item()]
        body["variations"] = world.variations()
    elif resource == "questions" and method == "POST":
        body["items"] = [world.item(), world.plain_item()]
    elif resource == "vouchers" and method == "POST":
        for voucher in body if isinstance(body, list) else [body]:
            voucher["item"] = world.plain_item()
    elif resource == "subevents" and "item_price_overrides" in body:
        for override in body["item_price_overrides"]:
            override["item"] = world.series_item()
    elif resource == "ticketoutputpdf" and example.path.endswith("/render_batch/"):
        for part in body.get("parts", []):
            part["orderposition"] = world.position_id(world.paid_order())
            if "override_layout" in part:
                part["override_layout"] = world.ticket_layout()
    elif resource == "banktransfer" and method == "POST":
        body["event"] = EVENT
    elif example.path == "/api/v1/device/initialize":
        body["token"] = world.device()["initialization_token"]
        if "rsa_pubkey" in body:
            body["rsa_pubkey"] = RSA_PUBLIC_KEY
    return body


def _positions_of(order: dict[str, Any]) -> list[dict[str, Any]]:
    positions = order.get("positions")
    if not isinstance(positions, list) or not positions:
        raise PrerequisiteFailed(f"order without positions: {order!r}"[:300])
    return positions


def _rewrite_change(world: World, body: dict[str, Any]) -> None:
    """The change example names three positions (12373 … 12375) and two fees (49, 51) of one order: they become the
    change order's positions and fees in the same order of their ids."""
    order = world.change_order()
    positions, fees = _positions_of(order), order.get("fees") or []
    named_positions = sorted(
        {entry["position"] for key in ("patch_positions", "cancel_positions", "split_positions") for entry in body[key]}
    )
    named_fees = sorted({entry["fee"] for key in ("patch_fees", "cancel_fees") for entry in body[key]})
    if len(positions) < len(named_positions) or len(fees) < len(named_fees):
        raise PrerequisiteFailed(f"the change order lacks positions or fees: {order!r}"[:300])
    position_for = {named: positions[index] for index, named in enumerate(named_positions)}
    fee_for = {named: fees[index]["id"] for index, named in enumerate(named_fees)}
    for key in ("patch_positions", "cancel_positions", "split_positions"):
        for entry in body[key]:
            entry["position"] = position_for[entry["position"]]["id"]
    for key in ("patch_fees", "cancel_fees"):
        for entry in body[key]:
            entry["fee"] = fee_for[entry["fee"]]
    new_positions = body["create_positions"]
    for changed in [entry["body"] for entry in body["patch_positions"]] + new_positions:
        changed["item"] = world.series_upgrade_item()
        changed["subevent"] = world.second_subevent()
        if "tax_rule" in changed:
            changed["tax_rule"] = world.series_taxrule()
        # Seats belong to seating plans, which this server does not have.
        changed.pop("seat", None)
    for created in new_positions:
        if created.get("addon_to") in position_for:
            # The example's new add-on hangs off position 12374 (the one it also patches); a new position names
            # its parent by ``positionid``, as in POST …/orderpositions/.
            created["addon_to"] = position_for[created["addon_to"]]["positionid"]
    for fee in body["create_fees"]:
        fee["tax_rule"] = world.series_taxrule()


def rewrite_order_body(world: World, example: Example, body: Any) -> Any:
    """Point a body of the orders engine (orders, positions, payments, refunds, carts) at objects of this server."""
    path, method = example.path, example.method
    if isinstance(body, dict):
        for key in ("payment_provider", "provider"):
            if body.get(key) == "banktransfer":
                # pretix's bank transfer plugin does not exist here; ``manual`` is the bundled provider the spec
                # names for imported orders.
                body[key] = "manual"
    if (method, path) == ("POST", EVENT_API + "/orders/"):
        for fee in body.get("fees", []):
            fee["tax_rule"] = world.taxrule()
        for position in body.get("positions", []):
            position["item"] = world.plain_item()
            for answer in position.get("answers", []):
                answer["question"] = world.number_question()
    elif (method, path) == ("POST", EVENT_API + "/orderpositions/"):
        order = world.paid_order()
        body["order"] = order["code"]
        body["item"] = world.addon_product()
        body["addon_to"] = _positions_of(order)[0]["positionid"]
    elif path == ORDER_API + "change/":
        _rewrite_change(world, body)
    elif (method, path) == ("PATCH", ORDER_API) and "locale" in body:
        # pretix's demo event speaks German too; an order's language must be one of its event's.
        world.event_locale(body["locale"])
    elif path == ORDER_API + "extend/":
        # The example moves the deadline to 2017-10-28, which lies in the past now; a deadline only moves forward.
        body["expires"] = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    elif (method, path) == ("POST", ORDER_API + "refunds/") and body.get("payment") is not None:
        body["payment"] = world.payment_local_id(order_of(world, example))
    elif path.startswith(EVENT_API + "/cartpositions/") and method == "POST":
        for position in body if isinstance(body, list) else [body]:
            position["item"] = world.plain_item()
            for answer in position.get("answers", []):
                answer["question"] = world.number_question()
            for addon in position.get("addons", []):
                addon["item"] = world.addon_product()
                # The spec's notes say a cart position's price must be supplied (cart creation computes none); the
                # example's add-on leaves it out.
                addon.setdefault("price", "10.00")
    return body


@dataclass
class Request:
    method: str
    path: str
    json_body: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def build_request(world: World, example: Example) -> Request:
    names = re.findall(r"\{(\w+)\}", example.path)
    values = {name: path_parameter(world, example, name) for name in names}
    path = example.path.format(**values)
    if example.query:
        path += "?" + (checkin_query(world, example.query) if example.resource in ISSUE_7_RESOURCES else example.query)
    if example.method == "GET" and example.resource in ISSUE_7_RESOURCES:
        make_row = CHECKIN_LIST_ROWS.get(example.path.rstrip("/").split("/")[-1])
        if make_row is not None:
            make_row(world)
            world.checkin_list()
    request = Request(example.method, path, headers=world.api.headers())
    if example.resource == "banktransfer":
        world.bank_transfer_on()
    if example.resource in ISSUE_6_RESOURCES or "/download/{output}/" in example.path:
        world.pdf_on()
    if example.path == "/api/v1/device/eventselection":
        world.running_event()
    if example.path.startswith("/api/v1/device/"):
        if example.path == "/api/v1/device/initialize":
            request.headers = {}
        else:
            request.headers = {"Authorization": f"Device {world.device_token()}"}
    if example.path == "/api/v1/upload":
        request.content = PNG
        request.headers = {
            **request.headers,
            "Content-Type": "image/png",
            "Content-Disposition": 'attachment; filename="logo.png"',
        }
    elif example.request_body is not None:
        request.json_body = rewrite_body(world, example, example.request_body)
    elif example.method in ("POST", "PUT", "PATCH") and example.path.startswith("/api/v1/device/"):
        request.json_body = {}
    if example.method == "GET" and example.resource in ISSUE_4_RESOURCES:
        make_row = ORDER_LIST_ROWS.get(example.path.rstrip("/").split("/")[-1])
        if make_row is not None:
            make_row(world)
    elif example.method == "GET":
        resource = example.resource
        if resource in LIST_ROWS and names[-1:] not in (["id"], ["device_id"]):
            LIST_ROWS[resource](world)
        elif resource == "teams" and example.path.endswith(("/members/", "/invites/", "/tokens/")):
            TEAM_CHILDREN[example.path.rstrip("/").split("/")[-1]](world)
    return request


def _template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path.rstrip("/")) or "/"


_ROUTES: dict[int, set[tuple[str, str]]] = {}


def implemented_routes(api: Any) -> set[tuple[str, str]]:
    """(method, path template) of every operation in the OpenAPI schema the app serves."""
    app = api.client.app
    if id(app) not in _ROUTES:
        schema = api.client.get("/api/v1/docs/openapi.json").json()
        _ROUTES[id(app)] = {
            (method.upper(), _template(path)) for path, operations in schema["paths"].items() for method in operations
        }
    return _ROUTES[id(app)]


# --- a fresh server per test, one app per module --------------------------------------------------------------------


HELPERS = api_helpers()


@pytest.fixture(scope="module")
def shared_client(migrated_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Building the app (routes, signatures, OpenAPI) costs about a second; these modules build it once."""
    kernel = Kernel(Config(database_url=migrated_url, data_dir=tmp_path_factory.mktemp("shared-app")))
    with TestClient(app=create_app(kernel)) as client:
        yield client
    kernel.close()


@pytest.fixture
def server(kernel: Kernel, shared_client: Any) -> Any:
    """What the ``api`` fixture gives (seeded fresh database, a full-permission token) on the module's app."""
    HELPERS.seed(kernel)
    shared_client.app.state.kernel = kernel
    holder = HELPERS.Api(kernel, shared_client, "")
    holder.token = holder.make_token()
    return holder


# --- the test -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("example", _params())
def test_example_conforms(server: Any, example: Example) -> None:
    api = server
    if (example.method, _template(example.path)) not in implemented_routes(api):
        pytest.fail(f"missing route: {example.method} {example.path} is not in our OpenAPI schema", pytrace=False)
    world = World(api)
    try:
        request = build_request(world, example)
    except PrerequisiteFailed as error:
        pytest.fail(f"prerequisite could not be created: {error}", pytrace=False)
    response = api.client.request(
        request.method, request.path, json=request.json_body, content=request.content, headers=request.headers
    )
    accepted = example.accepted_statuses()
    if response.status_code not in accepted:
        pytest.fail(
            f"wrong status: {request.method} {request.path} → {response.status_code} (spec: {sorted(accepted)}); "
            f"body {response.text[:500]}",
            pytrace=False,
        )
    # File downloads (an invoice PDF) have no JSON body to compare.
    is_json = "json" in response.headers.get("content-type", "")
    body = response.json() if response.content and is_json else None
    problems = body_problems(example, body)
    if problems:
        pytest.fail(
            f"{request.method} {request.path} → {response.status_code}, body differs from the spec example:\n  "
            + "\n  ".join(problems),
            pytrace=False,
        )
