"""Bad input never becomes a server error.

1. Schemathesis generates requests (valid and invalid: ``positive`` and ``negative`` modes) from the OpenAPI schema
   our app serves and sends them in-process to the ASGI app, with a valid team token (path parameters mostly
   pointing at real objects, so bodies reach the handlers' validation and the database) and without credentials.
   Check: ``not_a_server_error``; 4xx bodies are JSON objects.
2. Hand-made nasty bodies for every POST/PATCH/PUT route of the schema: malformed JSON, arrays instead of objects,
   a wrong type for every field, unknown fields, 1 MB strings, huge and negative numbers, missing credentials.
   Check: no 5xx, and every 4xx body is a JSON object (pretix's error shape: ``{"field": [...]}``/``{"detail": …}``).

Both run on every CI run within a small, fixed budget: few examples per operation, derandomized generation, no
deadline, no example database. ``BOXOFFICE_FUZZ_EXAMPLES`` raises the number of schemathesis examples for a deeper
local run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar.testing import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import ASGIClient
from test_conformance import (  # the fixtures too: one app per module, a fresh seeded database per test
    SPEC_PATH,
    PrerequisiteFailed,
    World,
    load_examples,
    rewrite_body,
    server,  # noqa: F401
    shared_client,  # noqa: F401
)

from boxoffice.apps.api import create_app
from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel

MAX_EXAMPLES = int(os.environ.get("BOXOFFICE_FUZZ_EXAMPLES", "12"))
BASE_URL = "http://testserver"
SCHEMA_PATH = "/api/v1/docs/openapi.json"


def _served_schema() -> dict[str, Any]:
    """The schema the app serves; serving it does not touch the database, so a throwaway kernel is enough."""
    with tempfile.TemporaryDirectory() as directory:
        kernel = Kernel(Config(database_url="sqlite://", data_dir=Path(directory)))
        with TestClient(app=create_app(kernel)) as client:
            return client.get(SCHEMA_PATH).raise_for_status().json()


SCHEMA = _served_schema()
schema = schemathesis.openapi.from_dict(SCHEMA)
schema.config.phases.update(phases=["examples", "fuzzing"])
schema.config.generation.update(
    modes=["positive", "negative"], max_examples=MAX_EXAMPLES, deterministic=True, with_security_parameters=False
)

FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=list(HealthCheck),
)


# --- pointing path parameters at real objects -------------------------------------------------------------------


# The collection a path parameter follows → the world object it stands for.
def _organizer(world: World, template: str) -> str:
    if "/bank" in template:
        world.bank_transfer_on()  # the bank transfer plugin's organizer routes answer only where it is enabled
    return "demo"


OBJECT_AFTER: dict[str, Any] = {
    "organizers": _organizer,
    "bankimportjobs": lambda world, template: world.bank_import_job(),
    "events": lambda world, template: world.series() if "/subevents" in template else "democon",
    "items": lambda world, template: world.item(),
    "variations": lambda world, template: world.variation(),
    "addons": lambda world, template: world.addon(),
    "bundles": lambda world, template: world.bundle(),
    "program_times": lambda world, template: world.program_time(),
    "item_meta_properties": lambda world, template: world.item_meta_property(),
    "questions": lambda world, template: world.question(),
    "options": lambda world, template: world.question_option(),
    "quotas": lambda world, template: world.quota(),
    "vouchers": lambda world, template: world.voucher(),
    "subevents": lambda world, template: world.subevent(),
    "taxrules": lambda world, template: world.taxrule(),
    "categories": lambda world, template: world.category(),
    "teams": lambda world, template: world.team(),
    "members": lambda world, template: world.member(),
    "invites": lambda world, template: world.invite(),
    "tokens": lambda world, template: world.token(),
    "devices": lambda world, template: world.device_id(),
    "saleschannels": lambda world, template: world.custom_channel(),
}


def real_path_parameters(world: World, template: str) -> dict[str, Any]:
    """Values for the template's parameters that exist on the seeded server (where they can be created)."""
    segments = template.strip("/").split("/")
    values: dict[str, Any] = {}
    for position, segment in enumerate(segments):
        match = re.fullmatch(r"\{(\w+)(?::\w+)?\}", segment)
        if match is None or position == 0:
            continue
        make = OBJECT_AFTER.get(segments[position - 1])
        if make is None:
            continue
        try:
            values[match.group(1)] = make(world, template)
        except PrerequisiteFailed:
            continue  # that resource is not there (yet): keep the generated value
    return values


