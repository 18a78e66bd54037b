"""An API client on seeded data (the API tests' organizers ``demo``/``rival``; ``democon`` sells item "Ticket" from
a quota of 100) with the PDF and offline sales plugins enabled on ``democon`` and one ticket layout."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from boxoffice.apps.api import create_app
from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel


def _api_helpers() -> Any:
    path = Path(__file__).resolve().parents[2] / "apps" / "api" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_offlinesales_api_helpers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


HELPERS = _api_helpers()
EVENT = "/api/v1/organizers/demo/events/democon/"
LAYOUT = [
    {"type": "textarea", "content": "other", "text": "OFFLINE {order}-{positionid} {itemvar}", "left": 10,
     "bottom": 250, "width": 150, "fontsize": 12},
    {"type": "barcodearea", "content": "secret", "left": 100, "bottom": 100, "size": 50},
]  # fmt: skip


@pytest.fixture(scope="session")
def offline_client(migrated_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kernel, TestClient]]:
    kernel = Kernel(Config(database_url=migrated_url, data_dir=tmp_path_factory.mktemp("offline-data")))
    with TestClient(app=create_app(kernel)) as client:
        yield kernel, client
    kernel.close()


@pytest.fixture
def api(offline_client: tuple[Kernel, TestClient], empty_tables: Callable[[Kernel], None]) -> Iterator[Any]:
    kernel, client = offline_client
    HELPERS.seed(kernel)
    holder = HELPERS.Api(kernel, client, "")
    holder.token = holder.make_token()
    assert holder.patch(EVENT, {"plugins": ["ticketoutputpdf", "offlinesales"]}).status_code == 200
    layout = holder.post(EVENT + "ticketlayouts/", {"name": "Offline", "layout": LAYOUT})
    assert layout.status_code == 201, layout.text
    holder.layout = layout.json()["id"]
    holder.item = holder.get(EVENT + "items/").json()["results"][0]["id"]
    try:
        yield holder
    finally:
        client.cookies.clear()
        empty_tables(kernel)
