"""An API client on seeded data (the API tests' organizers ``demo``/``rival``) with the PDF plugin enabled on
``democon``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from export_world import EVENT, running_app, seeded_api
from litestar.testing import TestClient

from boxoffice.kernel.core import Kernel


@pytest.fixture(scope="session")
def pdf_client(migrated_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kernel, TestClient]]:
    with running_app(migrated_url, tmp_path_factory, "pdf") as app:
        yield app


@pytest.fixture
def api(pdf_client: tuple[Kernel, TestClient], empty_tables: Callable[[Kernel], None]) -> Iterator[Any]:
    with seeded_api(pdf_client, empty_tables) as holder:
        assert holder.patch(EVENT, {"plugins": ["ticketoutputpdf"]}).status_code == 200
        yield holder