def auth_headers(api: Any, path: str) -> dict[str, str]:
    """The team token; for the device endpoints a newly initialized device's token (roll and revoke end one)."""
    if path.startswith("/api/v1/device/"):
        try:
            return {"Authorization": f"Device {World(api).device_token()}"}
        except PrerequisiteFailed:
            return {}
    return api.headers()


def client_error_problem(status: int, body: bytes, *, list_input: bool = False) -> str | None:
    """pretix answers every client error with a JSON object; invalid lists (batch creation) with a list of them."""
    if not 400 <= status < 500:
        return None
    try:
        decoded = json.loads(body)
    except ValueError:
        return f"{status} body is not JSON: {body[:200]!r}"
    if isinstance(decoded, dict):
        return None
    if list_input and status == 400 and isinstance(decoded, list) and all(isinstance(e, dict) for e in decoded):
        return None
    return f"{status} body is not a JSON object: {decoded!r}"[:300]


# --- 1. schemathesis ----------------------------------------------------------------------------------------------


@pytest.fixture
def fuzz_target(server: Any) -> Iterator[tuple[Any, World, ASGIClient]]:  # noqa: F811
    # An unentered client: requests go straight into the app the test client already started.
    yield server, World(server), ASGIClient(server.client.app)


@schema.parametrize()
@FUZZ_SETTINGS
def test_schemathesis_with_token(case, fuzz_target) -> None:
    api, world, client = fuzz_target
    # Every third example keeps its generated path parameters (unknown slugs and ids must be a 4xx too).
    world.made["examples"] = world.made.get("examples", 0) + 1
    if world.made["examples"] % 3:
        case.path_parameters = {**(case.path_parameters or {}), **real_path_parameters(world, case.path)}
    response = case.call(base_url=BASE_URL, session=client, headers=auth_headers(api, case.path))
    case.validate_response(response, checks=[not_a_server_error])
    problem = client_error_problem(response.status_code, response.content, list_input=isinstance(case.body, list))
    assert problem is None, f"{case.method} {case.formatted_path}: {problem}"


