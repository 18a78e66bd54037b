"""An API client on seeded data (the API tests' organizers ``demo``/``rival``; ``democon`` sells item "Ticket" from
a quota of 100) with the PDF and offline sales plugins enabled on ``democon`` and one ticket layout."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from export_world import EVENT, running_app, seeded_api
from litestar.testing import TestClient

from boxoffice.kernel.core import Kernel

LAYOUT = [
    {"type": "textarea", "content": "other", "text": "OFFLINE {order}-{positionid} {itemvar}", "left": 10,
     "bottom": 250, "width": 150, "fontsize": 12},
    {"type": "barcodearea", "content": "secret", "left": 100, "bottom": 100, "size": 50},
]  # fmt: skip


@pytest.fixture(scope="session")
def offline_client(migrated_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kernel, TestClient]]:
    with running_app(migrated_url, tmp_path_factory, "offline") as app:
        yield app


@pytest.fixture
def api(offline_client: tuple[Kernel, TestClient], empty_tables: Callable[[Kernel], None]) -> Iterator[Any]:
    with seeded_api(offline_client, empty_tables) as holder:
        assert holder.patch(EVENT, {"plugins": ["ticketoutputpdf", "offlinesales"]}).status_code == 200
        layout = holder.post(EVENT + "ticketlayouts/", {"name": "Offline", "layout": LAYOUT})
        assert layout.status_code == 201, layout.text
        holder.layout = layout.json()["id"]
        holder.item = holder.get(EVENT + "items/").json()["results"][0]["id"]
        yield holder