@schema.parametrize()
@settings(FUZZ_SETTINGS, max_examples=max(3, MAX_EXAMPLES // 4))
def test_schemathesis_without_credentials(case, fuzz_target) -> None:
    _api, _world, client = fuzz_target
    case.headers = {key: value for key, value in (case.headers or {}).items() if key.lower() != "authorization"}
    response = case.call(base_url=BASE_URL, session=client)
    case.validate_response(response, checks=[not_a_server_error])
    problem = client_error_problem(response.status_code, response.content, list_input=isinstance(case.body, list))
    assert problem is None, f"{case.method} {case.formatted_path}: {problem}"
    if case.path.startswith("/api/v1/organizers"):
        assert response.status_code in (400, 401, 404, 405), f"{case.method} {case.formatted_path} without credentials"


# --- 2. hand-made nasty bodies ------------------------------------------------------------------------------------

MEGABYTE = "x" * 1_000_000


def resolve(node: Any) -> Any:
    """Follow ``$ref`` pointers into the schema's components."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SCHEMA
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def json_types(node: Any) -> set[str]:
    """The JSON types a (sub)schema admits, through ``oneOf``/``anyOf`` and references; empty means anything."""
    node = resolve(node)
    if not isinstance(node, dict):
        return set()
    found: set[str] = set()
    declared = node.get("type")
    if isinstance(declared, str):
        found.add(declared)
    elif isinstance(declared, list):
        found.update(declared)
    for key in ("oneOf", "anyOf", "allOf"):
        for option in node.get(key, []):
            found |= json_types(option)
    if node.get("format") == "decimal":
        found.add("decimal")
    return found


def item_schema(node: Any) -> Any:
    """The schema of a list's entries ({} when the node is no list)."""
    node = resolve(node)
    for option in [node, *node.get("oneOf", []), *node.get("anyOf", [])] if isinstance(node, dict) else []:
        option = resolve(option)
        if isinstance(option, dict) and "items" in option:
            return resolve(option["items"])
    return {}


DECIMAL = re.compile(r"^-?\d+\.\d+$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T")
# Money arrives as strings (the schema says just "string"): the example value tells which strings are decimals.
DECIMAL_PROBES = ["not a number", "1e308", "99999999999999999999.99", "0.001", "NaN", "-Infinity", "-1.00"]
DATETIME_PROBES = ["2017-13-45T99:99:99Z", "0000-00-00T00:00:00Z", "9999-12-31T23:59:59+14:00", "1e308"]


def nasty_values(node: Any, example_value: Any = None) -> list[Any]:
    """Values of the wrong type, and values of the right type that are too big, negative or malformed."""
    types = json_types(node) - {"null"}
    values: list[Any] = []
    if "string" in types or "decimal" in types:
        values += [12345, MEGABYTE, "", "\x00\ud800 nul and a lone surrogate"]
        if isinstance(example_value, str) and DECIMAL.match(example_value):
            values += DECIMAL_PROBES
        if isinstance(example_value, str) and DATETIME.match(example_value):
            values += DATETIME_PROBES
    if "decimal" in types or "number" in types:
        values += [*DECIMAL_PROBES, 1e308, 10**30, -1]
    if "integer" in types:
        values += ["abc", 1.5, 10**30, 2**31, 2**63, -1, -(2**63) - 1]
    if "boolean" in types:
        values += ["yes", 2]
    if "array" in types:
        inner = json_types(item_schema(node))
        values += ["not a list", {"a": 1}, [None], [MEGABYTE[:1000]]]
        if inner & {"integer", "number"} or not inner:
            values += [[-1], [10**30], [2**31]]
    if "object" in types:
        values += ["not an object", [1, 2], {"k" * 300: "v" * 100_000}]
    if not types:
        values += [{"nested": [1, {"deeper": None}]}, MEGABYTE, 10**30]
    return values


def nested_nasty_lists(node: Any, example_value: Any) -> list[tuple[str, list[Any]]]:
    """For a list of objects (an item's variations …): one-entry lists with one broken field of the entry each."""
    entry = item_schema(node)
    if not isinstance(entry, dict) or not entry.get("properties"):
        return []
    start = example_value[0] if isinstance(example_value, list) and example_value else {}
    start = start if isinstance(start, dict) else {}
    found = []
    for name, inner in entry["properties"].items():
        for value in nasty_values(inner, start.get(name))[:4]:
            found.append((f"[0].{name}={value!r}", [{**start, name: value}]))
    return found


def request_schema(operation: dict[str, Any]) -> Any:
    content = operation.get("requestBody", {}).get("content", {})
    for media_type, entry in content.items():
        if "json" in media_type:
            return resolve(entry.get("schema", {}))
    return None


def body_operations() -> list[Any]:
    params = []
    for path, operations in SCHEMA["paths"].items():
        for method in operations:
            if method in ("post", "put", "patch"):
                params.append(pytest.param(method.upper(), path, id=f"{method.upper()} {path}"))
    return params


def _template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path.rstrip("/"))


def example_bodies() -> dict[tuple[str, str], tuple[Any, Any]]:
    """(method, path template) → (spec example, its request body): a valid body to start from, so that the one broken
    field is the only fault in a request."""
    if not SPEC_PATH.exists():
        return {}
    found: dict[tuple[str, str], tuple[Any, Any]] = {}
    for example in load_examples(resources=None):
        if isinstance(example.request_body, dict | list) and not (
            isinstance(example.request_body, dict) and example.request_body.get("unparsed")
        ):
            found[(example.method, _template(example.path))] = (example, example.request_body)
            if example.method == "POST" and not example.path.endswith(("/batch_create/", "/clone/")):
                # A PUT replaces the whole object: the creation example is a complete body.
                found.setdefault(("PUT", _template(example.path) + "/{}"), (example, example.request_body))
    return found


EXAMPLE_BODIES = example_bodies()


# Nested lists only writable on creation; a full replacement (PUT) leaves them out.
CREATE_ONLY = ("options", "variations", "addons", "bundles", "program_times")
# Fields that must be unique: varied per request, so that a repeated creation does not stop at "already exists".
UNIQUE = ("slug", "code", "identifier", "email", "name")


def base_body(world: World, method: str, path: str) -> Any:
    found = EXAMPLE_BODIES.get((method, _template(path)))
    if found is None:
        return {}
    example, body = found
    with contextlib.suppress(PrerequisiteFailed):
        body = rewrite_body(world, example, body)
    if method == "PUT" and isinstance(body, dict):
        body = {key: value for key, value in body.items() if key not in CREATE_ONLY}
    return body


def made_unique(body: Any, number: int, keep: str | None) -> Any:
    if isinstance(body, list):
        return [made_unique(entry, number * 100 + index, keep) for index, entry in enumerate(body)]
    if not isinstance(body, dict):
        return body
    varied = dict(body)
    for key in UNIQUE:
        value = varied.get(key)
        if key != keep and isinstance(value, str) and value:
            varied[key] = f"u{number}{value}" if key == "email" else f"{value}{number}"
    return varied


@pytest.mark.parametrize(("method", "path"), body_operations())
def test_nasty_bodies(server: Any, method: str, path: str) -> None:  # noqa: F811
    api = server
    world = World(api)
    values = real_path_parameters(world, path)
    url = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(values.get(m.group(1), 1)), path)
    headers = auth_headers(api, path)
    operation = SCHEMA["paths"][path][method.lower()]
    body_schema = request_schema(operation) or {}
    base = base_body(world, method, path)
    expects_list = "array" in json_types(body_schema) if body_schema else isinstance(base, list)
    entry_schema = resolve(body_schema.get("items", {})) if expects_list else body_schema
    properties = dict(entry_schema.get("properties", {})) if isinstance(entry_schema, dict) else {}
    template = base[0] if expects_list and isinstance(base, list) and base else base
    if isinstance(template, dict):
        properties.update({name: {} for name in template if name not in properties})

    # (label, body, headers, the field under test: not varied for uniqueness)
    sent: list[tuple[str, Any, dict[str, str], str | None]] = [
        ("malformed JSON", b'{"name": {"en": "unterminated', headers, None),
        ("empty body", b"", headers, None),
        ("bare string", b'"just a string"', headers, None),
        ("bare number", b"1e999", headers, None),
        ("null", b"null", headers, None),
        ("wrong container", {} if expects_list else [base], headers, None),
        ("deeply nested", json.loads("[" * 200 + "]" * 200), headers, None),
        ("missing credentials", base, {}, None),
        ("garbage credentials", base, {"Authorization": "Token ' OR 1=1 --"}, None),
    ]
    if isinstance(template, dict):
        unknown = {**template, "surely_not_a_field": 1, "__proto__": {"admin": True}}
        sent.append(("unknown fields", [unknown] if expects_list else unknown, headers, None))
        for name, node in properties.items():
            probes = [(f"{name}={value!r}", value) for value in nasty_values(node, template.get(name))]
            probes += [(name + label, value) for label, value in nested_nasty_lists(node, template.get(name))]
            for label, value in probes:
                body = {**template, name: value}
                sent.append((label[:80], [body] if expects_list else body, headers, name))

    failures: list[str] = []
    for number, (label, body, request_headers, field_under_test) in enumerate(sent):
        if method == "POST" and not isinstance(body, bytes):
            body = made_unique(body, number, field_under_test)
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = api.client.request(
            method, url, content=content, headers={"Content-Type": "application/json", **request_headers}
        )
        if response.status_code >= 500:
            failures.append(f"{label}: {response.status_code} {response.text[:200]}")
            continue
        problem = client_error_problem(response.status_code, response.content, list_input=isinstance(body, list))
        if problem is not None:
            failures.append(f"{label}: {problem}")
    assert not failures, f"{method} {url}:\n  " + "\n  ".join(failures)
